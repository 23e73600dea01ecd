"""Service deliveries: one unit of service done for a client, and the legal moves of one.

    requested ──schedule──▶ scheduled ──start──▶ in_progress ──deliver──▶ delivered
                            scheduled ──deliver──────────────────────────▶ delivered
    requested, scheduled ──cancel──▶ cancelled
    scheduled ──no_show──▶ no_show

* ``cancel`` is for work that has not begun: from requested or scheduled. Once started, a
  delivery ends as delivered (its outcome notes say how it went).
* ``no_show`` only from scheduled: the client missed an agreed time. A requested delivery has
  no agreed time to miss, and an in-progress one was not missed.
* ``deliver`` also goes straight from scheduled, for work recorded after the fact without
  being started in Tenure.

A scheduled, in-progress or delivered delivery is evidence for becoming a client (in progress
sits between the two confirmed states of the lifecycle, so it keeps counting). An upcoming
scheduled delivery, or one in progress, holds a relationship when its last agreement ends.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from tenure.domain.errors import FieldError, InvalidInput, InvalidTransition
from tenure.domain.events import EventType


class DeliveryStatus(StrEnum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class DeliveryAction(StrEnum):
    SCHEDULE = "schedule"
    START = "start"
    DELIVER = "deliver"
    CANCEL = "cancel"
    NO_SHOW = "no_show"


#: The one table of legal delivery moves.
DELIVERY_MOVES: dict[tuple[DeliveryStatus, DeliveryAction], DeliveryStatus] = {
    (DeliveryStatus.REQUESTED, DeliveryAction.SCHEDULE): DeliveryStatus.SCHEDULED,
    (DeliveryStatus.SCHEDULED, DeliveryAction.START): DeliveryStatus.IN_PROGRESS,
    (DeliveryStatus.SCHEDULED, DeliveryAction.DELIVER): DeliveryStatus.DELIVERED,
    (DeliveryStatus.IN_PROGRESS, DeliveryAction.DELIVER): DeliveryStatus.DELIVERED,
    (DeliveryStatus.REQUESTED, DeliveryAction.CANCEL): DeliveryStatus.CANCELLED,
    (DeliveryStatus.SCHEDULED, DeliveryAction.CANCEL): DeliveryStatus.CANCELLED,
    (DeliveryStatus.SCHEDULED, DeliveryAction.NO_SHOW): DeliveryStatus.NO_SHOW,
}

#: The timeline event recorded when a delivery reaches (or is created in) a status.
DELIVERY_EVENTS: dict[DeliveryStatus, EventType] = {
    DeliveryStatus.REQUESTED: EventType.DELIVERY_REQUESTED,
    DeliveryStatus.SCHEDULED: EventType.DELIVERY_SCHEDULED,
    DeliveryStatus.IN_PROGRESS: EventType.DELIVERY_STARTED,
    DeliveryStatus.DELIVERED: EventType.DELIVERY_DELIVERED,
    DeliveryStatus.CANCELLED: EventType.DELIVERY_CANCELLED,
    DeliveryStatus.NO_SHOW: EventType.DELIVERY_NO_SHOW,
}

#: Confirmed deliveries: evidence for becoming a client.
EVIDENCE_STATUSES = frozenset(
    {DeliveryStatus.SCHEDULED, DeliveryStatus.IN_PROGRESS, DeliveryStatus.DELIVERED}
)
#: Not finished yet: what ending a relationship cancels (if it can still be cancelled).
OPEN_STATUSES = frozenset(
    {DeliveryStatus.REQUESTED, DeliveryStatus.SCHEDULED, DeliveryStatus.IN_PROGRESS}
)
FINAL_STATUSES = frozenset(DeliveryStatus) - OPEN_STATUSES
#: Statuses whose scheduled time may change without a status move.
RESCHEDULABLE_STATUSES = frozenset({DeliveryStatus.SCHEDULED})


def can_delivery(status: DeliveryStatus, action: DeliveryAction) -> bool:
    return (status, action) in DELIVERY_MOVES


def can_schedule(status: DeliveryStatus) -> bool:
    return can_delivery(status, DeliveryAction.SCHEDULE)


def can_start(status: DeliveryStatus) -> bool:
    return can_delivery(status, DeliveryAction.START)


def can_deliver(status: DeliveryStatus) -> bool:
    return can_delivery(status, DeliveryAction.DELIVER)


def can_cancel(status: DeliveryStatus) -> bool:
    return can_delivery(status, DeliveryAction.CANCEL)


def can_mark_no_show(status: DeliveryStatus) -> bool:
    return can_delivery(status, DeliveryAction.NO_SHOW)


def can_reschedule(status: DeliveryStatus) -> bool:
    return status in RESCHEDULABLE_STATUSES


def apply_delivery_action(status: DeliveryStatus, action: DeliveryAction) -> DeliveryStatus:
    try:
        return DELIVERY_MOVES[(status, action)]
    except KeyError:
        raise InvalidTransition(
            f"A delivery that is {status.value} cannot {action.value}",
            status=status.value,
            action=action.value,
        ) from None


def check_reschedule(status: DeliveryStatus) -> None:
    if not can_reschedule(status):
        raise InvalidTransition(
            f"A delivery that is {status.value} cannot be rescheduled",
            status=status.value,
            action="reschedule",
        )


def initial_status(scheduled_start: datetime | None) -> DeliveryStatus:
    """A delivery created with an agreed time is scheduled; without one it is requested."""
    return DeliveryStatus.REQUESTED if scheduled_start is None else DeliveryStatus.SCHEDULED


def is_evidence(status: DeliveryStatus) -> bool:
    return status in EVIDENCE_STATUSES


def is_open(status: DeliveryStatus) -> bool:
    return status in OPEN_STATUSES


def holds_relationship(
    status: DeliveryStatus, scheduled_start: datetime | None, now: datetime
) -> bool:
    """Whether this delivery keeps a relationship alive when its last agreement ends.

    Work in progress does; a scheduled delivery does while its start is still ahead (at or
    after ``now``). A scheduled delivery whose time has passed unrecorded does not.
    """
    if status is DeliveryStatus.IN_PROGRESS:
        return True
    return (
        status is DeliveryStatus.SCHEDULED
        and scheduled_start is not None
        and (scheduled_start >= now)
    )


def evidence_start(
    actual_start: datetime | None, scheduled_start: datetime | None
) -> datetime | None:
    """When the delivery happened (or is to happen): the default start of a client spell."""
    return actual_start if actual_start is not None else scheduled_start


def _span_errors(
    start_name: str, start: datetime | None, end_name: str, end: datetime | None
) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, value in ((start_name, start), (end_name, end)):
        if value is not None and value.tzinfo is None:
            errors.append(FieldError(name, "aware", "must be a date and time with a UTC offset"))
    if errors:
        return errors
    if start is not None and end is not None and end <= start:
        errors.append(FieldError(end_name, "after-start", f"must be after {start_name}"))
    return errors


def check_scheduled_window(scheduled_start: datetime, scheduled_end: datetime) -> None:
    """A scheduled delivery has an agreed start before its end."""
    errors = _span_errors("scheduled_start", scheduled_start, "scheduled_end", scheduled_end)
    if errors:
        raise InvalidInput(errors)


def check_actual_times(
    actual_start: datetime | None, actual_end: datetime | None, *, now: datetime
) -> None:
    """Recorded times are not in the future, and the end comes after the start."""
    errors = _span_errors("actual_start", actual_start, "actual_end", actual_end)
    if not any(e.rule == "aware" for e in errors):
        # Named even when the span is also wrong: a future start is the mistake to report.
        future = [
            FieldError(name, "not-future", "must not be in the future")
            for name, value in (("actual_start", actual_start), ("actual_end", actual_end))
            if value is not None and value > now
        ]
        errors = future + errors
    if errors:
        raise InvalidInput(errors)
