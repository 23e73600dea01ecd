"""Recurring schedules (service plans): create, materialize within a horizon, edit, stop.

Occurrences become concrete activities or deliveries up to a rolling horizon, never unbounded.
Each occurrence is created once: it is unique by (schedule, original local start), so running
``extend`` again adds nothing, and a moved or cancelled occurrence stays as it was edited.
Past occurrences and their history are never rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tenure.db.models import Activity, Contact, Delivery, Schedule
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
    DeliveryRepository,
    ScheduleRepository,
    ServiceRepository,
)
from tenure.domain.access import Permission
from tenure.domain.activities import ActivityKind, ActivityOrigin, ActivityStatus
from tenure.domain.deliveries import DeliveryStatus, is_open
from tenure.domain.errors import FieldError, InvalidInput, InvalidTransition
from tenure.domain.events import EventType
from tenure.domain.recurrence import (
    DEFAULT_HORIZON_DAYS,
    MAX_HORIZON_DAYS,
    Occurrence,
    Recurrence,
    expand,
    is_occurrence,
    localize,
    occurrence_key,
    parse_recurrence,
    split,
)
from tenure.services import activities, deliveries, timeline
from tenure.services.context import Ctx
from tenure.services.members import check_member


class Produces(StrEnum):
    ACTIVITY = "activity"
    DELIVERY = "delivery"


class ScheduleStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"


MAX_DURATION_MINUTES = 24 * 60


def _repo(ctx: Ctx) -> ScheduleRepository:
    return ScheduleRepository(ctx.session, ctx.workspace_id)


def recurrence_of(schedule: Schedule) -> Recurrence:
    return parse_recurrence(
        schedule.rrule,
        dtstart=datetime.fromisoformat(schedule.dtstart_local),
        timezone=schedule.timezone,
        exdates=[datetime.fromisoformat(x) for x in schedule.exdates],
    )


def _store(schedule: Schedule, recurrence: Recurrence) -> None:
    schedule.rrule = recurrence.rrule_text()
    schedule.dtstart_local = recurrence.dtstart.isoformat()
    schedule.timezone = recurrence.timezone
    schedule.exdates = [x.isoformat() for x in recurrence.exdates]


def create_schedule(
    ctx: Ctx,
    contact_id: int,
    *,
    produces: Produces,
    rrule: str,
    dtstart: datetime,
    title: str | None = None,
    timezone: str | None = None,
    activity_kind: ActivityKind | None = None,
    service_id: int | None = None,
    agreement_id: int | None = None,
    assignee_id: int | None = None,
    duration_minutes: int | None = None,
    exdates: Sequence[datetime] = (),
    until: datetime | None = None,
    count: int | None = None,
    location: str = "",
    notes: str = "",
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    split_from_id: int | None = None,
) -> Schedule:
    """A recurring plan for a contact; its first occurrences are materialized at once."""
    ctx.require(Permission.WRITE)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get_writable(contact_id)
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
    if produces is Produces.ACTIVITY and activity_kind is None:
        errors.append(FieldError("activity_kind", "required", "say which kind of activity"))
    name = (title or (service.name if service else "")).strip()
    if not name:
        errors.append(FieldError("title", "required", "give a title or a service"))
    minutes = duration_minutes or (service.default_duration_minutes if service else 60)
    if not 1 <= minutes <= MAX_DURATION_MINUTES:
        errors.append(FieldError("duration_minutes", "range", "between 1 and 1440 minutes"))
    assignee = ctx.user_id if assignee_id is None else assignee_id
    check_member(ctx, assignee, errors)
    tz = timezone or contact.timezone or ctx.workspace_timezone
    recurrence: Recurrence | None = None
    try:
        recurrence = parse_recurrence(
            rrule, dtstart=dtstart, timezone=tz, exdates=exdates, until=until, count=count
        )
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    assert recurrence is not None
    schedule = Schedule(
        contact_id=contact.id,
        agreement_id=agreement_id,
        service_id=service_id,
        produces=produces.value,
        activity_kind=activity_kind.value if activity_kind else None,
        title=name,
        notes=notes,
        assignee_id=assignee,
        location=location.strip(),
        duration_minutes=minutes,
        status=ScheduleStatus.ACTIVE.value,
        split_from_id=split_from_id,
        created_by=ctx.user_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    _store(schedule, recurrence)
    _repo(ctx).add(schedule)
    ctx.session.flush()
    timeline.record(
        ctx,
        contact_id=contact.id,
        type=EventType.SCHEDULE_CREATED,
        subject_type="schedule",
        subject_id=schedule.id,
        summary=f"Recurring {produces.value} planned: {name} ({schedule.rrule})",
        data={
            "rrule": schedule.rrule,
            "dtstart": schedule.dtstart_local,
            "timezone": tz,
            "split_from": split_from_id,
        },
    )
    extend(ctx, schedule, horizon_days=horizon_days)
    return schedule


def extend(ctx: Ctx, schedule: Schedule, *, horizon_days: int = DEFAULT_HORIZON_DAYS) -> int:
    """Materialize the occurrences up to ``now + horizon_days``; returns how many were new."""
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise InvalidInput.one("horizon_days", "range", f"between 1 and {MAX_HORIZON_DAYS}")
    if schedule.status != ScheduleStatus.ACTIVE:
        return 0
    until = ctx.now + timedelta(days=horizon_days)
    start = max(schedule.materialized_until or ctx.now, ctx.now)
    if start >= until:
        return 0
    recurrence = recurrence_of(schedule)
    existing = _existing_keys(ctx, schedule)
    created = 0
    for occurrence in expand(recurrence, start, until):
        key = occurrence.key(schedule.id)
        if key not in existing:
            _materialize(ctx, schedule, occurrence, key)
            existing.add(key)
            created += 1
    schedule.materialized_until = until
    ctx.session.flush()
    return created


def extend_all(ctx: Ctx, *, horizon_days: int = DEFAULT_HORIZON_DAYS) -> dict[str, int]:
    """Extend every active schedule of the workspace (CLI and periodic job)."""
    ctx.require(Permission.WRITE)
    until = ctx.now + timedelta(days=horizon_days)
    schedules = _repo(ctx).active_needing_extension(until)
    created = sum(extend(ctx, s, horizon_days=horizon_days) for s in schedules)
    return {"schedules": len(schedules), "occurrences": created}


def extend_batch(
    ctx: Ctx, *, horizon_days: int, after_id: int, limit: int
) -> tuple[dict[str, int], int | None]:
    """One bounded slice of ``extend_all`` (the periodic job): the schedules after ``after_id``
    by id, at most ``limit``; returns the counts and the cursor to continue from (None: done)."""
    ctx.require(Permission.WRITE)
    until = ctx.now + timedelta(days=horizon_days)
    batch = _repo(ctx).active_needing_extension(until, after_id=after_id, limit=limit)
    created = sum(extend(ctx, s, horizon_days=horizon_days) for s in batch)
    more = batch[-1].id if len(batch) == limit else None
    return {"schedules": len(batch), "occurrences": created}, more


@dataclass(frozen=True)
class OccurrenceView:
    schedule_id: int
    key: str
    local_start: datetime
    start: datetime
    activity: Activity | None
    delivery: Delivery | None


def occurrences(
    ctx: Ctx, schedule_id: int, *, start: datetime, end: datetime
) -> list[OccurrenceView]:
    """The rule's occurrences in a window with what was materialized for each."""
    ctx.require(Permission.READ)
    schedule = _repo(ctx).get(schedule_id)
    if end <= start or end - start > timedelta(days=MAX_HORIZON_DAYS):
        raise InvalidInput.one("end", "range", "end must follow start, within ten years")
    rows = _rows_by_key(ctx, schedule)
    out = []
    for occ in expand(recurrence_of(schedule), start, end):
        key = occ.key(schedule.id)
        row = rows.get(key)
        out.append(
            OccurrenceView(
                schedule.id,
                key,
                occ.local_start,
                occ.start,
                row if isinstance(row, Activity) else None,
                row if isinstance(row, Delivery) else None,
            )
        )
    return out


