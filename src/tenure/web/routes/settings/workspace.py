"""/settings: the workspace's name, time zone and defaults."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.domain.errors import DomainError, FieldError
from tenure.domain.health import DEFAULT_WEIGHTS
from tenure.services import workspace_settings
from tenure.services.context import Ctx
from tenure.web import forms
from tenure.web.deps import WebCtx
from tenure.web.routes.settings.common import page, refusal

router = APIRouter()

_ZONES: list[str] = []

SIGNALS = {
    "touch": "Touch overdue",
    "commitments": "Promises broken or late",
    "tasks": "Overdue tasks",
    "cases": "Open cases",
    "service": "Service gaps",
    "renewal": "Renewal coming",
    "outcomes": "Delivery outcomes",
}


def _zones() -> list[str]:
    if not _ZONES:
        _ZONES.extend(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))
    return _ZONES


def _workspace_page(request: Request, ctx: Ctx, status: int = 200, **values: Any) -> Response:
    current = workspace_settings.read(ctx)
    return page(
        request,
        "settings/workspace.html",
        tab="/settings",
        status=status,
        profile=workspace_settings.profile(ctx),
        current=current,
        cadence_lines="\n".join(f"{t} = {d}" for t, d in sorted(current.cadence_by_tag.items())),
        signals=[(k, SIGNALS.get(k, k)) for k in DEFAULT_WEIGHTS],
        zones=_zones(),
        **values,
    )


@router.get("/settings")
def settings_home(request: Request, ctx: WebCtx) -> Response:
    return _workspace_page(request, ctx)


@router.post("/settings/workspace")
async def save_profile(request: Request, ctx: WebCtx) -> Response:
    form = await request.form()
    try:
        workspace_settings.update_profile(
            ctx, name=forms.text(form, "name"), timezone=forms.text(form, "timezone")
        )
    except DomainError as exc:
        return _workspace_page(request, ctx, **refusal(ctx, exc, form, "profile"))
    return RedirectResponse("/settings?saved=profile#profile", status_code=303)


def parse_cadence_by_tag(value: str, errors: list[FieldError]) -> dict[str, Any]:
    """Lines of ``tag = days`` (or ``tag: days``); the service checks the tags and numbers."""
    out: dict[str, Any] = {}
    for n, line in enumerate(value.splitlines(), start=1):
        if not line.strip():
            continue
        tag, sep, days = line.replace(":", "=").partition("=")
        if not sep or not tag.strip():
            errors.append(
                FieldError("cadence_by_tag", "format", f"line {n}: write it as  tag = days")
            )
            continue
        number = forms.number(days, "cadence_by_tag", errors)
        if number is not None:
            out[tag.strip()] = number
    return out


@router.post("/settings/defaults")
async def save_defaults(request: Request, ctx: WebCtx) -> Response:
    form = await request.form()
    errors: list[FieldError] = []
    changes: dict[str, Any] = {
        name: forms.number(forms.text(form, name), name, errors)
        for name in ("default_cadence_days", "stale_knowledge_days", "schedule_horizon_days")
    }
    changes["cadence_by_tag"] = parse_cadence_by_tag(forms.raw(form, "cadence_by_tag"), errors)
    changes["health_weights"] = {
        k: forms.number(forms.text(form, f"health_weights.{k}"), f"health_weights.{k}", errors)
        for k in DEFAULT_WEIGHTS
    }
    try:
        forms.raise_if(errors)
        workspace_settings.update(ctx, changes)
    except DomainError as exc:
        return _workspace_page(request, ctx, **refusal(ctx, exc, form, "defaults"))
    return RedirectResponse("/settings?saved=defaults#defaults", status_code=303)
