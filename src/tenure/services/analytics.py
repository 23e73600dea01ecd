"""Retention analytics: which relationships the business keeps (definitions in
``tenure.domain.retention``; the SQL in ``db.repositories.analytics``).

Each report takes a constant number of aggregate queries, whatever the number of clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from tenure.db.repositories.analytics import AnalyticsRepository
from tenure.db.repositories.base import is_id
from tenure.domain.access import Permission
from tenure.domain.contacts import MAX_TAG_LENGTH, normalize_tag
from tenure.domain.errors import InvalidInput
from tenure.domain.retention import (
    DEFAULT_COHORT_MONTHS,
    CohortRow,
    CurrencyRevenue,
    Month,
    Period,
    ReasonCount,
    RetentionMonth,
    Scope,
    TenureSummary,
    check_cohort_months,
    churn_reasons,
    cohort_table,
    resolve_period,
    retention_series,
    revenue_series,
    spell_stats,
)
from tenure.domain.retention.bands import TenureBand, tenure_bands
from tenure.services.context import Ctx

MonthArg = Month | str | None


@dataclass(frozen=True)
class RetentionReport:
    period: Period
    scope: Scope
    months: list[RetentionMonth]


@dataclass(frozen=True)
class ChurnReasonsReport:
    period: Period
    scope: Scope
    ended: int
    reasons: list[ReasonCount]
    #: The same counts month by month.
    months: list[RetentionMonth]


@dataclass(frozen=True)
class CohortReport:
    period: Period
    scope: Scope
    months_after: int
    as_of: date
    cohorts: list[CohortRow]


@dataclass(frozen=True)
class TenureReport:
    period: Period
    scope: Scope
    tenure: TenureSummary
    #: The spells by length (``domain.retention.bands``), ongoing and completed.
    bands: list[TenureBand] = field(default_factory=list)


@dataclass(frozen=True)
class RevenueReport:
    period: Period
    scope: Scope
    currencies: list[CurrencyRevenue]


def _setup(
    ctx: Ctx, start: MonthArg, end: MonthArg, owner_id: int | None, tag: str | None
) -> tuple[Period, Scope, AnalyticsRepository]:
    ctx.require(Permission.READ)
    period = resolve_period(start, end, today=ctx.today)
    scope = Scope(owner_id=_owner(owner_id), tag=_tag(tag))
    return period, scope, AnalyticsRepository(ctx.session, ctx.workspace_id, scope)


def _owner(owner_id: int | None) -> int | None:
    if owner_id is not None and not is_id(owner_id):
        raise InvalidInput.one("owner_id", "id", "is not a user id")
    return owner_id


def _tag(tag: str | None) -> str | None:
    if tag is None:
        return None
    normalized = normalize_tag(tag)
    if not normalized or len(normalized) > MAX_TAG_LENGTH or "\x00" in normalized:
        raise InvalidInput.one("tag", "tag", f"a tag is 1 to {MAX_TAG_LENGTH} characters")
    return normalized


def _series(period: Period, repo: AnalyticsRepository) -> list[RetentionMonth]:
    return retention_series(
        period.months,
        clients_at_start=repo.clients_at(period.lo),
        flows=repo.monthly_flows(period),
    )


def retention(
    ctx: Ctx,
    *,
    start: MonthArg = None,
    end: MonthArg = None,
    owner_id: int | None = None,
    tag: str | None = None,
) -> RetentionReport:
    """Clients at start and end of each month, new, reactivated, ended (by reason), churn and
    retention rates. Two queries."""
    period, scope, repo = _setup(ctx, start, end, owner_id, tag)
    return RetentionReport(period, scope, _series(period, repo))


def churn_reasons_report(
    ctx: Ctx,
    *,
    start: MonthArg = None,
    end: MonthArg = None,
    owner_id: int | None = None,
    tag: str | None = None,
) -> ChurnReasonsReport:
    period, scope, repo = _setup(ctx, start, end, owner_id, tag)
    series = _series(period, repo)
    return ChurnReasonsReport(
        period, scope, sum(m.ended for m in series), churn_reasons(series), series
    )


def cohorts(
    ctx: Ctx,
    *,
    start: MonthArg = None,
    end: MonthArg = None,
    months: int = DEFAULT_COHORT_MONTHS,
    owner_id: int | None = None,
    tag: str | None = None,
) -> CohortReport:
    """Clients by the month of their first conversion, and the share of each still clients at
    the end of each of the ``months`` months after. One query."""
    check_cohort_months(months)
    period, scope, repo = _setup(ctx, start, end, owner_id, tag)
    # Follow-up months may run past the period's end, up to the end of today.
    observable = ctx.today + timedelta(days=1)
    sizes, flows = repo.cohort_flows(period, months=months)
    rows = cohort_table(
        period.months, months=months, sizes=sizes, net_flows=flows, as_of=observable
    )
    return CohortReport(period, scope, months, observable, rows)


def tenure(
    ctx: Ctx,
    *,
    start: MonthArg = None,
    end: MonthArg = None,
    owner_id: int | None = None,
    tag: str | None = None,
) -> TenureReport:
    """Mean and median length of the spells completed in the period and of those ongoing at
    its end (or at the end of today, if sooner). One query."""
    period, scope, repo = _setup(ctx, start, end, owner_id, tag)
    as_of = period.as_of(ctx.today)
    lengths = repo.spell_lengths(period, as_of=as_of)
    summary = TenureSummary(
        as_of, spell_stats(lengths["completed"]), spell_stats(lengths["ongoing"])
    )
    bands = tenure_bands(lengths["ongoing"], lengths["completed"])
    return TenureReport(period, scope, summary, bands)


def revenue(
    ctx: Ctx,
    *,
    start: MonthArg = None,
    end: MonthArg = None,
    owner_id: int | None = None,
    tag: str | None = None,
) -> RevenueReport:
    """Monthly recurring value at start and end of each month, per currency, with new,
    expansion, contraction, churned value and gross / net revenue retention. Two queries."""
    period, scope, repo = _setup(ctx, start, end, owner_id, tag)
    currencies = revenue_series(
        period.months, mrr_at_start=repo.mrr_at(period.lo), flows=repo.revenue_flows(period)
    )
    return RevenueReport(period, scope, currencies)
