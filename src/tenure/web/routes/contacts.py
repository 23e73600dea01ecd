"""/contacts: the list, the client page, and the actions taken from it.

Every action calls the same services as the API; a refused action re-renders the page with the
message next to the form that caused it and the values the user typed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.scheduling import ActivityFilter, CaseFilter, DeliveryFilter
from tenure.domain.activities import ActivityKind
from tenure.domain.agreements import AgreementKind, BillingPeriod
from tenure.domain.cases import CasePriority
from tenure.domain.commitments import CommitmentAction
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import (
    ContactMerged,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from tenure.domain.events import EventType
from tenure.domain.knowledge import KnowledgeKind
from tenure.domain.lifecycle import USER_END_REASONS, EndReason, EvidenceKind, Stage
from tenure.services import (
    access,
    activities,
    agreements,
    brief,
    cases,
    commitments,
    contacts,
    deliveries,
    interactions,
    knowledge,
    lifecycle,
    schedules,
    timeline,
)
from tenure.services.contacts import EmailIn, PhoneIn
from tenure.services.context import Ctx
from tenure.web.contact_list import SORTS, ContactListQuery, contact_list_query
from tenure.web.deps import WebCtx
from tenure.web.render import build_templates, context
from tenure.web.routes.playbooks import cancel_for_client, client_playbooks, start_for_client

router = APIRouter()
templates = build_templates()

CHANNELS = [c.value for c in interactions.Channel]


def _form_value(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _local_datetime(value: str, tz: str) -> datetime | None:
    """A datetime-local input (no offset) read in the viewer's zone."""
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput.one("when", "datetime", "not a date and time") from None
    return local.replace(tzinfo=ZoneInfo(tz)) if local.tzinfo is None else local