def cancel_occurrence(
    ctx: Ctx, schedule_id: int, *, local_start: datetime, reason: str = ""
) -> Schedule:
    """Cancel one occurrence: remembered as an EXDATE, and its activity/delivery cancelled."""
    ctx.require(Permission.WRITE)
    schedule = _repo(ctx).get(schedule_id, for_update=True)
    recurrence = recurrence_of(schedule)
    _store(schedule, recurrence.with_exdate(local_start))
    row = _rows_by_key(ctx, schedule).get(occurrence_key(schedule.id, local_start))
    note = reason or "occurrence cancelled"
    if isinstance(row, Activity) and row.status == ActivityStatus.OPEN:
        activities.cancel(ctx, row, reason=note)
    elif isinstance(row, Delivery) and is_open(DeliveryStatus(row.status)):
        deliveries.cancel_row(ctx, row, reason=note)
    schedule.updated_at = ctx.now
    ctx.session.flush()
    return schedule


def move_occurrence(
    ctx: Ctx,
    schedule_id: int,
    *,
    local_start: datetime,
    new_start: datetime,
    new_end: datetime | None = None,
    allow_overlap: bool = False,
) -> Activity | Delivery:
    """Move one occurrence (materializing it first if it lies beyond the horizon)."""
    ctx.require(Permission.WRITE)
    schedule = _repo(ctx).get(schedule_id, for_update=True)
    recurrence = recurrence_of(schedule)
    if not is_occurrence(recurrence, local_start):
        raise InvalidInput.one(
            "local_start",
            "not-an-occurrence",
            f"{local_start.isoformat()} is not an occurrence of this schedule",
        )
    key = occurrence_key(schedule.id, local_start)
    row = _rows_by_key(ctx, schedule).get(key)
    if row is None:
        occurrence = Occurrence(localize(local_start, recurrence.zone), local_start)
        row = _materialize(ctx, schedule, occurrence, key)
    end = new_end or new_start + timedelta(minutes=schedule.duration_minutes)
    if isinstance(row, Activity):
        timed = row.start_at is not None
        changes: dict[str, Any] = (
            {"start_at": new_start, "end_at": end} if timed else {"due_at": new_start}
        )
        return activities.update_activity(
            ctx,
            row.id,
            expected_version=row.version,
            changes={**changes, "allow_overlap": allow_overlap},
        )
    return deliveries.update_delivery(
        ctx,
        row.id,
        expected_version=row.version,
        changes={
            "scheduled_start": new_start,
            "scheduled_end": end,
            "allow_overlap": allow_overlap,
        },
    )


