"""The brute-force reference for ``tenure.domain.retention``.

It shares nothing with the aggregate arithmetic but the rate formulas and the output types: it
replays every contact day by day, records its state at the start of each day, and reads each
figure off those daily states, the way the definitions are worded. Slow (days times contacts), and
meant for tests over small random histories.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tenure.domain.agreements import BillingPeriod, monthly_value
from tenure.domain.lifecycle import Stage
from tenure.domain.retention import (
    COUNTED_AGREEMENT_STATUSES,
    UNSPECIFIED,
    CohortRow,
    CurrencyRevenue,
    Month,
    Period,
    ReasonCount,
    RetentionMonth,
    RevenueMonth,
    SpellStats,
    TenureSummary,
    churn_rate,
    has_figures,
    nonzero_reasons,
    ratio,
    reason_counts,
    retention_rate,
    shares_of,
)


@dataclass(frozen=True)
class TransitionRecord:
    from_stage: str
    to_stage: str
    effective_on: date
    reason: str | None = None


@dataclass(frozen=True)
class AgreementRecord:
    status: str
    starts_on: date | None
    ends_on: date | None
    ended_on: date | None
    value_minor: int | None
    billing_period: str
    currency: str | None


@dataclass(frozen=True)
class History:
    """One contact: its transitions in the order they apply, and its agreements."""

    transitions: tuple[TransitionRecord, ...]
    agreements: tuple[AgreementRecord, ...] = ()


@dataclass
class _Spell:
    start: date
    end: date | None = None
    days: int = 0


@dataclass
class _Replay:
    """A contact's state at the start of each day from ``first`` to ``last``."""

    first: date
    client: list[bool]
    spells: list[_Spell]

    def client_at(self, boundary: date) -> bool:
        i = (boundary - self.first).days
        if i < 0:
            return False
        return self.client[min(i, len(self.client) - 1)]


def _replay_days(history: History, first: date, last: date) -> _Replay:
    """Walk day by day: record the state at the start of the day, add a day to the spell that is
    open at that midnight, then apply the day's transitions in order."""
    by_day: defaultdict[date, list[TransitionRecord]] = defaultdict(list)
    for t in history.transitions:
        by_day[t.effective_on].append(t)
    if history.transitions:
        first = min(first, history.transitions[0].effective_on)
    stage = Stage.CONTACT
    states: list[bool] = []
    spells: list[_Spell] = []
    day = first
    while day <= last:
        is_client = stage is Stage.CLIENT
        states.append(is_client)
        if is_client:
            spells[-1].days += 1
        for t in by_day.get(day, ()):
            assert Stage(t.from_stage) is stage, "the reference needs a legal history"
            stage = Stage(t.to_stage)
            if stage is Stage.CLIENT:
                spells.append(_Spell(day))
            else:
                spells[-1].end = day
        day += timedelta(days=1)
    return _Replay(first, states, spells)


def _replays(histories: Sequence[History], first: date, last: date) -> list[_Replay]:
    return [_replay_days(h, first, last) for h in histories]


def _in(day: date, month: Month) -> bool:
    return month.first <= day < month.after


def brute_retention(histories: Sequence[History], period: Period) -> list[RetentionMonth]:
    replays = _replays(histories, period.lo, period.hi)
    out: list[RetentionMonth] = []
    for month in period.months:
        start = sum(r.client_at(month.first) for r in replays)
        end = sum(r.client_at(month.after) for r in replays)
        moves = [t for h in histories for t in h.transitions if _in(t.effective_on, month)]
        new = sum(t.from_stage == Stage.CONTACT and t.to_stage == Stage.CLIENT for t in moves)
        back = sum(t.from_stage == Stage.FORMER_CLIENT for t in moves)
        reasons = Counter(t.reason or UNSPECIFIED for t in moves if t.to_stage == "former_client")
        ended = sum(reasons.values())
        out.append(
            RetentionMonth(
                month=month,
                clients_start=start,
                clients_end=end,
                new=new,
                reactivated=back,
                ended=ended,
                ended_by_reason=nonzero_reasons(reasons),
                churn_rate=churn_rate(ended, start),
                retention_rate=retention_rate(end, new, back, start),
            )
        )
    return out


