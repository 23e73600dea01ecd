"""Service deliveries: requested, scheduled, in progress, delivered (or cancelled / no-show).

A scheduled or delivered delivery is evidence for becoming a client: confirming one for a
contact (or former client) converts it. An upcoming scheduled delivery keeps a relationship
alive when its last agreement ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tenure.db.models import Contact, Delivery
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.lifecycle import AgreementRepository
from tenure.db.repositories.pagination import (
    Page,
    check_limit,
    id_cursor,
    page_of,
)
from tenure.db.repositories.scheduling import (
    ActivityRepository,
    DeliveryFilter,
    DeliveryRepository,
    ServiceRepository,
)
from tenure.domain.access import Permission
from tenure.domain.activities import ActivityOrigin
from tenure.domain.contacts import is_valid_timezone
from tenure.domain.deliveries import (
    DELIVERY_EVENTS,
    DeliveryAction,
    DeliveryStatus,
    apply_delivery_action,
    check_actual_times,
    check_reschedule,
    check_scheduled_window,
    evidence_start,
    initial_status,
    is_evidence,
)
from tenure.domain.errors import Conflict, FieldError, InvalidInput, PreconditionFailed
from tenure.domain.events import EventType
from tenure.domain.lifecycle import Evidence, EvidenceKind, Stage
from tenure.domain.money import is_currency
from tenure.services import activities, cadence, lifecycle, timeline
from tenure.services.context import Ctx
from tenure.services.members import check_member

EDITABLE = frozenset(
    {
        "title",
        "assignee_id",
        "location",
        "outcome_notes",
        "follow_up_due",
        "price_minor",
        "currency",
        "scheduled_start",
        "scheduled_end",
        "allow_overlap",
    }
)


def _repo(ctx: Ctx) -> DeliveryRepository:
    return DeliveryRepository(ctx.session, ctx.workspace_id)


def create_delivery(
    ctx: Ctx,
    contact_id: int,
    *,
    service_id: int | None = None,
    agreement_id: int | None = None,
    assignee_id: int | None = None,
    title: str | None = None,
    scheduled_start: datetime | None = None,
    scheduled_end: datetime | None = None,
    timezone: str | None = None,
    location: str = "",
    price_minor: int | None = None,
    currency: str | None = None,
    follow_up_due: date | None = None,
    allow_overlap: bool = False,
    origin: ActivityOrigin = ActivityOrigin.MANUAL,
    schedule_id: int | None = None,
    occurrence_key: str | None = None,
    convert: bool = True,
) -> Delivery:
    """A new delivery: scheduled when it has a start, else requested.

    ``convert``: whether a scheduled delivery converts a non-client (materialized occurrences of
    a schedule do not: the plan's owner converts explicitly).
    """
    ctx.require(Permission.WRITE)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get_writable(
        contact_id, for_update=True
    )
    errors: list[FieldError] = []
    service = None
    if service_id is not None:
        service = ServiceRepository(ctx.session, ctx.workspace_id).find(service_id)
        if service is None:
            errors.append(FieldError("service_id", "exists", "no such service"))
    if agreement_id is not None:
        agreement = AgreementRepository(ctx.session, ctx.workspace_id).find(agreement_id)
        if agreement is None or agreement.contact_id != contact.id:
            errors.append(
                FieldError("agreement_id", "same-contact", "no such agreement of this contact")
            )
    name = (title or (service.name if service else "")).strip()
    if not name:
        errors.append(FieldError("title", "required", "give a title or a service"))
    tz = timezone or contact.timezone or ctx.workspace_timezone
    if not is_valid_timezone(tz):
        errors.append(FieldError("timezone", "timezone", f"{tz!r} is not an IANA time zone"))
    assignee = ctx.user_id if assignee_id is None else assignee_id
    check_member(ctx, assignee, errors)
    _check_money(price_minor, currency, errors)
    if scheduled_end is not None and scheduled_start is None:
        errors.append(FieldError("scheduled_start", "required", "an end needs a start"))
    if errors:
        raise InvalidInput(errors)
    if scheduled_start is not None and scheduled_end is None:
        minutes = service.default_duration_minutes if service else 60
        scheduled_end = scheduled_start + timedelta(minutes=minutes)
    if scheduled_start is not None and scheduled_end is not None:
        check_scheduled_window(scheduled_start, scheduled_end)
        _refuse_conflict(ctx, assignee, scheduled_start, scheduled_end, allow_overlap, None)
    status = initial_status(scheduled_start)
    delivery = Delivery(
        contact_id=contact.id,
        service_id=service_id,
        agreement_id=agreement_id,
        assignee_id=assignee,
        title=name,
        status=status.value,
        scheduled_start=scheduled_start,
        scheduled_end=scheduled_end,
        timezone=tz,
        location=location.strip(),
        price_minor=price_minor
        if price_minor is not None
        else (service.default_price_minor if service else None),
        currency=(currency or (service.currency if service else None) or None),
        follow_up_due=follow_up_due,
        origin=origin.value,
        schedule_id=schedule_id,
        occurrence_key=occurrence_key,
        created_by=ctx.user_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    if delivery.currency:
        delivery.currency = delivery.currency.upper()
    _repo(ctx).add(delivery)
    ctx.session.flush()
    if origin is not ActivityOrigin.SCHEDULE:
        _record(ctx, delivery, DELIVERY_EVENTS[status], "")
    if convert:
        _convert_if_confirmed(ctx, contact, delivery)
    activities.refresh_next_activity(ctx, contact)
    return delivery


def update_delivery(
    ctx: Ctx, delivery_id: int, *, expected_version: int, changes: Mapping[str, Any]
) -> Delivery:
    ctx.require(Permission.WRITE)
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise InvalidInput([FieldError(n, "read-only", "cannot be changed") for n in unknown])
    delivery = _repo(ctx).get(delivery_id, for_update=True)
    # An edit is new words: none on an erased contact's records.
    ContactRepository(ctx.session, ctx.workspace_id).get_writable(delivery.contact_id)
    if delivery.version != expected_version:
        raise PreconditionFailed(
            f"delivery {delivery_id} is at version {delivery.version}, not {expected_version}",
            current_version=delivery.version,
        )
    errors: list[FieldError] = []
    if "title" in changes and not (changes["title"] or "").strip():
        errors.append(FieldError("title", "required", "a delivery needs a title"))
    if "assignee_id" in changes:
        check_member(ctx, changes["assignee_id"], errors)
    _check_money(
        changes.get("price_minor", delivery.price_minor),
        changes.get("currency", delivery.currency),
        errors,
    )
    if errors:
        raise InvalidInput(errors)
    moving = "scheduled_start" in changes or "scheduled_end" in changes
    before = delivery.scheduled_start
    if moving:
        check_reschedule(DeliveryStatus(delivery.status))
        start = changes.get("scheduled_start", delivery.scheduled_start)
        end = changes.get("scheduled_end", delivery.scheduled_end)
        if start is None or end is None:
            raise InvalidInput.one(
                "scheduled_start", "required", "a scheduled delivery needs a start and an end"
            )
        check_scheduled_window(start, end)
    for name, value in changes.items():
        if name != "allow_overlap":
            setattr(delivery, name, _normalized(name, value))
    # Before the conflict query autoflushes the row: one update, one version step.
    delivery.updated_at = ctx.now
    if (moving or "assignee_id" in changes) and delivery.scheduled_start and delivery.scheduled_end:
        _refuse_conflict(
            ctx,
            delivery.assignee_id,
            delivery.scheduled_start,
            delivery.scheduled_end,
            bool(changes.get("allow_overlap")),
            delivery.id,
        )
    ctx.session.flush()
    if moving and delivery.scheduled_start != before:
        _record(
            ctx,
            delivery,
            EventType.DELIVERY_RESCHEDULED,
            f"moved to {delivery.scheduled_start:%Y-%m-%d %H:%M} UTC",
            {"from": before.isoformat() if before else None},
        )
        _refresh_contact(ctx, delivery.contact_id)
    return delivery


def schedule(
    ctx: Ctx,
    delivery_id: int,
    *,
    scheduled_start: datetime,
    scheduled_end: datetime | None = None,
    allow_overlap: bool = False,
) -> Delivery:
    """requested → scheduled: an agreed time (this confirms the delivery)."""
    ctx.require(Permission.WRITE)
    delivery = _repo(ctx).get(delivery_id, for_update=True)
    status = apply_delivery_action(DeliveryStatus(delivery.status), DeliveryAction.SCHEDULE)
    if scheduled_end is None:
        minutes = _default_minutes(ctx, delivery)
        scheduled_end = scheduled_start + timedelta(minutes=minutes)
    check_scheduled_window(scheduled_start, scheduled_end)
    _refuse_conflict(
        ctx, delivery.assignee_id, scheduled_start, scheduled_end, allow_overlap, delivery.id
    )
    delivery.scheduled_start, delivery.scheduled_end = scheduled_start, scheduled_end
    return _moved(ctx, delivery, status, "")


def start(ctx: Ctx, delivery_id: int, *, actual_start: datetime | None = None) -> Delivery:
    ctx.require(Permission.WRITE)
    delivery = _repo(ctx).get(delivery_id, for_update=True)
    status = apply_delivery_action(DeliveryStatus(delivery.status), DeliveryAction.START)
    delivery.actual_start = actual_start or ctx.now
    check_actual_times(delivery.actual_start, None, now=ctx.now)
    return _moved(ctx, delivery, status, "")


def deliver(
    ctx: Ctx,
    delivery_id: int,
    *,
    actual_start: datetime | None = None,
    actual_end: datetime | None = None,
    outcome_notes: str = "",
    follow_up_due: date | None = None,
) -> Delivery:
    """→ delivered: the work is done. Stamps the contact's last service."""
    ctx.require(Permission.WRITE)
    delivery = _repo(ctx).get(delivery_id, for_update=True)
    status = apply_delivery_action(DeliveryStatus(delivery.status), DeliveryAction.DELIVER)
    delivery.actual_end = actual_end or ctx.now
    if actual_start is not None:
        delivery.actual_start = actual_start
    elif delivery.actual_start is None:
        # Recorded without being started: it began at the agreed time, unless that is not
        # before the end (delivered ahead of schedule), when the start is unknown. A given
        # start is checked as given, never moved.
        planned = delivery.scheduled_start
        delivery.actual_start = (
            planned if planned is not None and planned < delivery.actual_end else None
        )
    check_actual_times(delivery.actual_start, delivery.actual_end, now=ctx.now)
    delivery.outcome_notes = outcome_notes
    if follow_up_due is not None:
        delivery.follow_up_due = follow_up_due
    return _moved(ctx, delivery, status, outcome_notes)


def cancel(ctx: Ctx, delivery_id: int, *, reason: str = "") -> Delivery:
    ctx.require(Permission.WRITE)
    delivery = _repo(ctx).get(delivery_id, for_update=True)
    return cancel_row(ctx, delivery, reason=reason)


def cancel_row(ctx: Ctx, delivery: Delivery, *, reason: str, record_event: bool = True) -> Delivery:
    status = apply_delivery_action(DeliveryStatus(delivery.status), DeliveryAction.CANCEL)
    delivery.cancel_reason = reason
    return _moved(ctx, delivery, status, reason, record_event=record_event)


def no_show(ctx: Ctx, delivery_id: int, *, note: str = "") -> Delivery:
    ctx.require(Permission.WRITE)
    delivery = _repo(ctx).get(delivery_id, for_update=True)
    status = apply_delivery_action(DeliveryStatus(delivery.status), DeliveryAction.NO_SHOW)
    delivery.outcome_notes = note
    return _moved(ctx, delivery, status, note)


def get_delivery(ctx: Ctx, delivery_id: int) -> Delivery:
    ctx.require(Permission.READ)
    return _repo(ctx).get(delivery_id)


def list_deliveries(
    ctx: Ctx, *, filters: DeliveryFilter, cursor: str | None = None, limit: int = 50
) -> Page:
    ctx.require(Permission.READ)
    check_limit(limit)
    if filters.contact_id is not None:
        ContactRepository(ctx.session, ctx.workspace_id).get(filters.contact_id)
    return page_of(_repo(ctx).page(filters, after=id_cursor(cursor), limit=limit), limit)


# --- what the lifecycle asks of deliveries ---------------------------------------------------


def evidence(ctx: Ctx, delivery_id: int) -> Evidence:
    delivery = _repo(ctx).get(delivery_id)
    moment = evidence_start(delivery.actual_start, delivery.scheduled_start)
    starts_on = (
        moment.astimezone(ZoneInfo(ctx.workspace_timezone)).date() if moment is not None else None
    )
    return Evidence(
        kind=EvidenceKind.DELIVERY,
        id=delivery.id,
        contact_id=delivery.contact_id,
        confirmed=is_evidence(DeliveryStatus(delivery.status)),
        starts_on=starts_on,
    )


def holds_relationship(ctx: Ctx, contact_id: int) -> bool:
    return _repo(ctx).holds_relationship(contact_id, ctx.now)


def on_relationship_ended(ctx: Ctx, contact: Contact, reason: str) -> int:
    """Cancel the contact's requested and future scheduled deliveries; returns how many."""
    count = 0
    for delivery in _repo(ctx).open_of_contact_from(contact.id, ctx.now):
        cancel_row(ctx, delivery, reason=f"relationship ended: {reason}")
        count += 1
    return count


# --- helpers ---------------------------------------------------------------------------------


def _moved(
    ctx: Ctx, delivery: Delivery, status: DeliveryStatus, note: str, *, record_event: bool = True
) -> Delivery:
    delivery.status = status.value
    delivery.updated_at = ctx.now
    ctx.session.flush()
    if record_event:
        _record(ctx, delivery, DELIVERY_EVENTS[status], note)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(
        delivery.contact_id, for_update=True
    )
    if status is DeliveryStatus.DELIVERED:
        done = delivery.actual_end or ctx.now
        if contact.last_service_at is None or done > contact.last_service_at:
            contact.last_service_at = done
        cadence.touch(ctx, contact, done)
    if is_evidence(status):
        _convert_if_confirmed(ctx, contact, delivery)
    activities.refresh_plans(ctx, contact)
    return delivery


def _convert_if_confirmed(ctx: Ctx, contact: Contact, delivery: Delivery) -> None:
    if Stage(contact.stage) is Stage.CLIENT or not is_evidence(DeliveryStatus(delivery.status)):
        return
    lifecycle.become_client(ctx, contact, evidence(ctx, delivery.id))


def _record(
    ctx: Ctx,
    delivery: Delivery,
    event: EventType,
    note: str,
    extra: dict[str, Any] | None = None,
) -> None:
    words = event.value.split(".")[1].replace("_", " ")
    when = (
        f" for {delivery.scheduled_start:%Y-%m-%d %H:%M} UTC"
        if event is EventType.DELIVERY_SCHEDULED and delivery.scheduled_start
        else ""
    )
    timeline.record(
        ctx,
        contact_id=delivery.contact_id,
        type=event,
        subject_type="delivery",
        subject_id=delivery.id,
        occurred_at=delivery.actual_end if event is EventType.DELIVERY_DELIVERED else None,
        summary=f"Delivery {words}: {delivery.title}{when}" + (f" — {note}" if note else ""),
        data={
            "status": delivery.status,
            "service_id": delivery.service_id,
            "note": note,
            "scheduled_start": delivery.scheduled_start.isoformat()
            if delivery.scheduled_start
            else None,
            **(extra or {}),
        },
    )


def _normalized(name: str, value: Any) -> Any:
    if name in {"title", "location", "outcome_notes"}:
        return (value or "").strip()
    if name == "currency" and value:
        return str(value).upper()
    return value


def _refresh_contact(ctx: Ctx, contact_id: int) -> None:
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    activities.refresh_next_activity(ctx, contact)


def _default_minutes(ctx: Ctx, delivery: Delivery) -> int:
    if delivery.service_id is not None:
        service = ServiceRepository(ctx.session, ctx.workspace_id).find(delivery.service_id)
        if service is not None:
            return service.default_duration_minutes
    return 60


def _check_money(price: int | None, currency: str | None, errors: list[FieldError]) -> None:
    if price is not None and price < 0:
        errors.append(FieldError("price_minor", "min", "must not be negative"))
    if currency and not is_currency(currency.upper()):
        errors.append(FieldError("currency", "iso-4217", f"{currency!r} is not a currency"))
    if price is not None and not currency:
        errors.append(FieldError("currency", "required", "a price needs a currency"))


def _refuse_conflict(
    ctx: Ctx,
    assignee: int | None,
    start: datetime,
    end: datetime,
    allow_overlap: bool,
    exclude_id: int | None,
) -> None:
    """A scheduled delivery takes the assignee's time like an appointment does."""
    if allow_overlap or assignee is None:
        return
    booked = _repo(ctx).overlapping(
        assignee_id=assignee, start=start, end=end, exclude_id=exclude_id
    )
    if booked is not None:
        raise Conflict(
            f"The delivery overlaps delivery {booked.id} ({booked.title}); allow overlap to "
            "book it anyway",
            field="scheduled_start",
            conflicting_delivery_id=booked.id,
        )
    clash = ActivityRepository(ctx.session, ctx.workspace_id).overlapping(
        assignee_id=assignee, start=start, end=end, exclude_id=None
    )
    if clash is not None:
        raise Conflict(
            f"The delivery overlaps activity {clash.id} ({clash.title}); allow overlap to book "
            "it anyway",
            field="scheduled_start",
            conflicting_activity_id=clash.id,
        )
