"""Commitments: the promises made to a client, tracked until kept, broken or cancelled."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from tenure.db.models import Commitment
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.continuity import CommitmentRepository
from tenure.db.repositories.pagination import (
    Page,
    check_limit,
    id_cursor,
    page_of,
)
from tenure.db.repositories.timeline import InteractionRepository
from tenure.domain.access import Permission
from tenure.domain.commitments import (
    COMMITMENT_EVENTS,
    CommitmentAction,
    CommitmentStatus,
    apply_commitment_action,
)
from tenure.domain.errors import FieldError, InvalidInput, InvalidTransition, PreconditionFailed
from tenure.domain.events import EventType
from tenure.services import health, timeline
from tenure.services.context import Ctx
from tenure.services.members import check_member

EDITABLE = frozenset({"text", "promised_to", "promised_by", "due_on", "interaction_id"})


def _repo(ctx: Ctx) -> CommitmentRepository:
    return CommitmentRepository(ctx.session, ctx.workspace_id)


def make(
    ctx: Ctx,
    contact_id: int,
    *,
    text: str,
    promised_to: str = "",
    promised_by: int | None = None,
    due_on: date | None = None,
    interaction_id: int | None = None,
) -> Commitment:
    ctx.require(Permission.WRITE)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get_writable(contact_id)
    by = ctx.user_id if promised_by is None else promised_by
    _check(ctx, contact.id, {"text": text, "promised_by": by, "interaction_id": interaction_id})
    commitment = Commitment(
        contact_id=contact.id,
        text=text.strip(),
        promised_to=promised_to.strip(),
        promised_by=by,
        due_on=due_on,
        interaction_id=interaction_id,
        status=CommitmentStatus.OPEN.value,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    _repo(ctx).add(commitment)
    ctx.session.flush()
    due = f" by {due_on}" if due_on else ""
    timeline.record(
        ctx,
        contact_id=contact.id,
        type=EventType.COMMITMENT_MADE,
        subject_type="commitment",
        subject_id=commitment.id,
        summary=f"Promised{due}: {commitment.text}",
        data={"due_on": due_on.isoformat() if due_on else None, "promised_to": promised_to},
    )
    health.recompute(ctx, contact)
    return commitment


def update(
    ctx: Ctx, commitment_id: int, *, expected_version: int, changes: Mapping[str, Any]
) -> Commitment:
    ctx.require(Permission.WRITE)
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise InvalidInput([FieldError(n, "read-only", "cannot be changed") for n in unknown])
    commitment = _repo(ctx).get(commitment_id, for_update=True)
    # An edit is new words: none on an erased contact's records.
    ContactRepository(ctx.session, ctx.workspace_id).get_writable(commitment.contact_id)
    if commitment.version != expected_version:
        raise PreconditionFailed(
            f"commitment {commitment_id} is at version {commitment.version}, "
            f"not {expected_version}",
            current_version=commitment.version,
        )
    if commitment.status != CommitmentStatus.OPEN:
        raise InvalidTransition(
            f"A {commitment.status} commitment cannot change", status=commitment.status
        )
    merged = {name: getattr(commitment, name) for name in EDITABLE} | dict(changes)
    _check(ctx, commitment.contact_id, merged)
    for name in changes:
        value = merged[name]
        setattr(commitment, name, value.strip() if isinstance(value, str) else value)
    commitment.updated_at = ctx.now
    ctx.session.flush()
    timeline.record(
        ctx,
        contact_id=commitment.contact_id,
        type=EventType.COMMITMENT_CHANGED,
        subject_type="commitment",
        subject_id=commitment.id,
        summary=f"Commitment changed: {commitment.text}",
        data={"changed": sorted(changes)},
    )
    health.recompute_id(ctx, commitment.contact_id)
    return commitment


def resolve(
    ctx: Ctx, commitment_id: int, action: CommitmentAction, *, note: str = ""
) -> Commitment:
    """keep, break or cancel an open commitment."""
    ctx.require(Permission.WRITE)
    commitment = _repo(ctx).get(commitment_id, for_update=True)
    commitment.status = apply_commitment_action(CommitmentStatus(commitment.status), action).value
    commitment.resolved_at = ctx.now
    commitment.resolution_note = note
    commitment.updated_at = ctx.now
    ctx.session.flush()
    timeline.record(
        ctx,
        contact_id=commitment.contact_id,
        type=COMMITMENT_EVENTS[action],
        subject_type="commitment",
        subject_id=commitment.id,
        summary=f"Commitment {commitment.status}: {commitment.text}"
        + (f" — {note}" if note else ""),
        data={
            "status": commitment.status,
            "note": note,
            "due_on": commitment.due_on.isoformat() if commitment.due_on else None,
        },
    )
    health.recompute_id(ctx, commitment.contact_id)
    return commitment


def get(ctx: Ctx, commitment_id: int) -> Commitment:
    ctx.require(Permission.READ)
    return _repo(ctx).get(commitment_id)


def list_commitments(
    ctx: Ctx,
    *,
    contact_id: int | None = None,
    status: str | None = None,
    overdue: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    ctx.require(Permission.READ)
    check_limit(limit)
    if contact_id is not None:
        ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    if status and status not in {s.value for s in CommitmentStatus}:
        raise InvalidInput.one("status", "choice", f"one of {', '.join(CommitmentStatus)}")
    return page_of(
        _repo(ctx).page(
            contact_id=contact_id,
            status=status,
            overdue_on=ctx.today if overdue else None,
            after=id_cursor(cursor),
            limit=limit,
        ),
        limit,
    )


def _check(ctx: Ctx, contact_id: int, values: Mapping[str, Any]) -> None:
    errors: list[FieldError] = []
    if not (values.get("text") or "").strip():
        errors.append(FieldError("text", "required", "say what was promised"))
    check_member(ctx, values.get("promised_by"), errors, "promised_by")
    source = values.get("interaction_id")
    if source is not None:
        interaction = InteractionRepository(ctx.session, ctx.workspace_id).find(source)
        if interaction is None or interaction.contact_id != contact_id:
            errors.append(
                FieldError("interaction_id", "same-contact", "no such interaction of this contact")
            )
    if errors:
        raise InvalidInput(errors)
