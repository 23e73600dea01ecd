"""Activities: what someone has to do, its legal status moves, timing, conflicts and the agenda.

    open ──complete──▶ done
      └────cancel───▶ cancelled

A task has a due time; a meeting, appointment or visit has a start before its end; a call or a
review has either. An appointment or visit may not overlap another timed activity of the same
assignee unless the request allows it (``check_conflict``). The agenda splits activities by the
viewer's local day into overdue, today and upcoming (``bucket_agenda``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

from tenure.domain.errors import Conflict, FieldError, InvalidInput, InvalidTransition
from tenure.domain.events import EventType
from tenure.domain.recurrence import load_zone, localize


class ActivityKind(StrEnum):
    TASK = "task"
    CALL = "call"
    MEETING = "meeting"
    APPOINTMENT = "appointment"
    VISIT = "visit"
    REVIEW = "review"


class ActivityStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class ActivityAction(StrEnum):
    COMPLETE = "complete"
    CANCEL = "cancel"


class ActivityOrigin(StrEnum):
    """Where an activity came from (recorded on it)."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    AUTOMATION = "automation"


#: The one table of legal activity moves.
ACTIVITY_MOVES: dict[tuple[ActivityStatus, ActivityAction], ActivityStatus] = {
    (ActivityStatus.OPEN, ActivityAction.COMPLETE): ActivityStatus.DONE,
    (ActivityStatus.OPEN, ActivityAction.CANCEL): ActivityStatus.CANCELLED,
}

#: The timeline event each move appends.
ACTIVITY_EVENTS: dict[ActivityAction, EventType] = {
    ActivityAction.COMPLETE: EventType.ACTIVITY_COMPLETED,
    ActivityAction.CANCEL: EventType.ACTIVITY_CANCELLED,
}

#: Kinds that have a due time only.
DUE_KINDS = frozenset({ActivityKind.TASK})
#: Kinds that have a start and an end.
TIMED_KINDS = frozenset({ActivityKind.MEETING, ActivityKind.APPOINTMENT, ActivityKind.VISIT})
#: Kinds that have either a due time or a start and an end.
FLEXIBLE_KINDS = frozenset({ActivityKind.CALL, ActivityKind.REVIEW})
#: Kinds refused when they overlap another timed activity of the same assignee.
CONFLICT_CHECKED_KINDS = frozenset({ActivityKind.APPOINTMENT, ActivityKind.VISIT})
#: The interaction channel a completed activity of this kind can log in the same step.
INTERACTION_CHANNELS: dict[ActivityKind, str] = {
    ActivityKind.CALL: "call",
    ActivityKind.MEETING: "meeting",
    ActivityKind.VISIT: "visit",
}

MAX_AGENDA_DAYS = 366


def can_activity(status: ActivityStatus, action: ActivityAction) -> bool:
    return (status, action) in ACTIVITY_MOVES


def can_complete(status: ActivityStatus) -> bool:
    return can_activity(status, ActivityAction.COMPLETE)


def can_cancel(status: ActivityStatus) -> bool:
    return can_activity(status, ActivityAction.CANCEL)


def can_reschedule(status: ActivityStatus) -> bool:
    """Only open activities move in time; done and cancelled ones are history."""
    return status is ActivityStatus.OPEN


def apply_activity_action(status: ActivityStatus, action: ActivityAction) -> ActivityStatus:
    try:
        return ACTIVITY_MOVES[(status, action)]
    except KeyError:
        raise InvalidTransition(
            f"An activity that is {status.value} cannot {action.value}",
            status=status.value,
            action=action.value,
        ) from None


def check_reschedule(status: ActivityStatus) -> None:
    if not can_reschedule(status):
        raise InvalidTransition(
            f"An activity that is {status.value} cannot be rescheduled",
            status=status.value,
            action="reschedule",
        )


def interaction_channel(kind: ActivityKind) -> str | None:
    """The channel of the interaction completing this activity can log (None: none)."""
    return INTERACTION_CHANNELS.get(kind)


# --- timing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """When an activity happens: a due time, or a start and an end (all aware)."""

    due_at: datetime | None
    start_at: datetime | None
    end_at: datetime | None

    @property
    def is_timed(self) -> bool:
        return self.start_at is not None

    @property
    def at(self) -> datetime:
        """The time the agenda files it under: its start, else its due time."""
        moment = self.start_at if self.start_at is not None else self.due_at
        assert moment is not None
        return moment


def check_timing(
    kind: ActivityKind,
    *,
    due_at: datetime | None = None,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
) -> Timing:
    """Validate the times an activity of ``kind`` has; InvalidInput lists every bad field."""
    errors: list[FieldError] = []
    for name, value in (("due_at", due_at), ("start_at", start_at), ("end_at", end_at)):
        if value is not None and value.tzinfo is None:
            errors.append(FieldError(name, "aware", "must be a date and time with a UTC offset"))
    if errors:
        raise InvalidInput(errors)

    timed = start_at is not None or end_at is not None
    if kind in DUE_KINDS:
        if due_at is None:
            errors.append(FieldError("due_at", "required", f"a {kind.value} needs a due time"))
        for name, value in (("start_at", start_at), ("end_at", end_at)):
            if value is not None:
                errors.append(
                    FieldError(name, "not-allowed", f"a {kind.value} has a due time, not {name}")
                )
    elif kind in TIMED_KINDS or timed:
        if due_at is not None:
            errors.append(
                FieldError(
                    "due_at", "not-allowed", f"a timed {kind.value} has a start and end instead"
                )
            )
        if start_at is None:
            errors.append(FieldError("start_at", "required", f"a {kind.value} needs a start"))
        if end_at is None:
            errors.append(FieldError("end_at", "required", f"a {kind.value} needs an end"))
    elif due_at is None:
        errors.append(
            FieldError(
                "due_at", "required", f"a {kind.value} needs a due time or a start and an end"
            )
        )
    if start_at is not None and end_at is not None and end_at <= start_at:
        errors.append(FieldError("end_at", "after-start", "must be after start_at"))
    if errors:
        raise InvalidInput(errors)
    return Timing(due_at, start_at, end_at)


