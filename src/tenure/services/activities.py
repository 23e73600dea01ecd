"""Activities (tasks, calls, meetings, appointments, visits, reviews) and the agenda."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenure.db.models import Activity, Contact
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.pagination import (
    Page,
    check_limit,
    decode_cursor,
    page_of,
)
from tenure.db.repositories.scheduling import (
    ActivityFilter,
    ActivityRepository,
    DeliveryRepository,
)
from tenure.domain.access import Permission
from tenure.domain.activities import (
    ActivityAction,
    ActivityKind,
    ActivityOrigin,
    ActivityStatus,
    Agenda,
    Slot,
    agenda_window,
    apply_activity_action,
    bucket_agenda,
    check_conflict,
    check_reschedule,
    check_timing,
    interaction_channel,
    needs_conflict_check,
)
from tenure.domain.contacts import is_valid_timezone
from tenure.domain.errors import Conflict, FieldError, InvalidInput, PreconditionFailed
from tenure.domain.events import EventType
from tenure.services import cadence, health, interactions, timeline
from tenure.services.context import Ctx
from tenure.services.members import check_member

#: How many items one agenda bucket shows at most (the lists link to the full ones).
AGENDA_LIMIT = 200


def _repo(ctx: Ctx) -> ActivityRepository:
    return ActivityRepository(ctx.session, ctx.workspace_id)


def create_activity(
    ctx: Ctx,
    *,
    kind: ActivityKind,
    title: str,
    contact_id: int | None = None,
    assignee_id: int | None = None,
    due_at: datetime | None = None,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    timezone: str | None = None,
    location: str = "",
    notes: str = "",
    allow_overlap: bool = False,
    origin: ActivityOrigin = ActivityOrigin.MANUAL,
    schedule_id: int | None = None,
    occurrence_key: str | None = None,
    record_event: bool = True,
) -> Activity:
    ctx.require(Permission.WRITE)
    contact = _contact(ctx, contact_id, writable=True)
    errors: list[FieldError] = []
    if not title.strip():
        errors.append(FieldError("title", "required", "an activity needs a title"))
    tz = timezone or (contact.timezone if contact else None) or ctx.workspace_timezone
    if not is_valid_timezone(tz):
        errors.append(FieldError("timezone", "timezone", f"{tz!r} is not an IANA time zone"))
    assignee = ctx.user_id if assignee_id is None else assignee_id
    check_member(ctx, assignee, errors)
    if errors:
        raise InvalidInput(errors)
    timing = check_timing(kind, due_at=due_at, start_at=start_at, end_at=end_at)
    if timing.is_timed and assignee is not None:
        _refuse_conflict(ctx, kind, assignee, timing.start_at, timing.end_at, allow_overlap, None)
    activity = Activity(
        contact_id=contact.id if contact else None,
        kind=kind.value,
        title=title.strip(),
        notes=notes,
        assignee_id=assignee,
        at=timing.at,
        due_at=timing.due_at,
        start_at=timing.start_at,
        end_at=timing.end_at,
        timezone=tz,
        location=location.strip(),
        status=ActivityStatus.OPEN.value,
        origin=origin.value,
        schedule_id=schedule_id,
        occurrence_key=occurrence_key,
        created_by=ctx.user_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    _repo(ctx).add(activity)
    ctx.session.flush()
    if contact is not None:
        if record_event:
            timeline.record(
                ctx,
                contact_id=contact.id,
                type=EventType.ACTIVITY_CREATED,
                subject_type="activity",
                subject_id=activity.id,
                summary=f"{kind.value.capitalize()} planned: {activity.title}",
                data={"kind": kind.value, "at": activity.at.isoformat(), "origin": origin.value},
            )
        refresh_next_activity(ctx, contact)
    return activity


def update_activity(
    ctx: Ctx, activity_id: int, *, expected_version: int, changes: Mapping[str, Any]
) -> Activity:
    """Change an open activity: title, notes, location, assignee, or its time (a reschedule)."""
    ctx.require(Permission.WRITE)
    allowed = {
        "title",
        "notes",
        "location",
        "assignee_id",
        "due_at",
        "start_at",
        "end_at",
        "timezone",
        "allow_overlap",
    }
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise InvalidInput([FieldError(n, "read-only", "cannot be changed") for n in unknown])
    activity = _repo(ctx).get(activity_id, for_update=True)
    # An edit is new words: none on an erased contact's records.
    contact = _contact(ctx, activity.contact_id, writable=True)
    _check_version(activity.version, expected_version, "activity", activity_id)
    check_reschedule(ActivityStatus(activity.status))
    errors: list[FieldError] = []
    if "title" in changes and not (changes["title"] or "").strip():
        errors.append(FieldError("title", "required", "an activity needs a title"))
    if "timezone" in changes and not is_valid_timezone(changes["timezone"] or ""):
        errors.append(FieldError("timezone", "timezone", "not an IANA time zone"))
    assignee = changes.get("assignee_id", activity.assignee_id)
    if "assignee_id" in changes:
        check_member(ctx, assignee, errors)
    if errors:
        raise InvalidInput(errors)
    kind = ActivityKind(activity.kind)
    timing = check_timing(
        kind,
        due_at=changes.get("due_at", activity.due_at),
        start_at=changes.get("start_at", activity.start_at),
        end_at=changes.get("end_at", activity.end_at),
    )
    moved = timing.at != activity.at or timing.end_at != activity.end_at
    if timing.is_timed and assignee is not None and (moved or "assignee_id" in changes):
        _refuse_conflict(
            ctx,
            kind,
            assignee,
            timing.start_at,
            timing.end_at,
            bool(changes.get("allow_overlap")),
            activity.id,
        )
    before = activity.at
    for name in ("title", "notes", "location", "timezone"):
        if name in changes:
            setattr(
                activity,
                name,
                (changes[name] or "").strip() if name != "notes" else changes[name] or "",
            )
    activity.assignee_id = assignee
    activity.due_at, activity.start_at, activity.end_at = (
        timing.due_at,
        timing.start_at,
        timing.end_at,
    )
    activity.at = timing.at
    activity.updated_at = ctx.now
    ctx.session.flush()
    if contact is not None:
        if moved:
            timeline.record(
                ctx,
                contact_id=contact.id,
                type=EventType.ACTIVITY_RESCHEDULED,
                subject_type="activity",
                subject_id=activity.id,
                summary=f"{activity.title} moved to {activity.at:%Y-%m-%d %H:%M} UTC",
                data={"from": before.isoformat(), "to": activity.at.isoformat()},
            )
        refresh_next_activity(ctx, contact)
    return activity


def complete_activity(
    ctx: Ctx,
    activity_id: int,
    *,
    note: str = "",
    log_interaction: bool = False,
    interaction_subject: str | None = None,
    interaction_body: str | None = None,
    occurred_at: datetime | None = None,
) -> Activity:
    """open → done; a call, meeting or visit can log its interaction in the same step."""
    ctx.require(Permission.WRITE)
    activity = _repo(ctx).get(activity_id, for_update=True)
    activity.status = apply_activity_action(
        ActivityStatus(activity.status), ActivityAction.COMPLETE
    ).value
    activity.completed_at = ctx.now
    activity.completion_note = note
    activity.updated_at = ctx.now
    kind = ActivityKind(activity.kind)
    channel = interaction_channel(kind)
    if log_interaction:
        if channel is None or activity.contact_id is None:
            raise InvalidInput.one(
                "log_interaction",
                "channel",
                "only a call, meeting or visit with a contact can log an interaction",
            )
        logged = interactions.log_interaction(
            ctx,
            activity.contact_id,
            channel=interactions.Channel(channel),
            direction=interactions.Direction.OUTBOUND,
            occurred_at=min(occurred_at or activity.start_at or ctx.now, ctx.now),
            subject=interaction_subject if interaction_subject is not None else activity.title,
            body=interaction_body if interaction_body is not None else note,
        )
        activity.interaction_id = logged.id
    ctx.session.flush()
    contact = _contact(ctx, activity.contact_id)
    if contact is not None and channel is not None:
        cadence.touch(ctx, contact, ctx.now)
    _record_move(ctx, activity, EventType.ACTIVITY_COMPLETED, "done", note)
    return activity


def cancel_activity(ctx: Ctx, activity_id: int, *, reason: str = "") -> Activity:
    ctx.require(Permission.WRITE)
    activity = _repo(ctx).get(activity_id, for_update=True)
    cancel(ctx, activity, reason=reason)
    return activity


def cancel(ctx: Ctx, activity: Activity, *, reason: str, record_event: bool = True) -> None:
    """open → cancelled (also used when a relationship ends or a schedule stops)."""
    activity.status = apply_activity_action(
        ActivityStatus(activity.status), ActivityAction.CANCEL
    ).value
    activity.completion_note = reason
    activity.completed_at = ctx.now
    activity.updated_at = ctx.now
    ctx.session.flush()
    if record_event:
        _record_move(ctx, activity, EventType.ACTIVITY_CANCELLED, "cancelled", reason)


def get_activity(ctx: Ctx, activity_id: int) -> Activity:
    ctx.require(Permission.READ)
    return _repo(ctx).get(activity_id)


def list_activities(
    ctx: Ctx, *, filters: ActivityFilter, cursor: str | None = None, limit: int = 50
) -> Page:
    ctx.require(Permission.READ)
    check_limit(limit)
    if filters.contact_id is not None:
        ContactRepository(ctx.session, ctx.workspace_id).get(filters.contact_id)
    after = None
    if cursor:
        raw = decode_cursor(cursor, arity=2)
        try:
            after = [datetime.fromisoformat(raw[0]), int(raw[1])]
        except (TypeError, ValueError):
            raise InvalidInput.one("cursor", "cursor", "not a cursor this list gave out") from None
    rows = _repo(ctx).page(filters, after=after, limit=limit)
    return page_of(rows, limit, key=lambda a: [a.at.isoformat(), a.id])


@dataclass(frozen=True)
class AgendaView:
    timezone: str
    activities: Agenda[Activity]
    deliveries: Agenda[Any]


def agenda(
    ctx: Ctx, *, assignee_id: int | None, timezone: str | None = None, days: int = 7
) -> AgendaView:
    """Overdue, today and upcoming open activities and scheduled deliveries, by the viewer's
    local day (per member, or the whole workspace when ``assignee_id`` is None)."""
    ctx.require(Permission.READ)
    tz = timezone or ctx.workspace_timezone
    window = agenda_window(tz, ctx.now, days)
    rows = _repo(ctx).open_until(
        assignee_id=assignee_id, until=window.upcoming_end, limit=AGENDA_LIMIT * 3
    )
    # A scheduled delivery whose day passed without being recorded is overdue, like an open
    # activity: no lower bound.
    deliveries = DeliveryRepository(ctx.session, ctx.workspace_id).due_within(
        assignee_id=assignee_id,
        start=None,
        end=window.upcoming_end,
        limit=AGENDA_LIMIT,
    )
    return AgendaView(
        timezone=tz,
        activities=bucket_agenda(rows, when=lambda a: a.at, timezone=tz, now=ctx.now, days=days),
        deliveries=bucket_agenda(
            deliveries, when=lambda d: d.scheduled_start, timezone=tz, now=ctx.now, days=days
        ),
    )


def on_relationship_ended(ctx: Ctx, contact: Contact, reason: str) -> int:
    """Cancel the contact's open activities from now on; returns how many."""
    count = 0
    for activity in _repo(ctx).open_of_contact_from(contact.id, ctx.now):
        cancel(ctx, activity, reason=f"relationship ended: {reason}", record_event=False)
        count += 1
    refresh_next_activity(ctx, contact)
    return count


