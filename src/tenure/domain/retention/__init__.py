"""Retention analytics: the definitions, and the arithmetic over SQL aggregates.

``reference`` recomputes every figure day by day from the histories themselves, the way the
definitions below are worded; the tests hold the two against each other.

Everything is per workspace, optionally narrowed to the contacts of one owner (``owner_id``) or
carrying one tag (``contact_tags``); both are the contact's *current* owner and tags. A period is
a run of whole calendar months ``start..end`` (at most ``MAX_MONTHS``; by default the twelve
months up to the current one). "Today" is the workspace's day; "the end of today" is the
boundary that starts tomorrow.

Time: days, boundaries and spells
---------------------------------
* A transition takes effect *during* its day (``effective_on``; when it was recorded plays no
  part, so a back-dated entry counts on the day it names). Transitions of one day apply in the
  order (``effective_on``, ``id``).
* Stocks are counted at a *boundary* B, the midnight that starts day B: after every transition
  effective before B, before any effective on B. "At the start of month M" is the boundary
  ``M.first``; "at the end of M" is ``M.after`` (the first day of the next month), which is the
  start of M+1.
* A *spell* is one continuous time as a client, [s, e): s the day of the convert or reactivate,
  e the day of the end (open while it lasts). The contact is a client at boundary B iff
  ``s < B <= e``. A spell lasts ``e - s`` days, the number of boundaries it spans (the same
  length as ``lifecycle.Spell.days``, so the totals agree with a contact's tenure). A same-day
  spell (convert and end on one date, e == s) lasts 0 days and is a client at no boundary
  (not at the start or end of any month), yet it counts in its month's flows: once as new or
  reactivated and once as ended.

Monthly series (``retention_series``)
-------------------------------------
* ``clients_start`` / ``clients_end``: clients at the start / end of the month.
* Flows are the transitions effective in the month: ``new`` = first-ever conversions
  (contact → client), ``reactivated`` = former_client → client, ``ended`` = client →
  former_client, also counted by end reason. So, exactly,
  ``clients_end = clients_start + new + reactivated - ended``.
* ``churn_rate`` (logo churn) = ended / clients_start; ``retention_rate`` =
  (clients_end - new - reactivated) / clients_start, which by the identity above equals
  1 - churn_rate: it goes below 0 when more clients leave in a month than were there at its
  start (clients who joined in the month and left in it again). Both are None when
  clients_start is 0.

Cohorts (``cohort_table``)
--------------------------
A contact's cohort is the month of its *first* conversion (contact → client; reactivations
never move it). For cohort month C and k = 1..N: ``retained[k]`` = cohort members that are
clients at the end of month C+k (boundary ``(C+k).after``), whatever happened in between (a
member who left and came back counts again); ``shares[k]`` = retained / size (None for an empty
cohort). A cell whose month has not ended by ``as_of`` (the end of today) is None: not yet
observable.

Tenure (``spell_stats``)
------------------------
``as_of`` = the end of the period, or the end of today if that is sooner. *Completed* spells
are those whose end falls in the period; *ongoing* spells are those open at ``as_of``
(s < as_of <= e, or no end), measured as ``as_of - s``. Each: count, total, mean and median
days (median of an even count is the mean of the two middle lengths). Zero-day spells count.

Revenue (``revenue_series``)
----------------------------
Per currency (money of different currencies is never added). The monthly recurring value of an
agreement is ``agreements.monthly_value`` (one-off or unknown values count 0). An agreement counts
while it was in force: status active or ended (drafts and cancelled ones never), over
[starts_on, ended_on or else ends_on) (no end: open). Like a spell, it is in the stock at boundary
B iff ``starts_on < B <= end``, i.e. it covers the day before B (the day that ends at B).

For month M, r0(c) and r1(c) are contact c's value at M's start and end, S and E the clients at
start and end:

* ``mrr_start`` = sum of r0 over S; ``mrr_end`` = sum of r1 over E (agreements of contacts that
  are not clients at that moment are left out);
* ``churned`` = sum of r0 over S \\ E; ``expansion`` / ``contraction`` = sum over S ∩ E of the
  rise / fall r1 - r0, per contact (not per agreement); ``new`` = sum of r1 over E \\ S.
  So ``mrr_end = mrr_start + new + expansion - contraction - churned``.
* ``gross_retention`` (GRR) = (mrr_start - churned - contraction) / mrr_start;
  ``net_retention`` (NRR) = (sum of r1 over S ∩ E) / mrr_start
  = (mrr_start - churned - contraction + expansion) / mrr_start; None when mrr_start is 0.

A currency is reported when any of its figures is non-zero in the period. Months after today show
what is recorded (e.g. agreements' planned ends); nothing is forecast.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from tenure.domain.agreements import AgreementStatus
from tenure.domain.errors import InvalidInput

MAX_MONTHS = 120
MIN_YEAR = 1900
MAX_YEAR = 2999
DEFAULT_MONTHS = 12
DEFAULT_COHORT_MONTHS = 12
#: Reason shown for an end transition that has none (older or imported history).
UNSPECIFIED = "unspecified"
#: Agreement statuses that were once in force (and so carry value while they covered a day).
COUNTED_AGREEMENT_STATUSES = (AgreementStatus.ACTIVE.value, AgreementStatus.ENDED.value)


# --- months and periods -----------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} is not 1..12")

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str, *, field: str) -> Month:
        """``YYYY-MM``; a bad value is an ``InvalidInput`` naming ``field``."""
        found = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", text.strip())
        if found is None:
            raise InvalidInput.one(field, "month", f"{text!r} is not a month like 2026-03")
        year, month = int(found[1]), int(found[2])
        if not 1 <= month <= 12:
            raise InvalidInput.one(field, "month", f"{text!r}: the month must be 01..12")
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise InvalidInput.one(
                field, "year", f"{text!r}: the year must be {MIN_YEAR}..{MAX_YEAR}"
            )
        return cls(year, month)

    @property
    def index(self) -> int:
        return self.year * 12 + self.month - 1

    def plus(self, months: int) -> Month:
        year, month0 = divmod(self.index + months, 12)
        return Month(year, month0 + 1)

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def after(self) -> date:
        """The first day of the next month: the boundary that ends this one."""
        return self.plus(1).first

    @property
    def last(self) -> date:
        return self.after - timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Period:
    """Whole calendar months ``start..end``; ``lo`` (inclusive) and ``hi`` (exclusive) days."""

    start: Month
    end: Month

    @property
    def months(self) -> tuple[Month, ...]:
        return tuple(self.start.plus(k) for k in range(self.end.index - self.start.index + 1))

    @property
    def lo(self) -> date:
        return self.start.first

    @property
    def hi(self) -> date:
        return self.end.after

    def as_of(self, today: date) -> date:
        """The boundary tenure is measured at: the period's end, or the end of today."""
        return min(self.hi, today + timedelta(days=1))

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"


