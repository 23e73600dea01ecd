"""Contact schemas."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from tenure.api.schemas.common import Input, Output
from tenure.domain.contacts import ContactKind
from tenure.domain.health import band_of
from tenure.domain.lifecycle import Stage, tenure_days
from tenure.services.contacts import ContactView


class EmailSchema(Input):
    email: str = Field(max_length=320)
    label: str | None = Field(default=None, max_length=40)
    primary: bool = False


class PhoneSchema(Input):
    number: str = Field(max_length=40, description="Any common format; stored as E.164.")
    label: str | None = Field(default=None, max_length=40)
    primary: bool = False


class AddressSchema(Input):
    street: str | None = Field(default=None, max_length=300)
    locality: str | None = Field(default=None, max_length=120)
    region: str | None = Field(default=None, max_length=120)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=120)


class OrganizationLinkSchema(Input):
    organization_id: int
    title: str = Field(default="", max_length=200)


class _ContactFields(Input):
    display_name: str | None = Field(default=None, max_length=300)
    given_name: str | None = Field(default=None, max_length=150)
    family_name: str | None = Field(default=None, max_length=150)
    emails: list[EmailSchema] = Field(default_factory=list, max_length=20)
    phones: list[PhoneSchema] = Field(default_factory=list, max_length=20)
    address: AddressSchema | None = None
    timezone: str | None = Field(default=None, max_length=64)
    tags: list[str] = Field(default_factory=list, max_length=50)
    owner_id: int | None = None
    organizations: list[OrganizationLinkSchema] = Field(default_factory=list, max_length=50)
    notes: str = Field(default="", max_length=100_000)
    cadence_days: int | None = Field(
        default=None,
        ge=1,
        le=3660,
        description="Expected touch interval; default by tag or workspace.",
    )
    do_not_email: bool = False


class ContactCreate(_ContactFields):
    kind: ContactKind = ContactKind.PERSON


class ContactUpdate(_ContactFields):
    """Only the fields sent are changed."""


class EmailRead(Output):
    email: str
    label: str | None = None
    primary: bool


class PhoneRead(Output):
    number: str
    label: str | None = None
    primary: bool


class AffiliationRead(Output):
    organization_id: int
    organization_name: str
    person_id: int
    person_name: str
    title: str


class ContactRead(Output):
    id: int
    kind: ContactKind
    display_name: str
    given_name: str | None
    family_name: str | None
    emails: list[EmailRead]
    phones: list[PhoneRead]
    address: dict[str, str] | None
    timezone: str | None
    tags: list[str]
    owner_id: int | None
    notes: str
    stage: Stage
    client_since: date | None
    tenure_days: int
    last_interaction_at: datetime | None
    last_service_at: datetime | None
    next_activity_at: datetime | None
    cadence_days: int | None
    last_touch_at: datetime | None
    next_touch_due: date | None
    health_score: int | None
    health_band: str | None
    do_not_email: bool
    created_at: datetime
    updated_at: datetime
    version: int
    organizations: list[AffiliationRead] | None = Field(
        default=None, description="Detail only: a person's organizations."
    )
    people: list[AffiliationRead] | None = Field(
        default=None, description="Detail only: an organization's people."
    )


class ContactPage(Output):
    items: list[ContactRead]
    next_cursor: str | None


def contact_read(view: ContactView, today: date, *, detail: bool = True) -> ContactRead:
    return ContactRead.model_validate(contact_fields(view, today, detail=detail))


def contact_page(views: list[ContactView], today: date, next_cursor: str | None) -> ContactPage:
    """A list page validated in one call (pydantic walks the items in Rust, instead of one
    validation per contact and per email from Python)."""
    items = [contact_fields(view, today, detail=False) for view in views]
    return ContactPage.model_validate({"items": items, "next_cursor": next_cursor})


def contact_fields(view: ContactView, today: date, *, detail: bool = True) -> dict[str, Any]:
    """A contact as ``ContactRead``'s input: plain values, validated by the model."""
    c = view.contact
    fields: dict[str, Any] = {
        "id": c.id,
        "kind": c.kind,
        "display_name": c.display_name,
        "given_name": c.given_name,
        "family_name": c.family_name,
        "emails": c.emails,
        "phones": c.phones,
        "address": c.address,
        "timezone": c.timezone,
        "tags": c.tags,
        "owner_id": c.owner_id,
        "notes": c.notes,
        "stage": c.stage,
        "client_since": c.client_since,
        "tenure_days": tenure_days(c.closed_tenure_days, c.client_since, today),
        "last_interaction_at": c.last_interaction_at,
        "last_service_at": c.last_service_at,
        "next_activity_at": c.next_activity_at,
        "cadence_days": c.cadence_days,
        "last_touch_at": c.last_touch_at,
        "next_touch_due": c.next_touch_due,
        "health_score": c.health_score,
        "health_band": band_of(c.health_score) if c.health_score is not None else None,
        "do_not_email": c.do_not_email,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "version": c.version,
    }
    if detail:
        rows = [vars(a) for a in view.affiliations]
        fields["organizations"] = [a for a in rows if a["person_id"] == c.id]
        fields["people"] = [a for a in rows if a["organization_id"] == c.id]
    return fields


ContactSort = Literal[
    "name",
    "-name",
    "created",
    "-created",
    "last_touch",
    "-last_touch",
    "next_activity",
    "-next_activity",
    "health",
    "-health",
    "client_since",
    "-client_since",
]