def refresh_next_activity(ctx: Ctx, contact: Contact) -> None:
    """Keep ``contact.next_activity_at`` = the earliest open activity or scheduled delivery."""
    candidates = [
        _repo(ctx).next_open_at(contact.id),
        DeliveryRepository(ctx.session, ctx.workspace_id).next_scheduled_at(contact.id),
    ]
    present = [c for c in candidates if c is not None]
    contact.next_activity_at = min(present) if present else None


def refresh_plans(ctx: Ctx, contact: Contact) -> None:
    """After an activity or a delivery changed: keep the contact's next activity and its health
    current (health counts overdue tasks and planned deliveries, so it follows the plan)."""
    refresh_next_activity(ctx, contact)
    health.recompute(ctx, contact)


# --- helpers ---------------------------------------------------------------------------------


def _contact(ctx: Ctx, contact_id: int | None, *, writable: bool = False) -> Contact | None:
    if contact_id is None:
        return None
    repo = ContactRepository(ctx.session, ctx.workspace_id)
    return repo.get_writable(contact_id) if writable else repo.get(contact_id)


def _check_version(current: int, expected: int, noun: str, id_: int) -> None:
    if current != expected:
        raise PreconditionFailed(
            f"{noun} {id_} is at version {current}, not {expected}", current_version=current
        )


