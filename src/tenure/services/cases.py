"""Support cases: opened, worked, resolved and closed inside the relationship.

Cases never change the lifecycle stage; every move appears on the contact's timeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenure.db.models import Case
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.pagination import (
    Page,
    check_limit,
    decode_cursor,
    encode_cursor,
    id_cursor,
    page_of,
)
from tenure.db.repositories.scheduling import CaseFilter, CaseRepository
from tenure.domain.access import Permission
from tenure.domain.cases import (
    CASE_EVENTS,
    CaseAction,
    CaseClock,
    CasePriority,
    CaseStatus,
    advance_clock,
    apply_case_action,
    priority_rank,
    record_first_response,
)
from tenure.domain.errors import FieldError, InvalidInput, PreconditionFailed
from tenure.domain.events import EventType
from tenure.services import health, interactions, search, timeline
from tenure.services.context import Ctx
from tenure.services.members import check_member

EDITABLE = frozenset({"subject", "description", "priority", "assignee_id"})


def _repo(ctx: Ctx) -> CaseRepository:
    return CaseRepository(ctx.session, ctx.workspace_id)


def open_case(
    ctx: Ctx,
    contact_id: int,
    *,
    subject: str,
    description: str = "",
    priority: CasePriority = CasePriority.NORMAL,
    assignee_id: int | None = None,
) -> Case:
    ctx.require(Permission.WRITE)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get_writable(contact_id)
    errors = _check(ctx, {"subject": subject, "assignee_id": assignee_id})
    if errors:
        raise InvalidInput(errors)
    case = Case(
        contact_id=contact.id,
        subject=subject.strip(),
        description=description,
        priority=priority.value,
        assignee_id=assignee_id,
        status=CaseStatus.OPEN.value,
        opened_at=ctx.now,
        created_by=ctx.user_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    _repo(ctx).add(case)
    ctx.session.flush()
    search.index_case(ctx, case)
    timeline.record(
        ctx,
        contact_id=contact.id,
        type=EventType.CASE_OPENED,
        subject_type="case",
        subject_id=case.id,
        summary=f"Case opened ({priority.value}): {case.subject}",
        data={"priority": priority.value},
    )
    health.recompute(ctx, contact)
    return case


def update_case(
    ctx: Ctx, case_id: int, *, expected_version: int, changes: Mapping[str, Any]
) -> Case:
    ctx.require(Permission.WRITE)
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise InvalidInput([FieldError(n, "read-only", "cannot be changed") for n in unknown])
    case = _repo(ctx).get(case_id, for_update=True)
    # An edit is new words: none on an erased contact's records.
    ContactRepository(ctx.session, ctx.workspace_id).get_writable(case.contact_id)
    if case.version != expected_version:
        raise PreconditionFailed(
            f"case {case_id} is at version {case.version}, not {expected_version}",
            current_version=case.version,
        )
    errors = _check(ctx, dict(changes))
    if errors:
        raise InvalidInput(errors)
    for name, value in changes.items():
        setattr(case, name, _normalized(name, value))
    case.updated_at = ctx.now
    ctx.session.flush()
    search.index_case(ctx, case)
    return case


def move(ctx: Ctx, case_id: int, action: CaseAction, *, note: str = "") -> Case:
    """Apply one move of the case table: pending, resume, resolve, close, reopen."""
    ctx.require(Permission.WRITE)
    case = _repo(ctx).get(case_id, for_update=True)
    case.status = apply_case_action(CaseStatus(case.status), action).value
    clock = advance_clock(_clock(case), action, ctx.now)
    case.first_response_at = clock.first_response_at
    case.resolved_at = clock.resolved_at
    case.closed_at = clock.closed_at
    if action is CaseAction.RESOLVE:
        case.resolution = note
    case.updated_at = ctx.now
    ctx.session.flush()
    search.index_case(ctx, case)
    timeline.record(
        ctx,
        contact_id=case.contact_id,
        type=CASE_EVENTS[action],
        subject_type="case",
        subject_id=case.id,
        summary=f"Case {case.status.replace('_', ' ')}: {case.subject}"
        + (f" — {note}" if note else ""),
        data={"status": case.status, "note": note},
    )
    health.recompute_id(ctx, case.contact_id)
    return case


def respond(
    ctx: Ctx,
    case_id: int,
    *,
    body: str,
    channel: interactions.Channel = interactions.Channel.EMAIL,
    subject: str | None = None,
) -> Case:
    """Answer the client: logs an outbound interaction and stamps the first response once."""
    ctx.require(Permission.WRITE)
    case = _repo(ctx).get(case_id, for_update=True)
    if not body.strip():
        raise InvalidInput.one("body", "required", "a response needs a text")
    interactions.log_interaction(
        ctx,
        case.contact_id,
        channel=channel,
        direction=interactions.Direction.OUTBOUND,
        subject=subject or f"Re: {case.subject}",
        body=body,
    )
    clock = record_first_response(_clock(case), ctx.now)
    case.first_response_at = clock.first_response_at
    case.updated_at = ctx.now
    ctx.session.flush()
    return case


def get_case(ctx: Ctx, case_id: int) -> Case:
    ctx.require(Permission.READ)
    return _repo(ctx).get(case_id)


def list_cases(
    ctx: Ctx, *, filters: CaseFilter, cursor: str | None = None, limit: int = 50
) -> Page:
    ctx.require(Permission.READ)
    check_limit(limit)
    if filters.contact_id is not None:
        ContactRepository(ctx.session, ctx.workspace_id).get(filters.contact_id)
    return page_of(_repo(ctx).page(filters, after=id_cursor(cursor), limit=limit), limit)


def _normalized(name: str, value: Any) -> Any:
    if name == "priority":
        return CasePriority(value).value
    if name == "subject":
        return str(value).strip()
    return value


def _clock(case: Case) -> CaseClock:
    return CaseClock(case.opened_at, case.first_response_at, case.resolved_at, case.closed_at)


def _check(ctx: Ctx, values: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    if "subject" in values and not (values["subject"] or "").strip():
        errors.append(FieldError("subject", "required", "a case needs a subject"))
    check_member(ctx, values.get("assignee_id"), errors, "assignee_id")
    return errors


#: The queue's default: what someone still works on or waits for.
QUEUE_DEFAULT = (CaseStatus.OPEN, CaseStatus.PENDING)


@dataclass(frozen=True)
class QueueRow:
    case: Case
    contact_name: str


def queue(
    ctx: Ctx,
    *,
    statuses: Sequence[CaseStatus] = QUEUE_DEFAULT,
    priority: CasePriority | None = None,
    assignee_id: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """The support queue: urgent first, then the oldest; each row with its contact's name."""
    ctx.require(Permission.READ)
    check_limit(limit)
    after = None
    if cursor:
        rank, opened, last = decode_cursor(cursor, arity=3, types=(int, str, int))
        try:
            after = (int(rank), datetime.fromisoformat(opened), int(last))
        except ValueError:
            raise InvalidInput.one("cursor", "cursor", "not a cursor this list gave out") from None
    rows = _repo(ctx).queue(
        statuses=[s.value for s in statuses],
        priority=priority.value if priority else None,
        assignee_id=assignee_id,
        after=after,
        limit=limit,
    )
    items = [QueueRow(c, name) for c, name in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last_case = items[-1].case
        next_cursor = encode_cursor(
            [
                priority_rank(CasePriority(last_case.priority)),
                last_case.opened_at.isoformat(),
                last_case.id,
            ]
        )
    return Page(items, next_cursor)
