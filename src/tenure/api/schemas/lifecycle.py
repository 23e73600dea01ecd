"""Lifecycle and agreement schemas."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from tenure.api.schemas.common import Input, Output
from tenure.domain.agreements import AgreementKind, AgreementStatus, BillingPeriod
from tenure.domain.lifecycle import EndReason, EvidenceKind, Stage


class EvidenceSchema(Input):
    kind: EvidenceKind = Field(
        description="`agreement` (active) or `delivery` (scheduled or delivered)."
    )
    id: int


class ConvertRequest(Input):
    evidence: EvidenceSchema | None = Field(
        default=None, description="Required: without it the answer is 409 evidence-required."
    )
    effective_on: date | None = Field(
        default=None,
        description="Defaults to the evidence's start; never in the future and "
        "never before the previous transition.",
    )
    note: str = Field(default="", max_length=5000)


class EndRequest(Input):
    reason: EndReason
    note: str = Field(default="", max_length=5000)
    effective_on: date | None = None


class TransitionRead(Output):
    id: int
    contact_id: int
    from_stage: Stage
    to_stage: Stage
    effective_on: date
    recorded_at: datetime
    actor_id: int | None
    reason: str | None
    evidence_kind: str | None
    evidence_id: int | None
    note: str


class TransitionList(Output):
    items: list[TransitionRead]


class _AgreementFields(Input):
    title: str | None = Field(default=None, max_length=300)
    kind: AgreementKind | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    renews_on: date | None = None
    value_minor: int | None = Field(
        default=None, ge=0, le=10**15, description="Value in minor units (cents)."
    )
    currency: str | None = Field(
        default=None, min_length=3, max_length=3, description="ISO 4217 code, like EUR."
    )
    billing_period: BillingPeriod | None = None
    terms: str | None = Field(default=None, max_length=100_000)


class AgreementCreate(_AgreementFields):
    title: str = Field(max_length=300, min_length=1)
    kind: AgreementKind = AgreementKind.ENGAGEMENT
    billing_period: BillingPeriod = BillingPeriod.ONE_OFF
    terms: str = Field(default="", max_length=100_000)


class AgreementUpdate(_AgreementFields):
    """Only the fields sent are changed; which may change depends on the status."""


class AgreementRead(Output):
    id: int
    contact_id: int
    title: str
    kind: AgreementKind
    status: AgreementStatus
    starts_on: date | None
    ends_on: date | None
    renews_on: date | None
    value_minor: int | None
    currency: str | None
    billing_period: BillingPeriod
    terms: str
    confirmed_at: datetime | None
    ended_on: date | None
    end_reason: str | None
    end_note: str
    created_at: datetime
    updated_at: datetime
    version: int


class AgreementPage(Output):
    items: list[AgreementRead]
    next_cursor: str | None


class ConfirmRequest(Input):
    starts_on: date | None = None


class AgreementEndRequest(Input):
    reason: EndReason
    ended_on: date | None = None
    note: str = Field(default="", max_length=5000)


class CancelRequest(Input):
    note: str = Field(default="", max_length=5000)
