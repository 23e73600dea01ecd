"""/automation: rules (list, enable/disable, edit as JSON, simulate), the run log, playbooks and
dead jobs.

Everything goes through the services: the rule's JSON is parsed here (a form sends text) and
checked by the domain, whose errors name the field (``trigger.offset_days``, ``actions[0].title``)
and are shown next to the textarea they belong to, with what was typed kept. Owners and admins
edit; members and viewers read (and may simulate a saved rule, which changes nothing).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.db.models import Rule
from tenure.domain import rules as R
from tenure.domain.errors import DomainError, FieldError, InvalidInput, NotFound, PermissionDenied
from tenure.domain.events import EventType
from tenure.services import jobs, playbooks, rules
from tenure.services.context import Ctx
from tenure.web import forms
from tenure.web.deps import WebCtx
from tenure.web.render import build_templates, context

router = APIRouter()
templates = build_templates()

#: The three JSON parts of a rule, each edited in its own textarea.
PARTS = ("trigger", "conditions", "actions")
RECENT_RUNS = 100
NEW_RULE: dict[str, Any] = {
    "name": "",
    "description": "",
    "trigger": {"type": "event", "event": "contact.converted"},
    "conditions": {},
    "actions": [
        {
            "type": "create_activity",
            "kind": "task",
            "title": "Welcome {contact.display_name}",
            "due_in_days": 1,
            "assignee": "owner",
        }
    ],
}
#: How a simulation names what an action would do, per firing: (singular, plural).
VERBS: dict[str, tuple[str, str]] = {
    "add_tag": ("add a tag to 1 contact", "add a tag to {n} contacts"),
    "remove_tag": ("remove a tag from 1 contact", "remove a tag from {n} contacts"),
    "set_owner": ("change the owner of 1 contact", "change the owner of {n} contacts"),
    "end_relationship": ("end 1 relationship", "end {n} relationships"),
    "start_playbook": ("start 1 playbook run", "start {n} playbook runs"),
    "stop_playbook": ("stop playbooks for 1 contact", "stop playbooks for {n} contacts"),
    "send_email": ("send 1 email", "send {n} emails"),
    "call_webhook": ("call a webhook once", "call a webhook {n} times"),
    "create_case": ("open 1 case", "open {n} cases"),
}


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _describe(trigger: Mapping[str, Any] | None) -> str:
    """The trigger in words (the stored JSON as is when it no longer parses)."""
    try:
        return R.describe_trigger(R.parse_trigger(trigger))
    except InvalidInput:
        return json.dumps(trigger)


def _rule_values(rule: Rule) -> dict[str, str]:
    return {
        "name": rule.name,
        "description": rule.description or "",
        "trigger": _pretty(rule.trigger),
        "conditions": _pretty(rule.conditions or {}),
        "actions": _pretty(rule.actions or []),
    }


def _parse(values: Mapping[str, str]) -> tuple[dict[str, Any], list[FieldError]]:
    """The rule the form describes; a part that is not JSON is an error of its field."""
    out: dict[str, Any] = {"name": values.get("name", ""), "description": values.get("description")}
    errors: list[FieldError] = []
    for part in PARTS:
        text = values.get(part, "").strip()
        if not text:
            out[part] = {} if part == "conditions" else None
            if part != "conditions":
                errors.append(FieldError(part, "required", f"the {part} are required as JSON"))
            continue
        try:
            out[part] = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.append(
                FieldError(
                    part,
                    "json",
                    f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                )
            )
    return out, errors


def _field_errors(exc: DomainError) -> dict[str, str]:
    """Errors by the form field they belong to: ``trigger.days`` goes next to the trigger box,
    with its path kept in the message."""
    if not isinstance(exc, InvalidInput):
        return forms.errors_of(exc)
    out: dict[str, list[str]] = {}
    for e in exc.errors:
        head = e.field.split(".", 1)[0].split("[", 1)[0]
        box = head if head in (*PARTS, "name", "description") else "_"
        text = e.message if e.field == box else f"{e.field}: {e.message}"
        out.setdefault(box, []).append(text)
    found = {k: "; ".join(v) for k, v in out.items()}
    return found | {"_": found.get("_", "the rule was not saved: see the marked fields")}


def _phrase(items: list[dict[str, Any]], would_fire: int) -> str:
    """'This rule would create 14 tasks for Ann, Bo and 12 more.'"""
    if not would_fire:
        return "This rule would do nothing now."
    counts: Counter[str] = Counter()
    for item in items:
        if item.get("outcome") != "would_fire":
            continue
        for effect in item.get("actions") or []:
            kind = str(effect.get("type", ""))
            if kind == "create_activity":
                kind = f"create_activity:{effect.get('kind', 'task')}"
            counts[kind] += 1
    parts: list[str] = []
    for kind, n in counts.items():
        if kind.startswith("create_activity:"):
            noun = kind.split(":", 1)[1]
            parts.append(f"create {n} {noun}{'' if n == 1 else 's'}")
        else:
            one, many = VERBS.get(kind, (f"{kind} once", f"{kind} {{n}} times"))
            parts.append(one if n == 1 else many.format(n=n))
    names = [
        str(i.get("contact_name") or f"contact {i.get('contact_id')}")
        for i in items
        if i.get("outcome") == "would_fire" and i.get("contact_id")
    ]
    unique = list(dict.fromkeys(names))
    shown = unique[:5]
    more = would_fire - len(shown)
    who = ", ".join(shown) + (f" and {more} more" if more > 0 else "") if shown else ""
    what = (
        ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] if parts else "fire"
    )
    return f"This rule would {what} ({would_fire} firing{'' if would_fire == 1 else 's'})" + (
        f" for {who}." if who else "."
    )


def _simulation(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, "summary": _phrase(result.get("items") or [], result["would_fire"])}


def _help() -> dict[str, Any]:
    return {
        "trigger_types": R.TRIGGER_TYPES,
        "date_fields": R.DATE_FIELDS,
        "measures": R.INACTIVITY_MEASURES,
        "scopes": R.RECURRENCE_SCOPES,
        "ops": R.OPS,
        "action_types": R.ACTION_TYPES,
        "contact_fields": sorted(R.CONTACT_FIELDS),
        "event_types": sorted(e.value for e in EventType),
    }


def _editor(
    request: Request,
    ctx: Ctx,
    *,
    rule: Rule | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    simulation: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    runs = rules.list_runs(ctx, rule_id=rule.id, limit=20).items if rule else []
    return templates.TemplateResponse(
        request,
        "automation/rule.html",
        context(
            request,
            rule=rule,
            values=values,
            errors=errors or {},
            simulation=simulation,
            runs=runs,
            help=_help(),
            describe=_describe,
            pretty=_pretty,
        ),
        status_code=status,
    )


# --- the overview ----------------------------------------------------------------------------


@router.get("/automation")
def automation_page(request: Request, ctx: WebCtx) -> Response:
    rule_rows = rules.list_rules(ctx, limit=200).items
    runs = rules.list_runs(ctx, limit=RECENT_RUNS).items
    last: dict[int, list[Any]] = {}
    for run in runs:
        last.setdefault(run.rule_id, []).append(run)
    names = {r.id: r.name for r in rule_rows}
    me = request.state.me
    dead = jobs.list_jobs(ctx, status="dead", limit=50).items if me.is_admin else []
    return templates.TemplateResponse(
        request,
        "automation/automation.html",
        context(
            request,
            rules=rule_rows,
            last=last,
            runs=runs[:50],
            names=names,
            playbooks=playbooks.list_playbooks(ctx, limit=100).items,
            dead=dead,
            describe=_describe,
            pretty=_pretty,
            notice=request.query_params.get("done", ""),
        ),
    )


@router.post("/automation/rules/{rule_id}/enable")
def enable_rule(ctx: WebCtx, rule_id: int) -> Response:
    rules.set_enabled(ctx, rule_id, True)
    return RedirectResponse(f"/automation#rule-{rule_id}", status_code=303)


@router.post("/automation/rules/{rule_id}/disable")
def disable_rule(ctx: WebCtx, rule_id: int) -> Response:
    rules.set_enabled(ctx, rule_id, False)
    return RedirectResponse(f"/automation#rule-{rule_id}", status_code=303)


@router.post("/automation/defaults")
def install_defaults(ctx: WebCtx) -> Response:
    rules.install_defaults(ctx)
    return RedirectResponse("/automation?done=defaults", status_code=303)


@router.post("/automation/jobs/{job_id}/retry")
def retry_job(ctx: WebCtx, job_id: int) -> Response:
    jobs.retry(ctx, job_id)
    return RedirectResponse("/automation?done=retried#dead-jobs", status_code=303)


# --- one rule --------------------------------------------------------------------------------


def _require_admin(request: Request) -> None:
    """Before reading a form: a member's or viewer's post is refused, not half-checked (the
    services refuse it as well)."""
    if not request.state.me.is_admin:
        raise PermissionDenied("only owners and admins create and change rules")


@router.get("/automation/rules/new")
def new_rule(request: Request, ctx: WebCtx) -> Response:
    _require_admin(request)
    values = {k: v if isinstance(v, str) else _pretty(v) for k, v in NEW_RULE.items()}
    return _editor(request, ctx, rule=None, values=values)


@router.get("/automation/rules/{rule_id}")
def rule_page(request: Request, ctx: WebCtx, rule_id: int, simulate: str | None = None) -> Response:
    rule = rules.get_rule(ctx, rule_id)
    simulation = _simulation(rules.simulate(ctx, rule_id)) if simulate else None
    return _editor(request, ctx, rule=rule, values=_rule_values(rule), simulation=simulation)


async def _submitted(request: Request) -> dict[str, str]:
    form = await request.form()
    values = forms.values(form)
    return {k: values.get(k, "") for k in ("name", "description", "version", *PARTS)}


@router.post("/automation/rules")
async def create_rule(request: Request, ctx: WebCtx) -> Response:
    _require_admin(request)
    values = await _submitted(request)
    try:
        body, errors = _parse(values)
        forms.raise_if(errors)
        rule = rules.create_rule(
            ctx,
            name=str(body["name"]),
            description=str(body.get("description") or ""),
            trigger=body["trigger"],
            conditions=body["conditions"],
            actions=body["actions"],
        )
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        ctx.session.rollback()
        return _editor(
            request, ctx, rule=None, values=values, errors=_field_errors(exc), status=422
        )
    return RedirectResponse(f"/automation/rules/{rule.id}", status_code=303)


@router.post("/automation/rules/{rule_id}")
async def update_rule(request: Request, ctx: WebCtx, rule_id: int) -> Response:
    _require_admin(request)
    values = await _submitted(request)
    rule = rules.get_rule(ctx, rule_id)
    try:
        body, errors = _parse(values)
        version = forms.number(values.get("version", ""), "version", errors)
        forms.raise_if(errors)
        rules.update_rule(
            ctx,
            rule_id,
            expected_version=version,
            changes={k: body[k] for k in ("name", "description", *PARTS)},
        )
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        ctx.session.rollback()
        rule = rules.get_rule(ctx, rule_id)
        return _editor(
            request,
            ctx,
            rule=rule,
            values=values,
            errors=_field_errors(exc),
            status=422 if isinstance(exc, InvalidInput) else 409,
        )
    return RedirectResponse(f"/automation/rules/{rule_id}?saved=1", status_code=303)


async def _simulate_form(request: Request, ctx: Ctx, rule: Rule | None) -> Response:
    """Simulate what the form holds (the saved rule itself when unchanged): nothing is saved."""
    _require_admin(request)
    values = await _submitted(request)
    try:
        body, errors = _parse(values)
        forms.raise_if(errors)
        unchanged = rule is not None and all(
            body[p] == (getattr(rule, p) or ({} if p == "conditions" else None)) for p in PARTS
        )
        if rule is not None and unchanged:
            result = rules.simulate(ctx, rule.id)
        else:
            result = rules.simulate(ctx, draft=body)
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        return _editor(
            request, ctx, rule=rule, values=values, errors=_field_errors(exc), status=422
        )
    return _editor(request, ctx, rule=rule, values=values, simulation=_simulation(result))


@router.post("/automation/simulate")
async def simulate_draft(request: Request, ctx: WebCtx) -> Response:
    return await _simulate_form(request, ctx, None)


@router.post("/automation/rules/{rule_id}/simulate")
async def simulate_rule(request: Request, ctx: WebCtx, rule_id: int) -> Response:
    return await _simulate_form(request, ctx, rules.get_rule(ctx, rule_id))
