"""Agreements: drafting, confirming (which makes a client), ending (which may end one)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from tenure.db.models import Agreement
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.lifecycle import AgreementRepository, TransitionRepository
from tenure.db.repositories.pagination import (
    Page,
    check_limit,
    id_cursor,
    page_of,
)
from tenure.domain.access import Permission
from tenure.domain.agreements import (
    AgreementAction,
    AgreementKind,
    AgreementStatus,
    BillingPeriod,
    apply_agreement_action,
    check_agreement_dates,
    check_end_date,
)
from tenure.domain.errors import FieldError, InvalidInput, InvalidTransition, PreconditionFailed
from tenure.domain.events import EventType
from tenure.domain.lifecycle import USER_END_REASONS, EndReason, Evidence, EvidenceKind, Stage
from tenure.domain.money import is_currency
from tenure.services import lifecycle, schedules, timeline
from tenure.services.context import Ctx

#: Fields a PATCH may change, by status: terms of an ended agreement are history.
EDITABLE: dict[AgreementStatus, frozenset[str]] = {
    AgreementStatus.DRAFT: frozenset(
        {
            "title",
            "kind",
            "starts_on",
            "ends_on",
            "renews_on",
            "value_minor",
            "currency",
            "billing_period",
            "terms",
        }
    ),
    AgreementStatus.ACTIVE: frozenset(
        {"title", "ends_on", "renews_on", "value_minor", "currency", "billing_period", "terms"}
    ),
    AgreementStatus.ENDED: frozenset({"terms"}),
    AgreementStatus.CANCELLED: frozenset({"terms"}),
}


def _repo(ctx: Ctx) -> AgreementRepository:
    return AgreementRepository(ctx.session, ctx.workspace_id)


def create_agreement(
    ctx: Ctx,
    contact_id: int,
    *,
    title: str,
    kind: AgreementKind,
    starts_on: date | None = None,
    ends_on: date | None = None,
    renews_on: date | None = None,
    value_minor: int | None = None,
    currency: str | None = None,
    billing_period: BillingPeriod = BillingPeriod.ONE_OFF,
    terms: str = "",
) -> Agreement:
    ctx.require(Permission.WRITE)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get_writable(contact_id)
    agreement = Agreement(
        contact_id=contact.id,
        status=AgreementStatus.DRAFT.value,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    _assign(
        agreement,
        {
            "title": title,
            "kind": kind,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "renews_on": renews_on,
            "value_minor": value_minor,
            "currency": currency,
            "billing_period": billing_period,
            "terms": terms,
        },
    )
    _repo(ctx).add(agreement)
    ctx.session.flush()
    timeline.record(
        ctx,
        contact_id=contact.id,
        type=EventType.AGREEMENT_CREATED,
        subject_type="agreement",
        subject_id=agreement.id,
        summary=f"Agreement drafted: {agreement.title}",
    )
    return agreement


def update_agreement(
    ctx: Ctx, agreement_id: int, *, expected_version: int, changes: Mapping[str, Any]
) -> Agreement:
    ctx.require(Permission.WRITE)
    agreement = _repo(ctx).get(agreement_id, for_update=True)
    # An edit is new words: none on an erased contact's records.
    ContactRepository(ctx.session, ctx.workspace_id).get_writable(agreement.contact_id)
    if agreement.version != expected_version:
        raise PreconditionFailed(
            f"agreement {agreement_id} is at version {agreement.version}, not {expected_version}",
            current_version=agreement.version,
        )
    allowed = EDITABLE[AgreementStatus(agreement.status)]
    refused = sorted(set(changes) - allowed)
    if refused:
        raise InvalidInput(
            [
                FieldError(
                    name, "read-only", f"cannot change while the agreement is {agreement.status}"
                )
                for name in refused
            ]
        )
    if not changes:
        return agreement
    current = {name: getattr(agreement, name) for name in EDITABLE[AgreementStatus.DRAFT]}
    _assign(agreement, {**current, **changes})
    agreement.updated_at = ctx.now
    ctx.session.flush()
    timeline.record(
        ctx,
        contact_id=agreement.contact_id,
        type=EventType.AGREEMENT_UPDATED,
        subject_type="agreement",
        subject_id=agreement.id,
        summary=f"Agreement changed: {', '.join(sorted(changes))}",
        data={"changed": sorted(changes)},
    )
    return agreement


def get_agreement(ctx: Ctx, agreement_id: int) -> Agreement:
    ctx.require(Permission.READ)
    return _repo(ctx).get(agreement_id)


def list_for_contact(
    ctx: Ctx,
    contact_id: int,
    *,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    ctx.require(Permission.READ)
    ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    check_limit(limit)
    if status and status not in {s.value for s in AgreementStatus}:
        raise InvalidInput.one("status", "choice", f"must be one of {', '.join(AgreementStatus)}")
    rows = _repo(ctx).of_contact_page(
        contact_id, status=status, after=id_cursor(cursor), limit=limit
    )
    return page_of(rows, limit)


def confirm(ctx: Ctx, agreement_id: int, *, starts_on: date | None = None) -> Agreement:
    """draft → active; a contact or former client with it becomes a client."""
    ctx.require(Permission.WRITE)
    agreement = _repo(ctx).get(agreement_id, for_update=True)
    agreement.status = apply_agreement_action(
        AgreementStatus(agreement.status), AgreementAction.CONFIRM
    ).value
    if starts_on is not None:
        agreement.starts_on = starts_on
    if agreement.starts_on is None:
        agreement.starts_on = ctx.today
    check_agreement_dates(agreement.starts_on, agreement.ends_on, agreement.renews_on)
    agreement.confirmed_at = ctx.now
    agreement.updated_at = ctx.now
    ctx.session.flush()
    timeline.record(
        ctx,
        contact_id=agreement.contact_id,
        type=EventType.AGREEMENT_CONFIRMED,
        subject_type="agreement",
        subject_id=agreement.id,
        summary=f"Agreement confirmed: {agreement.title}",
        data={
            "starts_on": agreement.starts_on.isoformat(),
            "value_minor": agreement.value_minor,
            "currency": agreement.currency,
        },
    )
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(
        agreement.contact_id, for_update=True
    )
    if Stage(contact.stage) is not Stage.CLIENT:
        evidence = Evidence(
            EvidenceKind.AGREEMENT, agreement.id, agreement.contact_id, True, agreement.starts_on
        )
        lifecycle.become_client(ctx, contact, evidence)
    return agreement


def end(
    ctx: Ctx,
    agreement_id: int,
    *,
    reason: EndReason,
    ended_on: date | None = None,
    note: str = "",
) -> Agreement:
    """active → ended; the last active agreement ending ends the relationship too,
    unless something else (an upcoming scheduled delivery) still holds it."""
    ctx.require(Permission.WRITE)
    if reason not in USER_END_REASONS:
        raise InvalidInput.one(
            "reason", "choice", f"must be one of {', '.join(sorted(USER_END_REASONS))}"
        )
    agreement = _repo(ctx).get(agreement_id, for_update=True)
    ended_on = check_end_date(ended_on or ctx.today, starts_on=agreement.starts_on, today=ctx.today)
    close(ctx, agreement, ended_on=ended_on, reason=reason.value, note=note)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(
        agreement.contact_id, for_update=True
    )
    if (
        Stage(contact.stage) is Stage.CLIENT
        and not _repo(ctx).active_of_contact(contact.id)
        and not lifecycle.relationship_held(ctx, contact.id)
    ):
        lifecycle.end_relationship(
            ctx,
            contact,
            reason=EndReason.AGREEMENT_ENDED,
            note=f"agreement {agreement.id} ended: {reason.value}",
            effective_on=_not_before_last_transition(ctx, contact.id, ended_on),
        )
    return agreement


def cancel(ctx: Ctx, agreement_id: int, *, note: str = "") -> Agreement:
    ctx.require(Permission.WRITE)
    agreement = _repo(ctx).get(agreement_id, for_update=True)
    _cancelled(
        ctx,
        agreement,
        AgreementAction.CANCEL,
        note,
        summary=f"Agreement cancelled: {agreement.title}",
    )
    return agreement


def withdraw(ctx: Ctx, agreement: Agreement, *, on: date, reason: str) -> None:
    """active → cancelled: the relationship ended on ``on``, before the agreement started, so it
    never ran (no lifecycle consequences here; the lifecycle decides, see
    ``fate_when_relationship_ends``). The timeline says why, on the day the relationship ended."""
    started = agreement.starts_on.isoformat() if agreement.starts_on else None
    _cancelled(
        ctx,
        agreement,
        AgreementAction.WITHDRAW,
        f"relationship ended before it started: {reason}",
        summary=(
            f"Agreement cancelled: {agreement.title}; the relationship ended "
            f"({reason.replace('_', ' ')}) on {on}, before its start on {started}"
        ),
        occurred_at=ctx.moment_of(on),
        data={"reason": reason, "relationship_ended_on": on.isoformat(), "starts_on": started},
    )


def _cancelled(
    ctx: Ctx,
    agreement: Agreement,
    action: AgreementAction,
    note: str,
    *,
    summary: str,
    occurred_at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """The one way to cancelled: the move, its schedules stopped, the timeline event."""
    agreement.status = apply_agreement_action(AgreementStatus(agreement.status), action).value
    agreement.end_note = note
    agreement.updated_at = ctx.now
    ctx.session.flush()
    schedules.on_agreement_ended(ctx, agreement.contact_id, agreement.id, "cancelled")
    timeline.record(
        ctx,
        contact_id=agreement.contact_id,
        type=EventType.AGREEMENT_CANCELLED,
        subject_type="agreement",
        subject_id=agreement.id,
        occurred_at=occurred_at,
        summary=summary,
        data=data,
    )


def close(ctx: Ctx, agreement: Agreement, *, ended_on: date, reason: str, note: str) -> None:
    """Mark an active agreement ended and record it (no lifecycle consequences here)."""
    status = AgreementStatus(agreement.status)
    if status is not AgreementStatus.ACTIVE:
        raise InvalidTransition(
            f"An agreement that is {status.value} cannot end",
            status=status.value,
            action=AgreementAction.END.value,
        )
    agreement.status = apply_agreement_action(status, AgreementAction.END).value
    agreement.ended_on = ended_on
    agreement.end_reason = reason
    agreement.end_note = note
    agreement.updated_at = ctx.now
    ctx.session.flush()
    schedules.on_agreement_ended(ctx, agreement.contact_id, agreement.id, reason)
    timeline.record(
        ctx,
        contact_id=agreement.contact_id,
        type=EventType.AGREEMENT_ENDED,
        subject_type="agreement",
        subject_id=agreement.id,
        occurred_at=ctx.moment_of(ended_on),
        summary=f"Agreement ended: {agreement.title} ({reason.replace('_', ' ')})",
        data={"ended_on": ended_on.isoformat(), "reason": reason, "note": note},
    )


def _not_before_last_transition(ctx: Ctx, contact_id: int, on: date) -> date:
    last = TransitionRepository(ctx.session, ctx.workspace_id).last_effective_on(contact_id)
    return max(on, last) if last is not None else on


def _assign(agreement: Agreement, values: Mapping[str, Any]) -> None:
    errors: list[FieldError] = []
    title = (values.get("title") or "").strip()
    if not title:
        errors.append(FieldError("title", "required", "an agreement needs a title"))
    value_minor = values.get("value_minor")
    currency = values.get("currency")
    for name in ("kind", "billing_period"):
        if values.get(name) is None:
            errors.append(FieldError(name, "required", "cannot be empty"))
    if value_minor is not None and value_minor < 0:
        errors.append(FieldError("value_minor", "min", "must not be negative"))
    if currency is not None:
        currency = currency.upper()
        if not is_currency(currency):
            errors.append(FieldError("currency", "iso-4217", f"{currency!r} is not a currency"))
    if value_minor is not None and currency is None:
        errors.append(FieldError("currency", "required", "a value needs a currency"))
    try:
        check_agreement_dates(
            values.get("starts_on"), values.get("ends_on"), values.get("renews_on")
        )
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    agreement.title = title
    agreement.kind = AgreementKind(values["kind"]).value
    agreement.starts_on = values.get("starts_on")
    agreement.ends_on = values.get("ends_on")
    agreement.renews_on = values.get("renews_on")
    agreement.value_minor = value_minor
    agreement.currency = currency
    agreement.billing_period = BillingPeriod(values["billing_period"]).value
    agreement.terms = values.get("terms") or ""