def brute_churn_reasons(histories: Sequence[History], period: Period) -> list[ReasonCount]:
    counts = Counter(
        t.reason or UNSPECIFIED
        for h in histories
        for t in h.transitions
        if t.to_stage == Stage.FORMER_CLIENT and period.lo <= t.effective_on < period.hi
    )
    return reason_counts(counts)


def brute_cohorts(
    histories: Sequence[History], period: Period, *, months: int, as_of: date
) -> list[CohortRow]:
    last = max(period.end.plus(months).after, as_of)
    members: defaultdict[Month, list[_Replay]] = defaultdict(list)
    for h in histories:
        firsts = [t.effective_on for t in h.transitions if t.from_stage == Stage.CONTACT]
        if firsts:
            members[Month.of(firsts[0])].append(_replay_days(h, period.lo, last))
    rows: list[CohortRow] = []
    for cohort in period.months:
        group = members.get(cohort, [])
        retained: list[int | None] = []
        for k in range(1, months + 1):
            boundary = cohort.plus(k).after
            count = sum(r.client_at(boundary) for r in group)
            retained.append(count if boundary <= as_of else None)
        rows.append(CohortRow(cohort, len(group), tuple(retained), shares_of(retained, len(group))))
    return rows


def _stats(lengths: Sequence[int]) -> SpellStats:
    if not lengths:
        return SpellStats(0, 0, None, None)
    ordered = sorted(lengths)
    n = len(ordered)
    return SpellStats(
        n, sum(ordered), sum(ordered) / n, (ordered[(n - 1) // 2] + ordered[n // 2]) / 2
    )


def brute_tenure(histories: Sequence[History], period: Period, *, as_of: date) -> TenureSummary:
    """Spell lengths are counted midnight by midnight up to ``as_of`` (inclusive)."""
    completed: list[int] = []
    ongoing: list[int] = []
    for r in _replays(histories, period.lo, as_of):
        for spell in r.spells:
            if spell.start >= as_of:
                continue
            if spell.end is not None and spell.end < as_of:
                if spell.end >= period.lo:
                    completed.append(spell.days)
            else:
                ongoing.append(spell.days)
    return TenureSummary(as_of, _stats(completed), _stats(ongoing))


def _in_force(a: AgreementRecord, boundary: date) -> bool:
    """Whether the agreement covers the day that ends at ``boundary``."""
    if a.status not in COUNTED_AGREEMENT_STATUSES or a.starts_on is None:
        return False
    day = boundary - timedelta(days=1)
    end = a.ended_on if a.ended_on is not None else a.ends_on
    return a.starts_on <= day and (end is None or day < end)


def _value_at(history: History, boundary: date) -> Counter[str]:
    values: Counter[str] = Counter()
    for a in history.agreements:
        if a.currency is not None and _in_force(a, boundary):
            values[a.currency] += monthly_value(a.value_minor, BillingPeriod(a.billing_period))
    return values


def brute_revenue(histories: Sequence[History], period: Period) -> list[CurrencyRevenue]:
    replays = _replays(histories, period.lo, period.hi)
    currencies = sorted({a.currency for h in histories for a in h.agreements if a.currency})
    out: list[CurrencyRevenue] = []
    for currency in currencies:
        series: list[RevenueMonth] = []
        for month in period.months:
            start = end = kept = churned = expansion = contraction = new = 0
            for h, r in zip(histories, replays, strict=True):
                in_s, in_e = r.client_at(month.first), r.client_at(month.after)
                r0 = _value_at(h, month.first)[currency]
                r1 = _value_at(h, month.after)[currency]
                start += r0 if in_s else 0
                end += r1 if in_e else 0
                if in_s and in_e:
                    kept += r1
                    expansion += max(r1 - r0, 0)
                    contraction += max(r0 - r1, 0)
                elif in_s:
                    churned += r0
                elif in_e:
                    new += r1
            series.append(
                RevenueMonth(
                    month=month,
                    mrr_start=start,
                    mrr_end=end,
                    new=new,
                    expansion=expansion,
                    contraction=contraction,
                    churned=churned,
                    gross_retention=ratio(start - churned - contraction, start),
                    net_retention=ratio(kept, start),
                )
            )
        if has_figures(series):
            out.append(CurrencyRevenue(currency, tuple(series)))
    return out