def as_month(value: Month | str | None, *, field: str) -> Month | None:
    if value is None or isinstance(value, Month):
        return value
    return Month.parse(value, field=field)


def resolve_period(
    start: Month | str | None,
    end: Month | str | None,
    *,
    today: date,
    default_months: int = DEFAULT_MONTHS,
) -> Period:
    """The period asked for; the defaults are the ``default_months`` months up to this one."""
    first = as_month(start, field="start")
    last = as_month(end, field="end")
    if last is None:
        last = Month.of(today) if first is None else max(Month.of(today), first)
    if first is None:
        first = last.plus(1 - default_months)
    if last < first:
        raise InvalidInput.one("end", "after-start", f"must not be before start ({first})")
    if last.index - first.index + 1 > MAX_MONTHS:
        raise InvalidInput.one(
            "end", "max-range", f"a period spans at most {MAX_MONTHS} months from start ({first})"
        )
    return Period(first, last)


def check_cohort_months(months: int) -> int:
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput.one("months", "range", f"must be 1..{MAX_MONTHS}")
    return months


@dataclass(frozen=True)
class Scope:
    """Which contacts count: all, or one owner's, or those with one tag (or both)."""

    owner_id: int | None = None
    tag: str | None = None


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


# --- the monthly client series ----------------------------------------------------------------


@dataclass(frozen=True)
class MonthFlows:
    """Transitions effective in one month (an SQL aggregate)."""

    new: int = 0
    reactivated: int = 0
    ended_by_reason: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RetentionMonth:
    month: Month
    clients_start: int
    clients_end: int
    new: int
    reactivated: int
    ended: int
    ended_by_reason: dict[str, int]
    churn_rate: float | None
    retention_rate: float | None


def churn_rate(ended: int, clients_start: int) -> float | None:
    return ratio(ended, clients_start)


def retention_rate(
    clients_end: int, new: int, reactivated: int, clients_start: int
) -> float | None:
    return ratio(clients_end - new - reactivated, clients_start)


def nonzero_reasons(counts: Mapping[str, int]) -> dict[str, int]:
    return {reason: n for reason, n in sorted(counts.items()) if n}


def retention_series(
    months: Sequence[Month], *, clients_at_start: int, flows: Mapping[Month, MonthFlows]
) -> list[RetentionMonth]:
    """The stock walks forward by the net flow of each month."""
    out: list[RetentionMonth] = []
    stock = clients_at_start
    for month in months:
        f = flows.get(month, MonthFlows())
        ended = sum(f.ended_by_reason.values())
        end_stock = stock + f.new + f.reactivated - ended
        out.append(
            RetentionMonth(
                month=month,
                clients_start=stock,
                clients_end=end_stock,
                new=f.new,
                reactivated=f.reactivated,
                ended=ended,
                ended_by_reason=nonzero_reasons(f.ended_by_reason),
                churn_rate=churn_rate(ended, stock),
                retention_rate=retention_rate(end_stock, f.new, f.reactivated, stock),
            )
        )
        stock = end_stock
    return out


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    ended: int
    #: Of all relationships ended in the period.
    share: float


