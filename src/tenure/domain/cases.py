"""Support cases: a request for help inside the relationship, and the legal moves of one.

    open ──mark_pending──▶ pending ──resume──▶ open
    open, pending ──resolve──▶ resolved ──close──▶ closed
    resolved, closed ──reopen──▶ open

``pending`` means waiting on someone else (usually the client). Cases never change the
lifecycle stage: support happens inside the relationship.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from tenure.domain.errors import InvalidInput, InvalidTransition
from tenure.domain.events import EventType


class CasePriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class CaseStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class CaseAction(StrEnum):
    MARK_PENDING = "mark_pending"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"


#: The one table of legal case moves.
CASE_MOVES: dict[tuple[CaseStatus, CaseAction], CaseStatus] = {
    (CaseStatus.OPEN, CaseAction.MARK_PENDING): CaseStatus.PENDING,
    (CaseStatus.PENDING, CaseAction.RESUME): CaseStatus.OPEN,
    (CaseStatus.OPEN, CaseAction.RESOLVE): CaseStatus.RESOLVED,
    (CaseStatus.PENDING, CaseAction.RESOLVE): CaseStatus.RESOLVED,
    (CaseStatus.RESOLVED, CaseAction.CLOSE): CaseStatus.CLOSED,
    (CaseStatus.RESOLVED, CaseAction.REOPEN): CaseStatus.OPEN,
    (CaseStatus.CLOSED, CaseAction.REOPEN): CaseStatus.OPEN,
}

#: The timeline event each move appends (a new case appends ``case.opened``).
CASE_EVENTS: dict[CaseAction, EventType] = {
    CaseAction.MARK_PENDING: EventType.CASE_PENDING,
    CaseAction.RESUME: EventType.CASE_RESUMED,
    CaseAction.RESOLVE: EventType.CASE_RESOLVED,
    CaseAction.CLOSE: EventType.CASE_CLOSED,
    CaseAction.REOPEN: EventType.CASE_REOPENED,
}

#: Highest first when sorting a queue.
PRIORITY_RANK: dict[CasePriority, int] = {
    CasePriority.LOW: 0,
    CasePriority.NORMAL: 1,
    CasePriority.HIGH: 2,
    CasePriority.URGENT: 3,
}

#: Cases someone still has to work on or wait for.
ACTIVE_STATUSES = frozenset({CaseStatus.OPEN, CaseStatus.PENDING})
#: Cases whose problem is solved.
DONE_STATUSES = frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED})


def can_case(status: CaseStatus, action: CaseAction) -> bool:
    return (status, action) in CASE_MOVES


def can_mark_pending(status: CaseStatus) -> bool:
    return can_case(status, CaseAction.MARK_PENDING)


def can_resume(status: CaseStatus) -> bool:
    return can_case(status, CaseAction.RESUME)


def can_resolve(status: CaseStatus) -> bool:
    return can_case(status, CaseAction.RESOLVE)


def can_close(status: CaseStatus) -> bool:
    return can_case(status, CaseAction.CLOSE)


def can_reopen(status: CaseStatus) -> bool:
    return can_case(status, CaseAction.REOPEN)


def is_active(status: CaseStatus) -> bool:
    return status in ACTIVE_STATUSES


def apply_case_action(status: CaseStatus, action: CaseAction) -> CaseStatus:
    try:
        return CASE_MOVES[(status, action)]
    except KeyError:
        raise InvalidTransition(
            f"A case that is {status.value} cannot {action.value}",
            status=status.value,
            action=action.value,
        ) from None


def priority_rank(priority: CasePriority) -> int:
    return PRIORITY_RANK[priority]


@dataclass(frozen=True)
class CaseClock:
    """The times a case keeps (aware)."""

    opened_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None

    def response_time(self) -> timedelta | None:
        if self.first_response_at is None:
            return None
        return self.first_response_at - self.opened_at

    def resolution_time(self) -> timedelta | None:
        if self.resolved_at is None:
            return None
        return self.resolved_at - self.opened_at


def record_first_response(clock: CaseClock, at: datetime) -> CaseClock:
    """The first response is kept once: later responses do not move it."""
    if at.tzinfo is None:
        raise InvalidInput.one("first_response_at", "aware", "must carry a UTC offset")
    if at < clock.opened_at:
        raise InvalidInput.one(
            "first_response_at", "after-opened", "must not be before the case was opened"
        )
    if clock.first_response_at is not None:
        return clock
    return replace(clock, first_response_at=at)


def advance_clock(clock: CaseClock, action: CaseAction, now: datetime) -> CaseClock:
    """The times after ``action`` at ``now``.

    Resolving stamps ``resolved_at`` (and counts as the first response if none was recorded);
    closing stamps ``closed_at``; reopening clears both, so the next resolution is timed anew.
    Pending and resume leave the times alone.
    """
    if action is CaseAction.RESOLVE:
        responded = clock.first_response_at if clock.first_response_at is not None else now
        return replace(clock, first_response_at=responded, resolved_at=now, closed_at=None)
    if action is CaseAction.CLOSE:
        return replace(clock, closed_at=now)
    if action is CaseAction.REOPEN:
        return replace(clock, resolved_at=None, closed_at=None)
    return clock
