"""Retention arithmetic against the day-by-day brute force, over random histories.

``Aggregates`` below computes, in plain Python, exactly the aggregates the SQL repository
returns (stocks as sums of +1/-1, flows grouped by month, cohort grids, spell-length
histograms, per-month value movements of the touched contacts). The domain functions turn them
into the reported figures; every figure must equal the brute force's, which replays each
contact day by day and reads the definitions literally.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.agreements import BillingPeriod, monthly_value
from tenure.domain.errors import InvalidInput
from tenure.domain.retention import (
    COUNTED_AGREEMENT_STATUSES,
    UNSPECIFIED,
    Month,
    MonthFlows,
    Period,
    ReasonCount,
    RevenueFlows,
    SpellStats,
    TenureSummary,
    churn_reasons,
    cohort_table,
    resolve_period,
    retention_series,
    revenue_series,
    spell_stats,
)
from tenure.domain.retention.reference import (
    AgreementRecord,
    History,
    TransitionRecord,
    brute_churn_reasons,
    brute_cohorts,
    brute_retention,
    brute_revenue,
    brute_tenure,
)
from tests.factories.retention import Scenario, scenarios


def _delta(t: TransitionRecord) -> int:
    return 1 if t.to_stage == "client" else -1


def _net_before(h: History, boundary: date) -> int:
    return sum(_delta(t) for t in h.transitions if t.effective_on < boundary)


def _agreement_end(a: AgreementRecord) -> date | None:
    return a.ended_on if a.ended_on is not None else a.ends_on


def _counted(a: AgreementRecord) -> bool:
    return (
        a.status in COUNTED_AGREEMENT_STATUSES
        and a.starts_on is not None
        and a.currency is not None
        and monthly_value(a.value_minor, BillingPeriod(a.billing_period)) > 0
    )


def _values(h: History, boundary: date) -> Counter[str]:
    out: Counter[str] = Counter()
    for a in h.agreements:
        end = _agreement_end(a)
        if _counted(a) and a.starts_on < boundary and (end is None or end >= boundary):
            out[a.currency] += monthly_value(a.value_minor, BillingPeriod(a.billing_period))
    return out


class Aggregates:
    """What each repository query returns, computed the way the SQL computes it."""

    def __init__(self, histories: Sequence[History]) -> None:
        self.histories = histories

    def clients_at(self, boundary: date) -> int:
        return sum(_net_before(h, boundary) for h in self.histories)

    def monthly_flows(self, period: Period) -> dict[Month, MonthFlows]:
        new: Counter[Month] = Counter()
        back: Counter[Month] = Counter()
        ended: defaultdict[Month, Counter[str]] = defaultdict(Counter)
        for h in self.histories:
            for t in h.transitions:
                if not period.lo <= t.effective_on < period.hi:
                    continue
                m = Month.of(t.effective_on)
                if t.from_stage == "contact":
                    new[m] += 1
                elif t.from_stage == "former_client":
                    back[m] += 1
                else:
                    ended[m][t.reason or UNSPECIFIED] += 1
        return {m: MonthFlows(new[m], back[m], dict(ended[m])) for m in {*new, *back, *ended}}

    def cohort_flows(self, period: Period, months: int):
        sizes: Counter[Month] = Counter()
        flows: Counter[tuple[Month, Month]] = Counter()
        limit = period.end.plus(months).after
        for h in self.histories:
            firsts = [t for t in h.transitions if t.from_stage == "contact"]
            if not firsts or not period.lo <= firsts[0].effective_on < period.hi:
                continue
            cohort = Month.of(firsts[0].effective_on)
            sizes[cohort] += 1
            for t in h.transitions:
                if t.effective_on < limit:
                    flows[(cohort, Month.of(t.effective_on))] += _delta(t)
        return dict(sizes), dict(flows)

    def spell_lengths(self, period: Period, as_of: date) -> dict[str, dict[int, int]]:
        out: dict[str, Counter[int]] = {"completed": Counter(), "ongoing": Counter()}
        for h in self.histories:
            seen = [t for t in h.transitions if t.effective_on < as_of]
            for i, t in enumerate(seen):
                if t.to_stage != "client":
                    continue
                following = seen[i + 1].effective_on if i + 1 < len(seen) else None
                if following is None:
                    out["ongoing"][(as_of - t.effective_on).days] += 1
                elif following >= period.lo:
                    out["completed"][(following - t.effective_on).days] += 1
        return {k: dict(v) for k, v in out.items()}

    def mrr_at(self, boundary: date) -> dict[str, int]:
        total: Counter[str] = Counter()
        for h in self.histories:
            if _net_before(h, boundary) == 1:
                total.update(_values(h, boundary))
        return {c: v for c, v in total.items() if v}

    def revenue_flows(self, period: Period) -> dict[tuple[Month, str], RevenueFlows]:
        sums: defaultdict[tuple[Month, str], Counter[str]] = defaultdict(Counter)
        for h in self.histories:
            touched = {Month.of(t.effective_on) for t in h.transitions}
            for a in h.agreements:
                if _counted(a):
                    touched |= {Month.of(d) for d in (a.starts_on, _agreement_end(a)) if d}
            for m in touched:
                if not period.start <= m <= period.end:
                    continue
                cs, ce = _net_before(h, m.first), _net_before(h, m.after)
                v0, v1 = _values(h, m.first), _values(h, m.after)
                for currency in {*v0, *v1}:
                    r0, r1 = v0[currency], v1[currency]
                    s = sums[(m, currency)]
                    if cs == 0 and ce == 1:
                        s["new"] += r1
                    elif cs == 1 and ce == 1:
                        s["expansion"] += max(r1 - r0, 0)
                        s["contraction"] += max(r0 - r1, 0)
                    elif cs == 1 and ce == 0:
                        s["churned"] += r0
        return {key: RevenueFlows(**s) for key, s in sums.items() if any(s.values())}


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_every_figure_equals_the_brute_force(s: Scenario) -> None:
    agg = Aggregates(s.histories)
    period = s.period
    as_of = period.as_of(s.today)

    series = retention_series(
        period.months, clients_at_start=agg.clients_at(period.lo), flows=agg.monthly_flows(period)
    )
    assert series == brute_retention(s.histories, period)
    assert churn_reasons(series) == brute_churn_reasons(s.histories, period)
    for before, after in itertools.pairwise(series):
        assert before.clients_end == after.clients_start

    observable = s.today + timedelta(days=1)
    sizes, flows = agg.cohort_flows(period, s.cohort_months)
    cohorts = cohort_table(
        period.months, months=s.cohort_months, sizes=sizes, net_flows=flows, as_of=observable
    )
    assert cohorts == brute_cohorts(s.histories, period, months=s.cohort_months, as_of=observable)

    lengths = agg.spell_lengths(period, as_of)
    summary = TenureSummary(
        as_of, spell_stats(lengths["completed"]), spell_stats(lengths["ongoing"])
    )
    assert summary == brute_tenure(s.histories, period, as_of=as_of)
    if as_of == period.hi:
        # The spells open at the period's end are its clients at the end.
        assert summary.ongoing.count == series[-1].clients_end

    revenue = revenue_series(
        period.months, mrr_at_start=agg.mrr_at(period.lo), flows=agg.revenue_flows(period)
    )
    assert revenue == brute_revenue(s.histories, period)


# --- definitions on hand-made cases -----------------------------------------------------------


def _t(a: str, b: str, day: str, reason: str | None = None) -> TransitionRecord:
    return TransitionRecord(a, b, date.fromisoformat(day), reason)


CONVERT, END, BACK = ("contact", "client"), ("client", "former_client"), ("former_client", "client")


def test_same_day_spell_is_a_flow_but_never_a_stock() -> None:
    same_day = History((_t(*CONVERT, "2026-02-01"), _t(*END, "2026-02-01", "price")))
    period = Period(Month(2026, 1), Month(2026, 3))
    jan, feb, _ = brute_retention([same_day], period)
    assert (jan.clients_end, feb.clients_start, feb.clients_end) == (0, 0, 0)
    assert (feb.new, feb.ended, feb.ended_by_reason) == (1, 1, {"price": 1})
    assert feb.churn_rate is None and feb.retention_rate is None
    tenure = brute_tenure([same_day], period, as_of=period.hi)
    assert tenure.completed == SpellStats(1, 0, 0.0, 0.0)
    assert tenure.ongoing == SpellStats(0, 0, None, None)


def test_a_convert_on_the_first_is_new_in_that_month_not_a_client_at_its_start() -> None:
    h = History((_t(*CONVERT, "2026-03-01"),))
    period = Period(Month(2026, 2), Month(2026, 3))
    feb, mar = brute_retention([h], period)
    assert (feb.clients_end, mar.clients_start, mar.new, mar.clients_end) == (0, 0, 1, 1)
    # Ended on the last day of the month: still a client at its start, gone at its end.
    h = History((_t(*CONVERT, "2026-01-15"), _t(*END, "2026-03-31", "moved")))
    feb, mar = brute_retention([h], period)
    assert (mar.clients_start, mar.ended, mar.clients_end, mar.churn_rate) == (1, 1, 0, 1.0)
    assert mar.retention_rate == 0.0


def test_reactivation_and_retention_rate() -> None:
    period = Period(Month(2026, 1), Month(2026, 1))
    stays = History((_t(*CONVERT, "2025-06-01"),))
    leaves_and_returns = History(
        (_t(*CONVERT, "2025-06-01"), _t(*END, "2026-01-10", "price"), _t(*BACK, "2026-01-20"))
    )
    joins_and_leaves = History((_t(*CONVERT, "2026-01-05"), _t(*END, "2026-01-06", "moved")))
    (jan,) = brute_retention([stays, leaves_and_returns, joins_and_leaves], period)
    assert (jan.clients_start, jan.new, jan.reactivated, jan.ended, jan.clients_end) == (
        2,
        1,
        1,
        2,
        2,
    )
    assert jan.churn_rate == 1.0
    assert jan.retention_rate == 0.0  # (2 - 1 - 1) / 2
    assert brute_churn_reasons([leaves_and_returns, joins_and_leaves], period) == [
        ReasonCount("moved", 1, 0.5),
        ReasonCount("price", 1, 0.5),
    ]


def test_cohorts_count_clients_at_each_month_end() -> None:
    a = History((_t(*CONVERT, "2026-01-10"),))
    b = History((_t(*CONVERT, "2026-01-31"), _t(*END, "2026-02-28", "price")))
    c = History(
        (_t(*CONVERT, "2026-01-02"), _t(*END, "2026-02-02", "price"), _t(*BACK, "2026-03-31"))
    )
    period = Period(Month(2026, 1), Month(2026, 2))
    rows = brute_cohorts([a, b, c], period, months=3, as_of=date(2026, 4, 15))
    jan, feb = rows
    assert jan.size == 3 and feb.size == 0
    assert jan.retained == (1, 2, None)  # end of Feb: a; end of Mar: a, c; Apr not over
    assert jan.shares == (1 / 3, 2 / 3, None)
    assert feb.shares == (None, None, None)


def test_revenue_bridge() -> None:
    def agreement(value: int, start: str, end: str | None = None, period: str = "monthly"):
        return AgreementRecord(
            "ended" if end else "active",
            date.fromisoformat(start),
            None,
            date.fromisoformat(end) if end else None,
            value,
            period,
            "EUR",
        )

    period = Period(Month(2026, 3), Month(2026, 3))
    grows = History(
        (_t(*CONVERT, "2026-01-01"),),
        (agreement(100, "2026-01-01"), agreement(1200, "2026-03-10", period="yearly")),
    )
    shrinks = History(
        (_t(*CONVERT, "2026-01-01"),),
        (agreement(300, "2026-01-01", "2026-03-05"), agreement(200, "2026-03-05")),
    )
    leaves = History(
        (_t(*CONVERT, "2026-01-01"), _t(*END, "2026-03-20", "price")),
        (agreement(50, "2026-01-01", "2026-03-20"),),
    )
    joins = History((_t(*CONVERT, "2026-03-03"),), (agreement(70, "2026-03-03"),))
    (eur,) = brute_revenue([grows, shrinks, leaves, joins], period)
    (march,) = eur.months
    assert (march.mrr_start, march.mrr_end) == (450, 470)
    assert (march.new, march.expansion, march.contraction, march.churned) == (70, 100, 100, 50)
    assert march.gross_retention == 300 / 450
    assert march.net_retention == 400 / 450


def test_spell_stats_median() -> None:
    assert spell_stats({}) == SpellStats(0, 0, None, None)
    assert spell_stats({5: 1}) == SpellStats(1, 5, 5.0, 5.0)
    assert spell_stats({1: 2, 10: 1, 3: 1}) == SpellStats(4, 15, 3.75, 2.0)
    assert spell_stats({0: 1, 7: 2}).median_days == 7.0


# --- months and periods -----------------------------------------------------------------------


def test_month_arithmetic() -> None:
    assert Month(2025, 12).plus(1) == Month(2026, 1)
    assert Month(2026, 1).plus(-1) == Month(2025, 12)
    assert Month(2026, 2).last == date(2026, 2, 28)
    assert str(Month.parse("2026-03", field="start")) == "2026-03"


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "26-03", "2026/03", "march", "1800-01", "2026-²", "2026-03-01"]
)
def test_bad_months_name_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Month.parse(text, field="start")
    assert caught.value.errors[0].field == "start"


def test_periods() -> None:
    today = date(2026, 5, 17)
    assert resolve_period(None, None, today=today) == Period(Month(2025, 6), Month(2026, 5))
    assert resolve_period("2026-01", None, today=today).end == Month(2026, 5)
    assert resolve_period("2027-01", None, today=today).end == Month(2027, 1)
    assert resolve_period(None, "2026-01", today=today).start == Month(2025, 2)
    assert len(resolve_period("2016-06", "2026-05", today=today).months) == 120
    with pytest.raises(InvalidInput) as caught:
        resolve_period("2026-03", "2026-02", today=today)
    assert (caught.value.errors[0].field, caught.value.errors[0].rule) == ("end", "after-start")
    with pytest.raises(InvalidInput) as caught:
        resolve_period("2016-05", "2026-05", today=today)
    assert (caught.value.errors[0].field, caught.value.errors[0].rule) == ("end", "max-range")
    assert Period(Month(2026, 1), Month(2026, 5)).as_of(today) == date(2026, 5, 18)
    assert Period(Month(2026, 1), Month(2026, 3)).as_of(today) == date(2026, 4, 1)


@given(st.dates(date(1950, 1, 1), date(2900, 1, 1)), st.integers(-500, 500))
def test_month_plus_is_consistent(day: date, k: int) -> None:
    m = Month.of(day)
    assert m.plus(k).plus(-k) == m
    assert m.plus(k).index - m.index == k
    assert m.first <= day <= m.last
    assert m.after == m.plus(1).first
