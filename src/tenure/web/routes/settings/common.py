"""What the settings pages share: the section tabs and how a page is answered."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from tenure.domain.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from tenure.services.context import Ctx
from tenure.web import forms
from tenure.web.render import build_templates, context

templates = build_templates()

TABS = [
    ("/settings", "Workspace"),
    ("/settings/members", "Members"),
    ("/settings/tokens", "API tokens"),
    ("/settings/email", "Email"),
    ("/settings/webhooks", "Webhooks"),
    ("/settings/services", "Services"),
    ("/settings/data", "Data"),
    ("/settings/audit", "Audit log"),
]


def page(
    request: Request,
    template_name: str,
    /,
    *,
    tab: str,
    status: int = 200,
    secret_shown: bool = False,
    **values: Any,
) -> Response:
    values.setdefault("form", None)
    values.setdefault("errors", {})
    values.setdefault("values", {})
    response = templates.TemplateResponse(
        request,
        template_name,
        context(request, tabs=TABS, tab=tab, **values),
        status_code=status,
    )
    if secret_shown:
        # A secret shown once must not stay in a cache or come back with the back button.
        response.headers["Cache-Control"] = "no-store"
    return response


def refusal(ctx: Ctx, exc: DomainError, form: Any, name: str) -> dict[str, Any]:
    """Undo the refused action and say what to show: the message by field, what was typed,
    and the status code. Permission and missing-record errors are not form mistakes: they
    go to the error page."""
    if isinstance(exc, (PermissionDenied, NotFound)):
        raise exc
    ctx.session.rollback()
    return {
        "form": name,
        "errors": forms.errors_of(exc),
        "values": forms.values(form),
        "status": 422 if isinstance(exc, InvalidInput) else 409,
    }
