"""Commitments: promises made to a client, and the legal moves of one.

    open ──keep──▶ kept
    open ──break──▶ broken
    open ──cancel──▶ cancelled

An open commitment past its due date is overdue.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from tenure.domain.errors import InvalidTransition
from tenure.domain.events import EventType


class CommitmentStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class CommitmentAction(StrEnum):
    KEEP = "keep"
    BREAK = "break"
    CANCEL = "cancel"


COMMITMENT_MOVES: dict[tuple[CommitmentStatus, CommitmentAction], CommitmentStatus] = {
    (CommitmentStatus.OPEN, CommitmentAction.KEEP): CommitmentStatus.KEPT,
    (CommitmentStatus.OPEN, CommitmentAction.BREAK): CommitmentStatus.BROKEN,
    (CommitmentStatus.OPEN, CommitmentAction.CANCEL): CommitmentStatus.CANCELLED,
}

COMMITMENT_EVENTS: dict[CommitmentAction, EventType] = {
    CommitmentAction.KEEP: EventType.COMMITMENT_KEPT,
    CommitmentAction.BREAK: EventType.COMMITMENT_BROKEN,
    CommitmentAction.CANCEL: EventType.COMMITMENT_CANCELLED,
}


def can_commitment(status: CommitmentStatus, action: CommitmentAction) -> bool:
    return (status, action) in COMMITMENT_MOVES


def apply_commitment_action(status: CommitmentStatus, action: CommitmentAction) -> CommitmentStatus:
    try:
        return COMMITMENT_MOVES[(status, action)]
    except KeyError:
        raise InvalidTransition(
            f"A commitment that is {status.value} cannot {action.value}",
            status=status.value,
            action=action.value,
        ) from None


def is_overdue(status: CommitmentStatus, due_on: date | None, today: date) -> bool:
    return status is CommitmentStatus.OPEN and due_on is not None and due_on < today
