"""/cases: the support queue (urgent first, then the oldest) and one case with its actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.domain.cases import CaseAction, CasePriority, CaseStatus, can_case
from tenure.domain.errors import (
    DomainError,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from tenure.services import access, cases, contacts, interactions
from tenure.services.context import Ctx
from tenure.web import forms
from tenure.web.deps import WebCtx
from tenure.web.render import build_templates, context

router = APIRouter()
templates = build_templates()

#: The status filter: a name → the statuses it shows ("active" is the default queue).
STATUS_CHOICES: dict[str, tuple[CaseStatus, ...]] = {
    "active": (CaseStatus.OPEN, CaseStatus.PENDING),
    "open": (CaseStatus.OPEN,),
    "pending": (CaseStatus.PENDING,),
    "resolved": (CaseStatus.RESOLVED,),
    "closed": (CaseStatus.CLOSED,),
    "all": (),
}
STATUS_LABELS = {
    "active": "Open and pending",
    "open": "Open",
    "pending": "Pending",
    "resolved": "Resolved",
    "closed": "Closed",
    "all": "All",
}
#: The buttons a case shows: the web's name for a move → the move (respond is separate).
MOVES: dict[str, CaseAction] = {
    "pending": CaseAction.MARK_PENDING,
    "resume": CaseAction.RESUME,
    "resolve": CaseAction.RESOLVE,
    "close": CaseAction.CLOSE,
    "reopen": CaseAction.REOPEN,
}
MOVE_LABELS = {
    "pending": "Waiting on client",
    "resume": "Resume",
    "resolve": "Resolve",
    "close": "Close",
    "reopen": "Reopen",
}
CHANNELS = [c.value for c in interactions.Channel if c.value != "note"]


def allowed_moves(status: str) -> list[str]:
    """The moves the case table allows from ``status`` (the domain decides)."""
    return [name for name, action in MOVES.items() if can_case(CaseStatus(status), action)]


def _queue_page(
    request: Request,
    ctx: Ctx,
    *,
    status: str = "active",
    priority: str = "",
    cursor: str | None = None,
    form: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    code: int = 200,
) -> Response:
    status = status if status in STATUS_CHOICES else "active"
    chosen_priority = priority if priority in {p.value for p in CasePriority} else ""
    page = cases.queue(
        ctx,
        statuses=STATUS_CHOICES[status],
        priority=CasePriority(chosen_priority) if chosen_priority else None,
        cursor=cursor or None,
        limit=50,
    )
    params = {k: v for k, v in {"status": status, "priority": chosen_priority}.items() if v}
    here = urlencode({**params, **({"cursor": cursor} if cursor else {})})
    next_url = (
        f"/cases?{urlencode({**params, 'cursor': page.next_cursor})}" if page.next_cursor else None
    )
    names = {u.id: u.name or u.email for _, u in access.list_members(ctx)}
    return templates.TemplateResponse(
        request,
        "cases/queue.html",
        context(
            request,
            rows=page.items,
            next_url=next_url,
            status=status,
            priority=chosen_priority,
            statuses=STATUS_LABELS,
            priorities=[p.value for p in reversed(CasePriority)],
            here=here,
            names=names,
            moves=allowed_moves,
            move_labels=MOVE_LABELS,
            channels=CHANNELS,
            form=form,
            errors=errors or {},
            values=values or {},
            now=ctx.now,
        ),
        status_code=code,
    )


@router.get("/cases")
def queue(
    request: Request,
    ctx: WebCtx,
    status: str = "active",
    priority: str = "",
    cursor: str | None = None,
) -> Response:
    return _queue_page(request, ctx, status=status, priority=priority, cursor=cursor)


def _case_page(
    request: Request,
    ctx: Ctx,
    case_id: int,
    *,
    form: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    code: int = 200,
) -> Response:
    case = cases.get_case(ctx, case_id)
    contact = contacts.get_contact(ctx, case.contact_id).contact
    members = access.list_members(ctx)
    return templates.TemplateResponse(
        request,
        "cases/case.html",
        context(
            request,
            case=case,
            contact=contact,
            members=members,
            names={u.id: u.name or u.email for _, u in members},
            moves=allowed_moves(case.status),
            move_labels=MOVE_LABELS,
            channels=CHANNELS,
            priorities=[p.value for p in reversed(CasePriority)],
            form=form,
            errors=errors or {},
            values=values or {},
        ),
        status_code=code,
    )


@router.get("/cases/{case_id}")
def case_page(request: Request, ctx: WebCtx, case_id: int) -> Response:
    return _case_page(request, ctx, case_id)


def _act(ctx: Ctx, case_id: int, do: str, form: Any) -> None:
    if do == "respond":
        channel = forms.text(form, "channel") or "email"
        if channel not in CHANNELS:
            forms.raise_if([FieldError("channel", "choice", "choose how you answered")])
        cases.respond(
            ctx,
            case_id,
            body=forms.raw(form, "body"),
            channel=interactions.Channel(channel),
        )
    elif do in MOVES:
        cases.move(ctx, case_id, MOVES[do], note=forms.text(form, "note"))
    elif do == "edit":
        errors: list[FieldError] = []
        version = forms.number(forms.text(form, "version"), "version", errors)
        assignee = forms.number(
            forms.text(form, "assignee_id"), "assignee_id", errors, required=False
        )
        priority = forms.text(form, "priority")
        if priority not in {p.value for p in CasePriority}:
            errors.append(FieldError("priority", "choice", "choose a priority"))
        forms.raise_if(errors)
        cases.update_case(
            ctx,
            case_id,
            expected_version=version,
            changes={"priority": priority, "assignee_id": assignee},
        )
    else:
        raise NotFound(f"no case action {do!r}")


@router.post("/cases/{case_id}/action")
async def case_action(request: Request, ctx: WebCtx, case_id: int) -> Response:
    """One action on a case, from the queue or the case page; a refusal shows that page again
    with the message next to the form and what was typed."""
    form = await request.form()
    do = forms.text(form, "do")
    origin = forms.text(form, "from")
    # Where the queue was (its filters and page), rebuilt from known keys only.
    query = {
        k: v
        for k, v in parse_qsl(forms.text(form, "back"))
        if k in ("status", "priority", "cursor")
    }
    try:
        _act(ctx, case_id, do, form)
    except (PermissionDenied, NotFound):
        raise  # not a form mistake: the error page says what happened
    except DomainError as exc:
        ctx.session.rollback()
        form_name = f"{do}-{case_id}"
        kept = forms.values(form)
        code = 422 if isinstance(exc, InvalidInput) else 409
        if origin == "queue":
            return _queue_page(
                request,
                ctx,
                status=query.get("status", "active"),
                priority=query.get("priority", ""),
                cursor=query.get("cursor"),
                form=form_name,
                errors=forms.errors_of(exc),
                values=kept,
                code=code,
            )
        return _case_page(
            request,
            ctx,
            case_id,
            form=form_name,
            errors=forms.errors_of(exc),
            values=kept,
            code=code,
        )
    if origin == "queue":
        return RedirectResponse(f"/cases?{urlencode(query)}#case-{case_id}", status_code=303)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)