def _date(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput.one(field, "date", "not a date (YYYY-MM-DD)") from None


def _int(value: str, field: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput.one(field, "integer", "not a number") from None


# --- the list ------------------------------------------------------------------------------


@router.get("/contacts")
def contact_list(
    request: Request,
    ctx: WebCtx,
    query: Annotated[ContactListQuery, Depends(contact_list_query)],
    cursor: str | None = None,
) -> Response:
    page = contacts.list_contacts(
        ctx, filters=query.filters, sort=query.sort, cursor=cursor, limit=50
    )
    params = query.params
    next_url = (
        f"/contacts?{urlencode({**params, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else None
    )
    members = access.list_members(ctx)
    return templates.TemplateResponse(
        request,
        "contacts/list.html",
        context(
            request,
            page=page,
            filters=params,
            next_url=next_url,
            members=members,
            stages=[s.value for s in Stage],
            sorts=SORTS,
            today=ctx.today,
        ),
    )


@router.post("/contacts/bulk")
async def bulk(request: Request, ctx: WebCtx) -> Response:
    """Add a tag to, or set the owner of, the selected contacts (one transaction)."""
    form = await request.form()
    ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()]
    action = _form_value(form, "action")
    back = _form_value(form, "back") or "/contacts"
    for contact_id in ids:
        view = contacts.get_contact(ctx, contact_id)
        if action == "tag":
            tag = _form_value(form, "tag")
            contacts.update_contact(
                ctx,
                contact_id,
                expected_version=view.contact.version,
                changes={"tags": [*view.contact.tags, tag]},
            )
        elif action == "owner":
            contacts.update_contact(
                ctx,
                contact_id,
                expected_version=view.contact.version,
                changes={"owner_id": _int(_form_value(form, "owner_id"), "owner_id")},
            )
    return RedirectResponse(back if back.startswith("/") else "/contacts", status_code=303)


@router.get("/contacts/new")
def new_contact(request: Request, ctx: WebCtx) -> Response:
    return templates.TemplateResponse(
        request, "contacts/new.html", context(request, values={}, errors={})
    )


@router.post("/contacts")
async def create_contact(request: Request, ctx: WebCtx) -> Response:
    form = await request.form()
    values = {
        k: _form_value(form, k)
        for k in (
            "kind",
            "display_name",
            "given_name",
            "family_name",
            "email",
            "phone",
            "tags",
            "timezone",
            "notes",
        )
    }
    try:
        view = contacts.create_contact(
            ctx,
            kind=ContactKind(values["kind"] or "person"),
            display_name=values["display_name"] or None,
            given_name=values["given_name"] or None,
            family_name=values["family_name"] or None,
            emails=[EmailIn(values["email"])] if values["email"] else [],
            phones=[PhoneIn(values["phone"])] if values["phone"] else [],
            tags=[t for t in values["tags"].split(",") if t.strip()],
            timezone=values["timezone"] or None,
            notes=values["notes"],
            owner_id=ctx.user_id,
        )
    except DomainError as exc:
        ctx.session.rollback()
        return templates.TemplateResponse(
            request,
            "contacts/new.html",
            context(request, values=values, errors=_errors(exc)),
            status_code=422,
        )
    return RedirectResponse(f"/contacts/{view.contact.id}", status_code=303)


# --- the client page -----------------------------------------------------------------------


def _errors(exc: DomainError) -> dict[str, str]:
    if isinstance(exc, InvalidInput):
        return {e.field: e.message for e in exc.errors} | {"_": exc.message}
    return {"_": exc.message}


def _client_page(
    request: Request,
    ctx: Ctx,
    contact_id: int,
    *,
    form: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    types: list[str] | None = None,
    cursor: str | None = None,
) -> Response:
    view = contacts.get_contact(ctx, contact_id)
    result = brief.build(ctx, contact_id)
    events = timeline.page(ctx, contact_id=contact_id, types=types or None, cursor=cursor, limit=25)
    data = {
        "view": view,
        "c": view.contact,
        "brief": result,
        "events": events,
        "event_types": sorted(t.value for t in EventType),
        "types": types or [],
        "agreements": agreements.list_for_contact(ctx, contact_id, limit=50).items,
        "knowledge": knowledge.current(ctx, contact_id),
        "commitments": commitments.list_commitments(ctx, contact_id=contact_id, limit=50).items,
        "activities": activities.list_activities(
            ctx, filters=ActivityFilter(contact_id=contact_id, status="open"), limit=50
        ).items,
        "deliveries": deliveries.list_deliveries(
            ctx, filters=DeliveryFilter(contact_id=contact_id), limit=20
        ).items,
        "schedules": schedules.list_schedules(ctx, contact_id=contact_id, limit=20).items,
        "cases": cases.list_cases(ctx, filters=CaseFilter(contact_id=contact_id), limit=20).items,
        **client_playbooks(ctx, contact_id),
        "merged_note": _merged_note(ctx, request, view.contact),
        "members": access.list_members(ctx),
        "form": form,
        "errors": errors or {},
        "values": values or {},
        "channels": CHANNELS,
        "end_reasons": sorted(r.value for r in USER_END_REASONS),
        "agreement_kinds": [k.value for k in AgreementKind],
        "billing_periods": [b.value for b in BillingPeriod],
        "knowledge_kinds": [k.value for k in KnowledgeKind],
        "activity_kinds": [k.value for k in ActivityKind],
        "now_local": ctx.now.astimezone(ZoneInfo(request.state.timezone)),
    }
    if request.headers.get("x-fragment") == "timeline":
        return templates.TemplateResponse(
            request, "contacts/_timeline.html", context(request, **data)
        )
    return templates.TemplateResponse(
        request, "contacts/client.html", context(request, **data), status_code=status
    )


@router.get("/contacts/{contact_id}")
def client_page(
    request: Request,
    ctx: WebCtx,
    contact_id: int,
    cursor: str | None = None,
    type: list[str] | None = None,
) -> Response:
    try:
        return _client_page(
            request, ctx, contact_id, types=[t for t in type or [] if t], cursor=cursor
        )
    except ContactMerged as exc:  # a merged-away contact's page is its survivor's
        target = f"/contacts/{exc.merged_into}?merged_from={contact_id}"
        return RedirectResponse(target, status_code=303)


def _merged_note(ctx: Ctx, request: Request, survivor: Any) -> str:
    """ "X was merged into Y", after following a merged-away contact's link (only for a
    contact that really was merged into this one)."""
    raw = request.query_params.get("merged_from", "")
    if not raw.isdigit() or len(raw) > 18:
        return ""
    old = ContactRepository(ctx.session, ctx.workspace_id).find(int(raw))
    if old is None or old.merged_into_id != survivor.id:
        return ""
    return f"{old.display_name} was merged into {survivor.display_name}"


Action = Callable[[Ctx, int, Any, Request], Any]


async def _act(
    request: Request, ctx: Ctx, contact_id: int, form_name: str, action: Action
) -> Response:
    """Run one action; on a refusal, show the page again with the message and the input."""
    form = await request.form()
    try:
        action(ctx, contact_id, form, request)
    except (PermissionDenied, NotFound):
        raise  # not a form mistake: the error page says what happened
    except DomainError as exc:
        ctx.session.rollback()
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        return _client_page(
            request,
            ctx,
            contact_id,
            form=form_name,
            errors=_errors(exc),
            values=values,
            status=422 if isinstance(exc, InvalidInput) else 409,
        )
    if request.headers.get("x-requested-with") == "fetch":
        return _client_page(request, ctx, contact_id)
    return RedirectResponse(f"/contacts/{contact_id}#{form_name}", status_code=303)


def _log_interaction(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    interactions.log_interaction(
        ctx,
        contact_id,
        channel=interactions.Channel(_form_value(form, "channel") or "note"),
        direction=interactions.Direction(_form_value(form, "direction") or "outbound"),
        occurred_at=_local_datetime(_form_value(form, "occurred_at"), request.state.timezone),
        subject=_form_value(form, "subject"),
        body=str(form.get("body") or ""),
    )


def _convert(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    evidence = _form_value(form, "evidence")
    if not evidence or ":" not in evidence:
        raise InvalidInput.one(
            "evidence",
            "required",
            "choose the evidence: a confirmed agreement or a scheduled delivery",
        )
    kind, _, evidence_id = evidence.partition(":")
    lifecycle.convert(
        ctx,
        contact_id,
        evidence_kind=EvidenceKind(kind),
        evidence_id=int(evidence_id),
        effective_on=_date(_form_value(form, "effective_on"), "effective_on"),
        note=_form_value(form, "note"),
    )


def _end(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    reason = _form_value(form, "reason")
    if reason not in {r.value for r in USER_END_REASONS}:
        raise InvalidInput.one("reason", "required", "choose why the relationship ends")
    lifecycle.end(
        ctx,
        contact_id,
        reason=EndReason(reason),
        note=_form_value(form, "note"),
        effective_on=_date(_form_value(form, "effective_on"), "effective_on"),
    )


def _new_agreement(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    value = _form_value(form, "value")
    try:
        value_minor = round(float(value) * 100) if value else None
    except ValueError:
        raise InvalidInput.one("value", "number", "not an amount") from None
    agreement = agreements.create_agreement(
        ctx,
        contact_id,
        title=_form_value(form, "title"),
        kind=AgreementKind(_form_value(form, "kind") or "engagement"),
        starts_on=_date(_form_value(form, "starts_on"), "starts_on"),
        renews_on=_date(_form_value(form, "renews_on"), "renews_on"),
        value_minor=value_minor,
        currency=_form_value(form, "currency") or None,
        billing_period=BillingPeriod(_form_value(form, "billing_period") or "one_off"),
    )
    if _form_value(form, "confirm") == "1":
        agreements.confirm(ctx, agreement.id)


def _agreement_action(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    agreement_id = _int(_form_value(form, "agreement_id"), "agreement_id") or 0
    if agreements.get_agreement(ctx, agreement_id).contact_id != contact_id:
        raise InvalidInput.one("agreement_id", "same-contact", "not this contact's agreement")
    action = _form_value(form, "do")
    if action == "confirm":
        agreements.confirm(ctx, agreement_id)
    elif action == "end":
        reason = _form_value(form, "reason") or "completed"
        agreements.end(
            ctx,
            agreement_id,
            reason=EndReason(reason),
            ended_on=_date(_form_value(form, "ended_on"), "ended_on"),
        )
    elif action == "cancel":
        agreements.cancel(ctx, agreement_id)


def _add_knowledge(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    knowledge.add(
        ctx,
        contact_id,
        kind=KnowledgeKind(_form_value(form, "kind") or "fact"),
        text=_form_value(form, "text"),
        key=_form_value(form, "key") or None,
        pinned=_form_value(form, "pinned") == "1",
    )


def _knowledge_action(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    entry_id = _int(_form_value(form, "entry_id"), "entry_id") or 0
    if knowledge.get(ctx, entry_id).entry.contact_id != contact_id:
        raise InvalidInput.one("entry_id", "same-contact", "not this contact's knowledge")
    action = _form_value(form, "do")
    if action == "confirm":
        knowledge.confirm(ctx, entry_id)
    elif action == "retire":
        knowledge.retire(ctx, entry_id)
    elif action == "edit":
        knowledge.edit(ctx, entry_id, changes={"text": _form_value(form, "text")})


def _add_commitment(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    commitments.make(
        ctx,
        contact_id,
        text=_form_value(form, "text"),
        promised_to=_form_value(form, "promised_to"),
        due_on=_date(_form_value(form, "due_on"), "due_on"),
    )


def _commitment_action(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    commitment_id = _int(_form_value(form, "commitment_id"), "commitment_id") or 0
    if commitments.get(ctx, commitment_id).contact_id != contact_id:
        raise InvalidInput.one("commitment_id", "same-contact", "not this contact's promise")
    commitments.resolve(ctx, commitment_id, CommitmentAction(_form_value(form, "do")))


def _add_task(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    kind = ActivityKind(_form_value(form, "kind") or "task")
    when = _local_datetime(_form_value(form, "when"), request.state.timezone)
    if when is None:
        raise InvalidInput.one("when", "required", "say when")
    timed = kind not in (ActivityKind.TASK, ActivityKind.CALL, ActivityKind.REVIEW)
    minutes = _int(_form_value(form, "minutes"), "minutes") or 60
    activities.create_activity(
        ctx,
        kind=kind,
        title=_form_value(form, "title"),
        contact_id=contact_id,
        due_at=None if timed else when,
        start_at=when if timed else None,
        end_at=when + timedelta(minutes=minutes) if timed else None,
        location=_form_value(form, "location"),
        allow_overlap=_form_value(form, "allow_overlap") == "1",
    )


def _activity_action(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    activity_id = _int(_form_value(form, "activity_id"), "activity_id") or 0
    if activities.get_activity(ctx, activity_id).contact_id != contact_id:
        raise InvalidInput.one("activity_id", "same-contact", "not this contact's activity")
    if _form_value(form, "do") == "cancel":
        activities.cancel_activity(ctx, activity_id)
    else:
        activities.complete_activity(
            ctx,
            activity_id,
            note=_form_value(form, "note"),
            log_interaction=_form_value(form, "log") == "1",
        )


def _add_schedule(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    start = _form_value(form, "dtstart")
    try:
        dtstart = datetime.fromisoformat(start) if start else None
    except ValueError:
        raise InvalidInput.one("dtstart", "datetime", "not a date and time") from None
    if dtstart is None:
        raise InvalidInput.one("dtstart", "required", "say when the first one is")
    frequency = _form_value(form, "frequency") or "MONTHLY"
    rule = _form_value(form, "rrule") or f"FREQ={frequency}"
    produces = schedules.Produces(_form_value(form, "produces") or "delivery")
    schedules.create_schedule(
        ctx,
        contact_id,
        produces=produces,
        rrule=rule,
        dtstart=dtstart.replace(tzinfo=None),
        title=_form_value(form, "title") or None,
        activity_kind=ActivityKind(_form_value(form, "activity_kind") or "visit")
        if produces is schedules.Produces.ACTIVITY
        else None,
        duration_minutes=_int(_form_value(form, "minutes"), "minutes"),
        timezone=request.state.timezone,
    )


def _open_case(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    cases.open_case(
        ctx,
        contact_id,
        subject=_form_value(form, "subject"),
        description=str(form.get("description") or ""),
        priority=CasePriority(_form_value(form, "priority") or "normal"),
    )


ACTIONS: dict[str, Action] = {
    "interaction": _log_interaction,
    "convert": _convert,
    "end": _end,
    "agreement": _new_agreement,
    "agreement-action": _agreement_action,
    "knowledge": _add_knowledge,
    "knowledge-action": _knowledge_action,
    "commitment": _add_commitment,
    "commitment-action": _commitment_action,
    "activity": _add_task,
    "activity-action": _activity_action,
    "schedule": _add_schedule,
    "case": _open_case,
    "playbook": start_for_client,
    "playbook-cancel": cancel_for_client,
}


@router.post("/contacts/{contact_id}/{form_name}")
async def client_action(request: Request, ctx: WebCtx, contact_id: int, form_name: str) -> Response:
    action = ACTIONS.get(form_name)
    if action is None:
        raise NotFound(f"no action {form_name!r}")
    return await _act(request, ctx, contact_id, form_name, action)
