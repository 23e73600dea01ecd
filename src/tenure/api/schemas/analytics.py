"""Retention analytics schemas (read-only reports; definitions in ``domain/retention.py``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from tenure.api.schemas.common import Output


def _month_text(value: Any) -> Any:
    return value if isinstance(value, str) else str(value)


#: A calendar month, ``YYYY-MM``.
MonthText = Annotated[str, BeforeValidator(_month_text), Field(examples=["2026-03"])]


class PeriodRead(Output):
    start: MonthText
    end: MonthText


class ScopeRead(Output):
    owner_id: int | None = Field(description="Only contacts with this owner.")
    tag: str | None = Field(description="Only contacts with this tag.")


class RetentionMonthRead(Output):
    month: MonthText
    clients_start: int = Field(description="Clients at the start of the month's first day.")
    clients_end: int = Field(description="Clients at the end of its last day.")
    new: int = Field(description="First-ever conversions in the month.")
    reactivated: int = Field(description="Former clients who became clients again.")
    ended: int = Field(description="Relationships that ended in the month.")
    ended_by_reason: dict[str, int]
    churn_rate: float | None = Field(description="ended / clients_start; null when 0 clients.")
    retention_rate: float | None = Field(
        description="(clients_end - new - reactivated) / clients_start; null when 0 clients."
    )


class RetentionRead(Output):
    period: PeriodRead
    scope: ScopeRead
    months: list[RetentionMonthRead]


class ReasonCountRead(Output):
    reason: str
    ended: int
    share: float = Field(description="Of all relationships ended in the period.")


class ChurnReasonsRead(Output):
    period: PeriodRead
    scope: ScopeRead
    ended: int
    reasons: list[ReasonCountRead]


class CohortRowRead(Output):
    cohort: MonthText = Field(description="The month of the members' first conversion.")
    size: int
    retained: list[int | None] = Field(
        description="Members that are clients at the end of each of the months 1..N after; "
        "null while that month has not ended."
    )
    shares: list[float | None] = Field(description="retained / size.")


class CohortsRead(Output):
    period: PeriodRead
    scope: ScopeRead
    months_after: int
    as_of: date = Field(description="Cells whose month ends after this day are null.")
    cohorts: list[CohortRowRead]


class SpellStatsRead(Output):
    count: int
    total_days: int
    mean_days: float | None
    median_days: float | None


class TenureSummaryRead(Output):
    as_of: date = Field(description="The period's end, or the end of today if sooner.")
    completed: SpellStatsRead = Field(description="Spells that ended in the period.")
    ongoing: SpellStatsRead = Field(description="Spells open at as_of, measured to as_of.")


class TenureRead(Output):
    period: PeriodRead
    scope: ScopeRead
    tenure: TenureSummaryRead


class RevenueMonthRead(Output):
    month: MonthText
    mrr_start: int = Field(description="Monthly recurring value of the clients at the start.")
    mrr_end: int
    new: int
    expansion: int
    contraction: int
    churned: int
    gross_retention: float | None
    net_retention: float | None


class CurrencyRevenueRead(Output):
    currency: str
    months: list[RevenueMonthRead]


class RevenueRead(Output):
    period: PeriodRead
    scope: ScopeRead
    currencies: list[CurrencyRevenueRead] = Field(
        description="Values in minor units, one series per currency."
    )