def reason_counts(counts: Mapping[str, int]) -> list[ReasonCount]:
    """Most frequent first (then by name)."""
    total = sum(counts.values())
    return [
        ReasonCount(reason, n, n / total)
        for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if n
    ]


def churn_reasons(series: Iterable[RetentionMonth]) -> list[ReasonCount]:
    counts: Counter[str] = Counter()
    for month in series:
        counts.update(month.ended_by_reason)
    return reason_counts(counts)


# --- cohorts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortRow:
    cohort: Month
    size: int
    #: Members that are clients at the end of cohort + k, for k = 1..N (None: not yet known).
    retained: tuple[int | None, ...]
    shares: tuple[float | None, ...]


def cohort_table(
    cohorts: Sequence[Month],
    *,
    months: int,
    sizes: Mapping[Month, int],
    net_flows: Mapping[tuple[Month, Month], int],
    as_of: date,
) -> list[CohortRow]:
    """``net_flows[(cohort, month)]``: (to client) - (to former client) transitions of the
    cohort's members effective in that month; members are clients at a boundary iff that sum
    over the months before it is 1, so the retained count is a running sum."""
    rows: list[CohortRow] = []
    for cohort in cohorts:
        size = sizes.get(cohort, 0)
        running = net_flows.get((cohort, cohort), 0)
        retained: list[int | None] = []
        for k in range(1, months + 1):
            month = cohort.plus(k)
            running += net_flows.get((cohort, month), 0)
            retained.append(running if month.after <= as_of else None)
        rows.append(CohortRow(cohort, size, tuple(retained), shares_of(retained, size)))
    return rows


def shares_of(retained: Sequence[int | None], size: int) -> tuple[float | None, ...]:
    return tuple(None if n is None else ratio(n, size) for n in retained)


# --- tenure -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpellStats:
    count: int
    total_days: int
    mean_days: float | None
    median_days: float | None


@dataclass(frozen=True)
class TenureSummary:
    as_of: date
    completed: SpellStats
    ongoing: SpellStats


def spell_stats(histogram: Mapping[int, int]) -> SpellStats:
    """From ``{length in days: number of spells}`` (one SQL row per distinct length)."""
    count = sum(histogram.values())
    if count == 0:
        return SpellStats(0, 0, None, None)
    total = sum(days * n for days, n in histogram.items())
    lengths = sorted(histogram.items())

    def nth(rank: int) -> int:  # the rank-th smallest length, 0-based
        seen = 0
        for days, n in lengths:
            seen += n
            if rank < seen:
                return days
        raise AssertionError("rank beyond the count")

    middle = (nth((count - 1) // 2) + nth(count // 2)) / 2
    return SpellStats(count, total, total / count, middle)


# --- revenue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevenueFlows:
    """One month's value movements in one currency (an SQL aggregate)."""

    new: int = 0
    expansion: int = 0
    contraction: int = 0
    churned: int = 0


@dataclass(frozen=True)
class RevenueMonth:
    month: Month
    mrr_start: int
    mrr_end: int
    new: int
    expansion: int
    contraction: int
    churned: int
    gross_retention: float | None
    net_retention: float | None


@dataclass(frozen=True)
class CurrencyRevenue:
    currency: str
    months: tuple[RevenueMonth, ...]


def revenue_month(month: Month, mrr_start: int, f: RevenueFlows) -> RevenueMonth:
    kept = mrr_start - f.churned - f.contraction
    return RevenueMonth(
        month=month,
        mrr_start=mrr_start,
        mrr_end=kept + f.expansion + f.new,
        new=f.new,
        expansion=f.expansion,
        contraction=f.contraction,
        churned=f.churned,
        gross_retention=ratio(kept, mrr_start),
        net_retention=ratio(kept + f.expansion, mrr_start),
    )


def has_figures(months: Sequence[RevenueMonth]) -> bool:
    return any(
        m.mrr_start or m.mrr_end or m.new or m.expansion or m.contraction or m.churned
        for m in months
    )


def revenue_series(
    months: Sequence[Month],
    *,
    mrr_at_start: Mapping[str, int],
    flows: Mapping[tuple[Month, str], RevenueFlows],
) -> list[CurrencyRevenue]:
    currencies = sorted(set(mrr_at_start) | {currency for _, currency in flows})
    out: list[CurrencyRevenue] = []
    for currency in currencies:
        mrr = mrr_at_start.get(currency, 0)
        series: list[RevenueMonth] = []
        for month in months:
            row = revenue_month(month, mrr, flows.get((month, currency), RevenueFlows()))
            series.append(row)
            mrr = row.mrr_end
        if has_figures(series):
            out.append(CurrencyRevenue(currency, tuple(series)))
    return out