def _refuse_conflict(
    ctx: Ctx,
    kind: ActivityKind,
    assignee: int,
    start: datetime | None,
    end: datetime | None,
    allow_overlap: bool,
    exclude_id: int | None,
) -> None:
    """An appointment or visit may not overlap the assignee's other timed activities or
    scheduled deliveries (they share one calendar), unless overlap is allowed."""
    if allow_overlap or not needs_conflict_check(kind) or start is None or end is None:
        return
    clash = _repo(ctx).overlapping(
        assignee_id=assignee, start=start, end=end, exclude_id=exclude_id
    )
    if clash is not None and clash.start_at and clash.end_at:
        check_conflict(
            kind, start, end, [Slot(clash.id, clash.start_at, clash.end_at, clash.title)]
        )
    booked = DeliveryRepository(ctx.session, ctx.workspace_id).overlapping(
        assignee_id=assignee, start=start, end=end, exclude_id=None
    )
    if booked is not None:
        raise Conflict(
            f"The {kind.value} overlaps delivery {booked.id} ({booked.title}); "
            "allow overlap to book it anyway",
            field="start_at",
            conflicting_delivery_id=booked.id,
        )


def _record_move(ctx: Ctx, activity: Activity, event: EventType, verb: str, note: str) -> None:
    contact = _contact(ctx, activity.contact_id)
    if contact is None:
        return
    timeline.record(
        ctx,
        contact_id=contact.id,
        type=event,
        subject_type="activity",
        subject_id=activity.id,
        summary=f"{activity.kind.capitalize()} {verb}: {activity.title}",
        data={"kind": activity.kind, "note": note, "interaction_id": activity.interaction_id},
    )
    refresh_plans(ctx, contact)
