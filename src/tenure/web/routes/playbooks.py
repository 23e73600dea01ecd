"""/automation/playbooks: create and edit playbooks, see each client's progress, cancel runs;
and the two client-page actions that start and cancel a playbook for one client.

A step is edited as three fields (day, name, action as JSON: the action vocabulary is the
rules', too varied for fixed inputs). Blank rows are ignored, so the page offers a few spare
rows without JavaScript. The domain names a bad step by its position among the steps sent
(``steps[1].day``); the page maps it back to the row it came from, so the message sits next to
the field the user typed, and everything typed is shown again.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.db.models import Playbook
from tenure.domain import rules as R
from tenure.domain.errors import DomainError, FieldError, InvalidInput, NotFound, PermissionDenied
from tenure.services import playbooks
from tenure.services.context import Ctx
from tenure.web import forms
from tenure.web.deps import WebCtx
from tenure.web.render import build_templates, context

router = APIRouter()
templates = build_templates()

#: Blank step rows offered below the filled ones (more can be added after saving).
SPARE_ROWS = 2
RUNS_SHOWN = 100
STEP_PART = re.compile(r"^steps\[(\d+)\]\.(day|name|action)(.*)$")
NEW_STEP: dict[str, Any] = {
    "day": 0,
    "name": "Welcome",
    "action": {
        "type": "create_activity",
        "kind": "task",
        "title": "Welcome {contact.display_name}",
        "assignee": "owner",
    },
}


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _step_values(steps: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, step in enumerate(steps):
        out[f"step-{i}-day"] = str(step.get("day", 0))
        out[f"step-{i}-name"] = str(step.get("name") or "")
        out[f"step-{i}-action"] = _pretty(step.get("action") or {})
    return out


def _values_of(playbook: Playbook) -> dict[str, str]:
    return {
        "name": playbook.name,
        "description": playbook.description or "",
        "version": str(playbook.version),
        **_step_values(list(playbook.steps or [])),
    }


def _rows(values: dict[str, str]) -> int:
    """How many step rows the form shows: every row that holds something, plus spares."""
    used = [
        int(m.group(1))
        for k, v in values.items()
        if v.strip() and (m := re.match(r"^step-(\d+)-", k)) is not None
    ]
    return min(max(used, default=-1) + 1 + SPARE_ROWS, 50 + SPARE_ROWS)


def _parse_steps(
    values: dict[str, str],
) -> tuple[list[dict[str, Any]], list[int], list[FieldError]]:
    """The steps typed (blank rows skipped), the form row of each, and the errors of the text
    that is not a number or not JSON, named by row (``step-2-action``)."""
    steps: list[dict[str, Any]] = []
    rows: list[int] = []
    errors: list[FieldError] = []
    for row in range(_rows(values)):
        day, name, action = (values.get(f"step-{row}-{p}", "") for p in ("day", "name", "action"))
        if not (day.strip() or name.strip() or action.strip()):
            continue
        step: dict[str, Any] = {"name": name.strip() or None}
        step["day"] = forms.number(day or "0", f"step-{row}-day", errors)
        if not action.strip():
            errors.append(FieldError(f"step-{row}-action", "required", "what the step does"))
        else:
            try:
                step["action"] = json.loads(action)
            except json.JSONDecodeError as exc:
                message = f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
                errors.append(FieldError(f"step-{row}-action", "json", message))
        steps.append(step)
        rows.append(row)
    return steps, rows, errors


def _field_errors(exc: DomainError, rows: list[int]) -> dict[str, str]:
    """The domain's ``steps[i].part.more`` errors on the form row they came from."""
    if not isinstance(exc, InvalidInput):
        return forms.errors_of(exc)
    out: dict[str, list[str]] = {}
    for e in exc.errors:
        found = STEP_PART.match(e.field)
        if found and int(found.group(1)) < len(rows):
            key = f"step-{rows[int(found.group(1))]}-{found.group(2)}"
            rest = found.group(3).lstrip(".")
            text = f"{rest}: {e.message}" if rest else e.message
        elif e.field.startswith("steps["):  # a step that is not an object: its action box
            index = int(e.field[6:].split("]", 1)[0])
            key = f"step-{rows[index]}-action" if index < len(rows) else "steps"
            text = e.message
        else:
            key, text = e.field, e.message
        out.setdefault(key, []).append(text)
    found_all = {k: "; ".join(v) for k, v in out.items()}
    return found_all | {"_": "the playbook was not saved: see the marked fields"}


def _require_admin(request: Request) -> None:
    if not request.state.me.is_admin:
        raise PermissionDenied("only owners and admins create and change playbooks")


