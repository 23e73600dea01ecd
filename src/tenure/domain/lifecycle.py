"""The client lifecycle: stages, the one table of legal moves, evidence, and tenure arithmetic.

    contact ──convert──▶ client ──end──▶ former_client ──reactivate──▶ client

A move to ``client`` needs confirmed evidence of the same contact (an active agreement, or a
scheduled or delivered service delivery). There is no move back to ``contact``: a former client
is a contact with a past. The list of transitions *is* the relationship's history; the stage,
``client_since`` and tenure are always derivable by replaying it (``replay``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from tenure.domain.errors import (
    EvidenceRequired,
    InvalidEffectiveDate,
    InvalidEvidence,
    InvalidTransition,
)


class Stage(StrEnum):
    CONTACT = "contact"
    CLIENT = "client"
    FORMER_CLIENT = "former_client"


class Move(StrEnum):
    CONVERT = "convert"
    END = "end"
    REACTIVATE = "reactivate"


class EndReason(StrEnum):
    COMPLETED = "completed"
    PRICE = "price"
    SERVICE_QUALITY = "service_quality"
    NO_LONGER_NEEDED = "no_longer_needed"
    COMPETITOR = "competitor"
    MOVED = "moved"
    UNRESPONSIVE = "unresponsive"
    OTHER = "other"
    #: Set by Tenure itself when the last active agreement ended.
    AGREEMENT_ENDED = "agreement_ended"
    #: Set when a contact is merged away or erased (later issues).
    MERGED = "merged"


#: Reasons a person may choose; the others are set by Tenure.
USER_END_REASONS = frozenset(EndReason) - {EndReason.AGREEMENT_ENDED, EndReason.MERGED}


class EvidenceKind(StrEnum):
    AGREEMENT = "agreement"
    DELIVERY = "delivery"


#: The one table of legal moves: (from stage, move) -> to stage.
MOVES: dict[tuple[Stage, Move], Stage] = {
    (Stage.CONTACT, Move.CONVERT): Stage.CLIENT,
    (Stage.CLIENT, Move.END): Stage.FORMER_CLIENT,
    (Stage.FORMER_CLIENT, Move.REACTIVATE): Stage.CLIENT,
}


def can_move(stage: Stage, move: Move) -> bool:
    return (stage, move) in MOVES


def can_become_client(stage: Stage) -> bool:
    return can_move(stage, Move.CONVERT) or can_move(stage, Move.REACTIVATE)


def can_end(stage: Stage) -> bool:
    return can_move(stage, Move.END)


def move_to_client(stage: Stage) -> Move:
    """``convert`` for a plain contact, ``reactivate`` for a former client."""
    return Move.REACTIVATE if stage is Stage.FORMER_CLIENT else Move.CONVERT


def apply_move(stage: Stage, move: Move) -> Stage:
    try:
        return MOVES[(stage, move)]
    except KeyError:
        raise InvalidTransition(
            f"A {stage.value} cannot {move.value}", stage=stage.value, move=move.value
        ) from None


@dataclass(frozen=True)
class Evidence:
    """What a service knows about the proof offered for becoming a client."""

    kind: EvidenceKind
    id: int
    contact_id: int
    confirmed: bool
    #: The agreement's start or the delivery's date: the default effective date.
    starts_on: date | None


def check_evidence(evidence: Evidence | None, *, contact_id: int) -> Evidence:
    if evidence is None:
        raise EvidenceRequired(
            "A contact becomes a client only with evidence: a confirmed agreement "
            "or a scheduled or delivered service delivery"
        )
    if evidence.contact_id != contact_id:
        raise InvalidEvidence(
            f"The {evidence.kind.value} {evidence.id} belongs to another contact",
            evidence_kind=evidence.kind.value,
            evidence_id=evidence.id,
        )
    if not evidence.confirmed:
        what = (
            "agreement is not active (confirm it first)"
            if evidence.kind is EvidenceKind.AGREEMENT
            else "delivery is not scheduled or delivered"
        )
        raise InvalidEvidence(
            f"The {what}", evidence_kind=evidence.kind.value, evidence_id=evidence.id
        )
    return evidence


def check_effective_date(effective_on: date, *, previous: date | None, today: date) -> date:
    """A transition is never in the future and never before the previous one."""
    if effective_on > today:
        raise InvalidEffectiveDate(
            f"The effective date {effective_on} is in the future", field="effective_on"
        )
    if previous is not None and effective_on < previous:
        raise InvalidEffectiveDate(
            f"The effective date {effective_on} is before the previous transition ({previous})",
            field="effective_on",
        )
    return effective_on


def default_effective_date(starts_on: date | None, *, previous: date | None, today: date) -> date:
    """The evidence's start, pulled into the allowed window [previous, today]."""
    candidate = min(starts_on or today, today)
    if previous is not None and candidate < previous:
        candidate = previous
    return candidate


@dataclass(frozen=True)
class TransitionFact:
    """The part of a stored transition that the arithmetic needs."""

    from_stage: Stage
    to_stage: Stage
    effective_on: date


@dataclass(frozen=True)
class Spell:
    """One continuous time as a client; ``ended_on`` is None while it lasts."""

    started_on: date
    ended_on: date | None

    def days(self, today: date) -> int:
        end = self.ended_on if self.ended_on is not None else today
        return max((end - self.started_on).days, 0)


@dataclass(frozen=True)
class Standing:
    """What the transitions say about a contact now."""

    stage: Stage
    spells: tuple[Spell, ...]

    @property
    def client_since(self) -> date | None:
        if self.stage is Stage.CLIENT and self.spells:
            return self.spells[-1].started_on
        return None

    @property
    def closed_days(self) -> int:
        """Days in completed spells (constant until the next transition)."""
        return sum(s.days(s.ended_on) for s in self.spells if s.ended_on is not None)

    def tenure_days(self, today: date) -> int:
        return sum(s.days(today) for s in self.spells)


def replay(transitions: Iterable[TransitionFact]) -> Standing:
    """Fold transitions (oldest first) into the current standing; refuses an illegal history."""
    stage = Stage.CONTACT
    spells: list[Spell] = []
    for t in transitions:
        if t.from_stage is not stage:
            raise InvalidTransition(
                f"History broken: a transition from {t.from_stage.value} while {stage.value}"
            )
        move = _move_between(t.from_stage, t.to_stage)
        stage = apply_move(stage, move)
        if stage is Stage.CLIENT:
            spells.append(Spell(t.effective_on, None))
        else:
            spells[-1] = Spell(spells[-1].started_on, t.effective_on)
    return Standing(stage, tuple(spells))


def _move_between(from_stage: Stage, to_stage: Stage) -> Move:
    for (source, move), target in MOVES.items():
        if source is from_stage and target is to_stage:
            return move
    raise InvalidTransition(f"No move leads from {from_stage.value} to {to_stage.value}")


def tenure_days(closed_days: int, client_since: date | None, today: date) -> int:
    """Tenure from the denormalized fields a contact row keeps (closed spells + current one)."""
    current = max((today - client_since).days, 0) if client_since is not None else 0
    return closed_days + current


def spells_of(transitions: Sequence[TransitionFact]) -> tuple[Spell, ...]:
    return replay(transitions).spells