# --- conflicts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """A timed activity already in an assignee's calendar."""

    id: int
    start_at: datetime
    end_at: datetime
    title: str = ""


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Whether two half-open spans ``[start, end)`` share time (back to back does not)."""
    return a_start < b_end and b_start < a_end


def find_conflict(
    start_at: datetime,
    end_at: datetime,
    slots: Iterable[Slot],
    *,
    exclude_id: int | None = None,
) -> Slot | None:
    """The earliest slot overlapping ``[start_at, end_at)`` (``exclude_id``: the one moved)."""
    clashing = [
        slot
        for slot in slots
        if slot.id != exclude_id and overlaps(start_at, end_at, slot.start_at, slot.end_at)
    ]
    return min(clashing, key=lambda slot: (slot.start_at, slot.id), default=None)


def needs_conflict_check(kind: ActivityKind) -> bool:
    return kind in CONFLICT_CHECKED_KINDS


def check_conflict(
    kind: ActivityKind,
    start_at: datetime,
    end_at: datetime,
    slots: Iterable[Slot],
    *,
    allow_overlap: bool = False,
    exclude_id: int | None = None,
) -> None:
    """Refuse an appointment or visit that overlaps another timed activity (unless allowed)."""
    if allow_overlap or not needs_conflict_check(kind):
        return
    clash = find_conflict(start_at, end_at, slots, exclude_id=exclude_id)
    if clash is not None:
        label = f" ({clash.title})" if clash.title else ""
        raise Conflict(
            f"The {kind.value} overlaps activity {clash.id}{label} from "
            f"{clash.start_at.isoformat()} to {clash.end_at.isoformat()}; "
            "allow overlap to book it anyway",
            field="start_at",
            conflicting_activity_id=clash.id,
        )


# --- agenda ----------------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True)
class AgendaWindow:
    """The viewer's today and the instants that bound it and the upcoming range (UTC)."""

    today: date
    #: First instant of today, local: everything before it is overdue.
    today_start: datetime
    #: First instant of tomorrow, local.
    today_end: datetime
    #: First instant after the upcoming range (exclusive).
    upcoming_end: datetime


@dataclass(frozen=True)
class Agenda(Generic[T]):
    overdue: tuple[T, ...]
    today: tuple[T, ...]
    upcoming: tuple[T, ...]


def local_day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The first instant of ``day`` and of the next day in the zone (aware UTC)."""
    zone = load_zone(timezone)
    return (
        localize(datetime.combine(day, time.min), zone),
        localize(datetime.combine(day + timedelta(days=1), time.min), zone),
    )


def agenda_window(timezone: str, now: datetime, days: int = 7) -> AgendaWindow:
    """Today in the viewer's zone, and the ``days`` local days after it as the upcoming range."""
    if now.tzinfo is None:
        raise InvalidInput.one("now", "aware", "must be a date and time with a UTC offset")
    if isinstance(days, bool) or not 0 <= days <= MAX_AGENDA_DAYS:
        raise InvalidInput.one("days", "range", f"must be between 0 and {MAX_AGENDA_DAYS}")
    zone = load_zone(timezone)
    today = now.astimezone(zone).date()
    today_start, today_end = local_day_bounds(today, timezone)
    upcoming_end = localize(datetime.combine(today + timedelta(days=days + 1), time.min), zone)
    return AgendaWindow(today, today_start, today_end, upcoming_end)


def bucket_agenda(
    items: Iterable[T],
    *,
    when: Callable[[T], datetime],
    timezone: str,
    now: datetime,
    days: int = 7,
) -> Agenda[T]:
    """Split items by the viewer's local day of ``when(item)``.

    Overdue: before today. Today: on today's local date (also when its time has passed).
    Upcoming: on one of the ``days`` local dates after today. Later items are left out. Each
    bucket is in time order. Which items count (open ones, one assignee) is the caller's choice.
    """
    window = agenda_window(timezone, now, days)
    overdue: list[tuple[datetime, T]] = []
    today: list[tuple[datetime, T]] = []
    upcoming: list[tuple[datetime, T]] = []
    for item in items:
        moment = when(item)
        if moment.tzinfo is None:
            raise InvalidInput.one("when", "aware", "agenda times must carry a UTC offset")
        if moment < window.today_start:
            overdue.append((moment, item))
        elif moment < window.today_end:
            today.append((moment, item))
        elif moment < window.upcoming_end:
            upcoming.append((moment, item))

    def ordered(bucket: list[tuple[datetime, T]]) -> tuple[T, ...]:
        return tuple(item for _, item in sorted(bucket, key=lambda pair: pair[0]))

    return Agenda(ordered(overdue), ordered(today), ordered(upcoming))