def _editor(
    request: Request,
    ctx: Ctx,
    *,
    playbook: Playbook | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    runs = playbooks.runs_of_playbook(ctx, playbook.id, limit=RUNS_SHOWN) if playbook else []
    return templates.TemplateResponse(
        request,
        "automation/playbook.html",
        context(
            request,
            playbook=playbook,
            values=values,
            errors=errors or {},
            rows=_rows(values),
            runs=runs,
            action_types=R.ACTION_TYPES,
            pretty=_pretty,
            notice=request.query_params.get("done", ""),
        ),
        status_code=status,
    )


async def _submitted(request: Request) -> dict[str, str]:
    return forms.values(await request.form())


def _safe_next(value: str, fallback: str) -> str:
    """Only a path of this site (never ``//host`` or a URL) is a place to go back to."""
    return value if value.startswith("/") and not value.startswith("//") else fallback


# --- pages -----------------------------------------------------------------------------------


@router.get("/automation/playbooks/new")
def new_playbook(request: Request, ctx: WebCtx) -> Response:
    _require_admin(request)
    values = {"name": "", "description": "", **_step_values([NEW_STEP])}
    return _editor(request, ctx, playbook=None, values=values)


@router.get("/automation/playbooks/{playbook_id}")
def playbook_page(request: Request, ctx: WebCtx, playbook_id: int) -> Response:
    playbook = playbooks.get_playbook(ctx, playbook_id)
    return _editor(request, ctx, playbook=playbook, values=_values_of(playbook))


@router.post("/automation/playbooks")
async def create_playbook(request: Request, ctx: WebCtx) -> Response:
    _require_admin(request)
    values = await _submitted(request)
    steps, rows, errors = _parse_steps(values)
    try:
        forms.raise_if(errors)
        playbook = playbooks.create_playbook(
            ctx,
            name=values.get("name", ""),
            description=values.get("description", ""),
            steps=steps,
        )
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        ctx.session.rollback()
        errs = forms.errors_of(exc) if errors else _field_errors(exc, rows)
        return _editor(request, ctx, playbook=None, values=values, errors=errs, status=422)
    return RedirectResponse(f"/automation/playbooks/{playbook.id}?done=created", status_code=303)


@router.post("/automation/playbooks/{playbook_id}")
async def update_playbook(request: Request, ctx: WebCtx, playbook_id: int) -> Response:
    _require_admin(request)
    values = await _submitted(request)
    playbook = playbooks.get_playbook(ctx, playbook_id)
    steps, rows, errors = _parse_steps(values)
    try:
        version = forms.number(values.get("version", ""), "version", errors)
        forms.raise_if(errors)
        playbooks.update_playbook(
            ctx,
            playbook_id,
            expected_version=version,
            changes={
                "name": values.get("name", ""),
                "description": values.get("description", ""),
                "steps": steps,
            },
        )
    except (PermissionDenied, NotFound):
        raise
    except DomainError as exc:
        ctx.session.rollback()
        playbook = playbooks.get_playbook(ctx, playbook_id)
        errs = forms.errors_of(exc) if errors else _field_errors(exc, rows)
        status = 422 if isinstance(exc, InvalidInput) else 409
        return _editor(request, ctx, playbook=playbook, values=values, errors=errs, status=status)
    return RedirectResponse(f"/automation/playbooks/{playbook_id}?done=saved", status_code=303)


@router.post("/automation/playbooks/{playbook_id}/{state}")
def set_enabled(request: Request, ctx: WebCtx, playbook_id: int, state: str) -> Response:
    if state not in ("enable", "disable"):
        raise NotFound(f"no action {state!r}")
    _require_admin(request)
    playbook = playbooks.get_playbook(ctx, playbook_id)
    playbooks.update_playbook(
        ctx,
        playbook_id,
        expected_version=playbook.version,
        changes={"enabled": state == "enable"},
    )
    return RedirectResponse(f"/automation/playbooks/{playbook_id}?done={state}d", status_code=303)


@router.post("/automation/playbook-runs/{run_id}/cancel")
async def cancel_run(request: Request, ctx: WebCtx, run_id: int) -> Response:
    form = await request.form()
    view = playbooks.get_run(ctx, run_id)
    playbooks.cancel(ctx, run_id, reason=forms.text(form, "reason") or "cancelled by hand")
    back = f"/automation/playbooks/{view.run.playbook_id}?done=cancelled#run-{run_id}"
    return RedirectResponse(_safe_next(forms.text(form, "next"), back), status_code=303)


# --- the client page's actions (registered in web/routes/contacts.py ACTIONS) ----------------


def start_for_client(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    """Start a playbook for this client by hand (``playbook_id`` from the form)."""
    errors: list[FieldError] = []
    playbook_id = forms.number(forms.text(form, "playbook_id"), "playbook_id", errors)
    forms.raise_if(errors)
    playbooks.start(ctx, playbook_id=playbook_id, contact_id=contact_id)


def cancel_for_client(ctx: Ctx, contact_id: int, form: Any, request: Request) -> None:
    """Cancel one of this client's runs (a run of another client is not found)."""
    errors: list[FieldError] = []
    run_id = forms.number(forms.text(form, "run_id"), "run_id", errors)
    forms.raise_if(errors)
    if playbooks.get_run(ctx, run_id).run.contact_id != contact_id:
        raise NotFound(f"playbook run {run_id} not found")
    playbooks.cancel(ctx, run_id, reason=forms.text(form, "reason") or "cancelled by hand")


def client_playbooks(ctx: Ctx, contact_id: int) -> dict[str, Any]:
    """What the client page shows of playbooks: this client's runs with their progress, and
    the enabled playbooks one can start (a constant number of queries)."""
    return {
        "playbook_runs": playbooks.runs_of_contact(ctx, contact_id),
        "playbook_choices": [
            p for p in playbooks.list_playbooks(ctx, limit=200).items if p.enabled
        ],
    }
