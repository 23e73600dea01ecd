"""Moving a contact through the lifecycle, and everything a move sets off.

All stage changes go through ``become_client`` and ``end_relationship``; the side effects of a
move are dispatched here (``_after_end``), not spread over hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from tenure.db.models import Contact, Transition
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.lifecycle import AgreementRepository, TransitionRepository
from tenure.domain.access import Permission
from tenure.domain.agreements import (
    AgreementAction,
    AgreementStatus,
    fate_when_relationship_ends,
)
from tenure.domain.errors import InvalidInput, InvalidTransition
from tenure.domain.events import EventType
from tenure.domain.lifecycle import (
    USER_END_REASONS,
    EndReason,
    Evidence,
    EvidenceKind,
    Move,
    Stage,
    TransitionFact,
    apply_move,
    check_effective_date,
    check_evidence,
    default_effective_date,
    move_to_client,
    replay,
)
from tenure.services import activities, cadence, deliveries, health, playbooks, schedules, timeline
from tenure.services import agreements as agreement_service
from tenure.services.context import Ctx


def convert(
    ctx: Ctx,
    contact_id: int,
    *,
    evidence_kind: EvidenceKind | None,
    evidence_id: int | None,
    effective_on: date | None = None,
    note: str = "",
) -> Transition:
    """contact → client, or former_client → client (reactivation), with evidence (without
    any, the domain refuses with ``EvidenceRequired``)."""
    ctx.require(Permission.WRITE)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(contact_id, for_update=True)
    evidence = None
    if evidence_kind is not None and evidence_id is not None:
        evidence = load_evidence(ctx, evidence_kind, evidence_id)
    return become_client(ctx, contact, evidence, effective_on=effective_on, note=note)


def end(
    ctx: Ctx,
    contact_id: int,
    *,
    reason: EndReason,
    note: str = "",
    effective_on: date | None = None,
) -> Transition:
    ctx.require(Permission.WRITE)
    if reason not in USER_END_REASONS:
        raise InvalidInput.one(
            "reason", "choice", f"must be one of {', '.join(sorted(USER_END_REASONS))}"
        )
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(contact_id, for_update=True)
    return end_relationship(ctx, contact, reason=reason, note=note, effective_on=effective_on)


def transitions(ctx: Ctx, contact_id: int) -> Sequence[Transition]:
    ctx.require(Permission.READ)
    ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    return TransitionRepository(ctx.session, ctx.workspace_id).of_contact(contact_id)


def load_evidence(ctx: Ctx, kind: EvidenceKind, evidence_id: int) -> Evidence:
    if kind is EvidenceKind.AGREEMENT:
        agreement = AgreementRepository(ctx.session, ctx.workspace_id).get(evidence_id)
        return Evidence(
            kind=kind,
            id=agreement.id,
            contact_id=agreement.contact_id,
            confirmed=agreement.status == AgreementStatus.ACTIVE,
            starts_on=agreement.starts_on,
        )
    return deliveries.evidence(ctx, evidence_id)


def become_client(
    ctx: Ctx,
    contact: Contact,
    evidence: Evidence | None,
    *,
    effective_on: date | None = None,
    note: str = "",
) -> Transition:
    stage = Stage(contact.stage)
    move = move_to_client(stage)
    apply_move(stage, move)
    proof = check_evidence(evidence, contact_id=contact.id)
    previous = TransitionRepository(ctx.session, ctx.workspace_id).last_effective_on(contact.id)
    if effective_on is None:
        effective_on = default_effective_date(proof.starts_on, previous=previous, today=ctx.today)
    else:
        check_effective_date(effective_on, previous=previous, today=ctx.today)
    transition = _record_transition(
        ctx, contact, Stage.CLIENT, effective_on, note=note, evidence=proof
    )
    verb = "became a client" if move is Move.CONVERT else "became a client again"
    timeline.record(
        ctx,
        contact_id=contact.id,
        type=EventType.CONTACT_CONVERTED if move is Move.CONVERT else EventType.CONTACT_REACTIVATED,
        subject_type="transition",
        subject_id=transition.id,
        occurred_at=ctx.moment_of(effective_on),
        summary=f"{contact.display_name} {verb} ({proof.kind.value} {proof.id})",
        data={
            "effective_on": effective_on.isoformat(),
            "evidence": {"kind": proof.kind.value, "id": proof.id},
            "from_stage": stage.value,
        },
    )
    return transition


def end_relationship(
    ctx: Ctx,
    contact: Contact,
    *,
    reason: EndReason,
    note: str = "",
    effective_on: date | None = None,
) -> Transition:
    stage = Stage(contact.stage)
    if stage is not Stage.CLIENT:
        raise InvalidTransition(
            f"Only a client's relationship can end; this contact is a {stage.value}",
            stage=stage.value,
            move=Move.END.value,
        )
    previous = TransitionRepository(ctx.session, ctx.workspace_id).last_effective_on(contact.id)
    if effective_on is None:
        effective_on = default_effective_date(ctx.today, previous=previous, today=ctx.today)
    else:
        check_effective_date(effective_on, previous=previous, today=ctx.today)
    transition = _record_transition(
        ctx, contact, Stage.FORMER_CLIENT, effective_on, note=note, reason=reason
    )
    timeline.record(
        ctx,
        contact_id=contact.id,
        type=EventType.RELATIONSHIP_ENDED,
        subject_type="transition",
        subject_id=transition.id,
        occurred_at=ctx.moment_of(effective_on),
        summary=f"The relationship ended: {reason.value.replace('_', ' ')}",
        data={"effective_on": effective_on.isoformat(), "reason": reason.value, "note": note},
    )
    _after_end(ctx, contact, effective_on, reason)
    return transition


def _after_end(ctx: Ctx, contact: Contact, on: date, reason: EndReason) -> None:
    """Everything a relationship's end stops, each recorded on the timeline: its schedules,
    its future open activities and deliveries, and (unless the last one just ended) its
    active agreements: on the same date with the same reason, or cancelled if they had not
    started by then (an end before the start would be an impossible date)."""
    schedules.on_relationship_ended(ctx, contact, reason.value)
    activities.on_relationship_ended(ctx, contact, reason.value)
    deliveries.on_relationship_ended(ctx, contact, reason.value)
    playbooks.on_relationship_ended(ctx, contact, reason.value)
    if reason is not EndReason.AGREEMENT_ENDED:
        for agreement in AgreementRepository(ctx.session, ctx.workspace_id).active_of_contact(
            contact.id, for_update=True
        ):
            fate = fate_when_relationship_ends(agreement.starts_on, on)
            if fate is AgreementAction.WITHDRAW:
                agreement_service.withdraw(ctx, agreement, on=on, reason=reason.value)
            else:
                agreement_service.close(
                    ctx, agreement, ended_on=on, reason=reason.value, note="relationship ended"
                )


def relationship_held(ctx: Ctx, contact_id: int) -> bool:
    """Whether anything besides agreements still keeps the relationship active: an upcoming
    scheduled delivery, or one in progress."""
    return deliveries.holds_relationship(ctx, contact_id)


def _record_transition(
    ctx: Ctx,
    contact: Contact,
    to_stage: Stage,
    effective_on: date,
    *,
    note: str,
    reason: EndReason | None = None,
    evidence: Evidence | None = None,
) -> Transition:
    transition = Transition(
        contact_id=contact.id,
        from_stage=contact.stage,
        to_stage=to_stage.value,
        effective_on=effective_on,
        recorded_at=ctx.now,
        actor_id=ctx.user_id,
        reason=reason.value if reason else None,
        evidence_kind=evidence.kind.value if evidence else None,
        evidence_id=evidence.id if evidence else None,
        note=note,
    )
    repo = TransitionRepository(ctx.session, ctx.workspace_id)
    repo.add(transition)
    ctx.session.flush()
    _refresh_standing(ctx, contact, repo.of_contact(contact.id))
    return transition


def _refresh_standing(ctx: Ctx, contact: Contact, rows: Sequence[Transition]) -> None:
    """Keep the contact's denormalized stage fields equal to the replay of its transitions."""
    standing = replay(
        TransitionFact(Stage(t.from_stage), Stage(t.to_stage), t.effective_on) for t in rows
    )
    contact.stage = standing.stage.value
    contact.client_since = standing.client_since
    contact.closed_tenure_days = standing.closed_days
    contact.updated_at = ctx.now
    cadence.refresh(ctx, contact)
    ctx.session.flush()
    health.recompute(ctx, contact)