def split_schedule(
    ctx: Ctx,
    schedule_id: int,
    *,
    at_local: datetime,
    changes: Mapping[str, Any],
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> Schedule:
    """ "This and following": the schedule ends before ``at_local``; a new one, with the
    changes, takes over from there. Earlier occurrences are untouched."""
    ctx.require(Permission.WRITE)
    allowed = {
        "rrule",
        "dtstart",
        "title",
        "assignee_id",
        "duration_minutes",
        "location",
        "notes",
        "timezone",
    }
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise InvalidInput([FieldError(n, "read-only", "cannot be changed") for n in unknown])
    schedule = _repo(ctx).get(schedule_id, for_update=True)
    if schedule.status != ScheduleStatus.ACTIVE:
        raise InvalidTransition("A stopped schedule cannot change", status=schedule.status)
    before, after = split(recurrence_of(schedule), at_local)
    cut = localize(after.dtstart, after.zone)
    if cut < ctx.now:
        # Cutting in the past would cancel occurrences that are already history.
        raise InvalidInput.one(
            "at", "not-past", "changes apply from an occurrence that is still ahead"
        )
    replaced = _cancel_future(ctx, schedule, cut, reason="replaced by a changed schedule")
    if before is None:
        schedule.status = ScheduleStatus.STOPPED.value
        schedule.stopped_at = ctx.now
        schedule.stop_reason = "replaced by a changed schedule"
    else:
        _store(schedule, before)
    schedule.updated_at = ctx.now
    ctx.session.flush()
    new = create_schedule(
        ctx,
        schedule.contact_id,
        produces=Produces(schedule.produces),
        rrule=changes.get("rrule") or after.rule,
        dtstart=changes.get("dtstart") or after.dtstart,
        count=after.count if not changes.get("rrule") else None,
        until=after.until if not changes.get("rrule") else None,
        exdates=after.exdates if not (changes.get("rrule") or changes.get("dtstart")) else (),
        title=changes.get("title") or schedule.title,
        timezone=changes.get("timezone") or schedule.timezone,
        activity_kind=ActivityKind(schedule.activity_kind) if schedule.activity_kind else None,
        service_id=schedule.service_id,
        agreement_id=schedule.agreement_id,
        assignee_id=changes.get("assignee_id", schedule.assignee_id),
        duration_minutes=changes.get("duration_minutes") or schedule.duration_minutes,
        location=changes.get("location", schedule.location) or "",
        notes=changes.get("notes", schedule.notes) or "",
        horizon_days=horizon_days,
        split_from_id=schedule.id,
    )
    timeline.record(
        ctx,
        contact_id=schedule.contact_id,
        type=EventType.SCHEDULE_CHANGED,
        subject_type="schedule",
        subject_id=schedule.id,
        summary=f"{schedule.title}: changed from {after.dtstart:%Y-%m-%d %H:%M} on "
        f"(schedule {new.id}); {replaced} planned occurrences replaced",
        data={
            "new_schedule_id": new.id,
            "at": after.dtstart.isoformat(),
            "changed": sorted(changes),
        },
    )
    return new


def stop(ctx: Ctx, schedule_id: int, *, reason: str = "") -> Schedule:
    ctx.require(Permission.WRITE)
    schedule = _repo(ctx).get(schedule_id, for_update=True)
    stop_row(ctx, schedule, reason=reason or "stopped by hand")
    return schedule


def stop_row(ctx: Ctx, schedule: Schedule, *, reason: str) -> int:
    """Stop a schedule: its future open occurrences are cancelled, one event says so."""
    if schedule.status != ScheduleStatus.ACTIVE:
        raise InvalidTransition("The schedule is already stopped", status=schedule.status)
    cancelled = _cancel_future(ctx, schedule, ctx.now, reason=reason)
    schedule.status = ScheduleStatus.STOPPED.value
    schedule.stopped_at = ctx.now
    schedule.stop_reason = reason
    schedule.updated_at = ctx.now
    ctx.session.flush()
    timeline.record(
        ctx,
        contact_id=schedule.contact_id,
        type=EventType.SCHEDULE_STOPPED,
        subject_type="schedule",
        subject_id=schedule.id,
        summary=f"{schedule.title} stopped: {reason}; {cancelled} future occurrences cancelled",
        data={"reason": reason, "cancelled": cancelled},
    )
    return cancelled


def on_relationship_ended(ctx: Ctx, contact: Contact, reason: str) -> int:
    schedules = _repo(ctx).active_of_contact(contact.id)
    for schedule in schedules:
        stop_row(ctx, schedule, reason=f"relationship ended: {reason}")
    return len(schedules)


def on_agreement_ended(ctx: Ctx, contact_id: int, agreement_id: int, reason: str) -> int:
    schedules = _repo(ctx).active_of_contact(contact_id, agreement_id=agreement_id)
    for schedule in schedules:
        stop_row(ctx, schedule, reason=f"agreement ended: {reason}")
    return len(schedules)


def get_schedule(ctx: Ctx, schedule_id: int) -> Schedule:
    ctx.require(Permission.READ)
    return _repo(ctx).get(schedule_id)


def list_schedules(
    ctx: Ctx,
    *,
    contact_id: int | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    ctx.require(Permission.READ)
    check_limit(limit)
    if contact_id is not None:
        ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    if status and status not in {s.value for s in ScheduleStatus}:
        raise InvalidInput.one("status", "choice", "active or stopped")
    return page_of(
        _repo(ctx).page(contact_id=contact_id, status=status, after=id_cursor(cursor), limit=limit),
        limit,
    )


# --- helpers ---------------------------------------------------------------------------------


def _existing_keys(ctx: Ctx, schedule: Schedule) -> set[str]:
    if schedule.produces == Produces.ACTIVITY:
        return ActivityRepository(ctx.session, ctx.workspace_id).occurrence_keys(schedule.id)
    return DeliveryRepository(ctx.session, ctx.workspace_id).occurrence_keys(schedule.id)


def _rows_by_key(ctx: Ctx, schedule: Schedule) -> dict[str, Activity | Delivery]:
    rows: Sequence[Activity | Delivery]
    if schedule.produces == Produces.ACTIVITY:
        rows = ActivityRepository(ctx.session, ctx.workspace_id).of_schedule(schedule.id)
    else:
        rows = DeliveryRepository(ctx.session, ctx.workspace_id).of_schedule(schedule.id)
    return {row.occurrence_key: row for row in rows if row.occurrence_key}


def _materialize(
    ctx: Ctx, schedule: Schedule, occurrence: Occurrence, key: str
) -> Activity | Delivery:
    end = occurrence.start + timedelta(minutes=schedule.duration_minutes)
    if schedule.produces == Produces.ACTIVITY:
        kind = ActivityKind(schedule.activity_kind or "task")
        timed = kind is not ActivityKind.TASK
        return activities.create_activity(
            ctx,
            kind=kind,
            title=schedule.title,
            contact_id=schedule.contact_id,
            assignee_id=schedule.assignee_id,
            due_at=None if timed else occurrence.start,
            start_at=occurrence.start if timed else None,
            end_at=end if timed else None,
            timezone=schedule.timezone,
            location=schedule.location,
            notes=schedule.notes,
            allow_overlap=True,
            origin=ActivityOrigin.SCHEDULE,
            schedule_id=schedule.id,
            occurrence_key=key,
            record_event=False,
        )
    return deliveries.create_delivery(
        ctx,
        schedule.contact_id,
        service_id=schedule.service_id,
        agreement_id=schedule.agreement_id,
        assignee_id=schedule.assignee_id,
        title=schedule.title,
        scheduled_start=occurrence.start,
        scheduled_end=end,
        timezone=schedule.timezone,
        location=schedule.location,
        allow_overlap=True,
        origin=ActivityOrigin.SCHEDULE,
        schedule_id=schedule.id,
        occurrence_key=key,
        convert=False,
    )


def _cancel_future(ctx: Ctx, schedule: Schedule, start: datetime, *, reason: str) -> int:
    """Cancel the schedule's open occurrences from ``start`` on (no event each)."""
    count = 0
    if schedule.produces == Produces.ACTIVITY:
        for activity in ActivityRepository(ctx.session, ctx.workspace_id).of_schedule_from(
            schedule.id, start
        ):
            if activity.status == ActivityStatus.OPEN:
                activities.cancel(ctx, activity, reason=reason, record_event=False)
                count += 1
        if count:
            # Cancelling without an event each skips the refresh each move does.
            contact = ContactRepository(ctx.session, ctx.workspace_id).get(schedule.contact_id)
            activities.refresh_next_activity(ctx, contact)
    else:
        for delivery in DeliveryRepository(ctx.session, ctx.workspace_id).of_schedule_from(
            schedule.id, start
        ):
            if delivery.status in (DeliveryStatus.REQUESTED, DeliveryStatus.SCHEDULED):
                deliveries.cancel_row(ctx, delivery, reason=reason, record_event=False)
                count += 1
    return count
