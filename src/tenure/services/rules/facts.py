"""What a rule's conditions and texts see: the contact, the triggering record, the event and
the trigger occurrence, flattened into one plain dict (``contact.stage``, ``record.title`` …)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, select

from tenure.db.base import WorkspaceScoped
from tenure.db.models import (
    Activity,
    Agreement,
    Case,
    Commitment,
    Contact,
    Delivery,
    Interaction,
    KnowledgeEntry,
    Schedule,
    TimelineEvent,
    Transition,
)
from tenure.services.context import Ctx

#: The model behind each ``subject_type`` a timeline event names.
SUBJECTS: dict[str, type[WorkspaceScoped]] = {
    "activity": Activity,
    "agreement": Agreement,
    "case": Case,
    "commitment": Commitment,
    "contact": Contact,
    "delivery": Delivery,
    "interaction": Interaction,
    "knowledge": KnowledgeEntry,
    "schedule": Schedule,
    "transition": Transition,
}

#: Contact columns offered as ``contact.<name>`` as they are.
_CONTACT_COLUMNS = (
    "id",
    "kind",
    "stage",
    "display_name",
    "tags",
    "owner_id",
    "health_score",
    "client_since",
    "closed_tenure_days",
    "cadence_days",
    "last_touch_at",
    "last_interaction_at",
    "last_service_at",
    "next_activity_at",
    "next_touch_due",
    "do_not_email",
    "timezone",
    "created_at",
)
#: Long or private columns left out of ``record.*`` (conditions compare fields, not bodies).
_SKIP_COLUMNS = frozenset({"workspace_id", "body", "health_contributions"})


@dataclass
class Target:
    """One occurrence a rule may fire for."""

    key: str
    contact: Contact | None
    facts: dict[str, Any]
    event: TimelineEvent | None = None
    record_type: str | None = None
    record_id: int | None = None
    #: How deep in a chain of automation the occurrence is (0: a person or the clock).
    depth: int = 0
    trigger: dict[str, Any] = field(default_factory=dict)


def contact_facts(ctx: Ctx, contact: Contact | None) -> dict[str, Any]:
    if contact is None:
        return {}
    facts: dict[str, Any] = {f"contact.{name}": getattr(contact, name) for name in _CONTACT_COLUMNS}
    facts["contact.emails"] = [e.get("email") for e in contact.emails or []]
    today = ctx.today
    zone = ZoneInfo(ctx.workspace_timezone)

    def days_since(moment: datetime | None) -> int | None:
        return (today - moment.astimezone(zone).date()).days if moment else None

    facts["contact.days_since_touch"] = days_since(contact.last_touch_at)
    facts["contact.days_since_service"] = days_since(contact.last_service_at)
    facts["contact.days_as_client"] = (
        (today - contact.client_since).days
        if contact.stage == "client" and contact.client_since
        else None
    )
    return facts


def record_facts(row: object | None) -> dict[str, Any]:
    if row is None:
        return {}
    out: dict[str, Any] = {}
    for attr in inspect(type(row)).column_attrs:
        if attr.key not in _SKIP_COLUMNS:
            out[f"record.{attr.key}"] = getattr(row, attr.key)
    return out


def event_facts(event: TimelineEvent | None) -> dict[str, Any]:
    if event is None:
        return {}
    out: dict[str, Any] = {
        f"event.{key}": value for key, value in (event.data or {}).items() if key != "automation"
    }
    out.update(
        {
            "event.id": event.id,
            "event.type": event.type,
            "event.occurred_at": event.occurred_at,
            "event.subject_type": event.subject_type,
            "event.subject_id": event.subject_id,
            "event.summary": event.summary,
        }
    )
    return out


def trigger_facts(trigger: dict[str, Any]) -> dict[str, Any]:
    return {f"trigger.{key}": value for key, value in trigger.items()}


def load_subject(ctx: Ctx, subject_type: str | None, subject_id: int | None) -> object | None:
    model = SUBJECTS.get(subject_type or "")
    if model is None or subject_id is None:
        return None
    stmt = select(model).where(model.workspace_id == ctx.workspace_id, model.id == subject_id)
    return ctx.session.scalars(stmt).one_or_none()


def load_contact(ctx: Ctx, contact_id: int | None) -> Contact | None:
    if contact_id is None:
        return None
    stmt = select(Contact).where(Contact.workspace_id == ctx.workspace_id, Contact.id == contact_id)
    return ctx.session.scalars(stmt).one_or_none()


def build(
    ctx: Ctx,
    *,
    contact: Contact | None,
    record: object | None,
    event: TimelineEvent | None,
    trigger: dict[str, Any],
) -> dict[str, Any]:
    return {
        **record_facts(record),
        **event_facts(event),
        **contact_facts(ctx, contact),
        **trigger_facts(trigger),
    }


def jsonable(value: Any) -> Any:
    """Facts made JSON-safe (for webhook payloads and email triggers)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
