"""/settings/webhooks: where events are sent (admins): list, create (secret shown once),
deactivate and activate again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.domain.access import Permission, can
from tenure.domain.errors import DomainError, FieldError
from tenure.services import webhooks
from tenure.services.context import Ctx
from tenure.services.webhooks import NewSecret
from tenure.web import forms
from tenure.web.deps import WebCtx
from tenure.web.routes.settings.common import page, refusal

router = APIRouter()


def _webhooks_page(
    request: Request,
    ctx: Ctx,
    *,
    cursor: str | None = None,
    new: NewSecret | None = None,
    status: int = 200,
    **values: Any,
) -> Response:
    listing = (
        webhooks.list_subscriptions(ctx, cursor=cursor or None, limit=100)
        if can(ctx.role, Permission.ADMIN)
        else None
    )
    return page(
        request,
        "settings/webhooks.html",
        tab="/settings/webhooks",
        status=status,
        secret_shown=new is not None,
        subscriptions=listing.items if listing else [],
        next_url=(
            f"/settings/webhooks?cursor={listing.next_cursor}"
            if listing and listing.next_cursor
            else None
        ),
        event_types=webhooks.known_event_types(),
        new=new,
        **values,
    )


@router.get("/settings/webhooks")
def webhooks_page(request: Request, ctx: WebCtx, cursor: str | None = None) -> Response:
    return _webhooks_page(request, ctx, cursor=cursor)


@router.post("/settings/webhooks")
async def create_webhook(request: Request, ctx: WebCtx) -> Response:
    form = await request.form()
    chosen = [t for t in form.getlist("event_types") if isinstance(t, str)]
    try:
        new = webhooks.create_subscription(
            ctx,
            url=forms.text(form, "url"),
            event_types=["*"] if forms.text(form, "all_events") == "1" else chosen,
            description=forms.text(form, "description"),
        )
    except DomainError as exc:
        shown = refusal(ctx, exc, form, "webhook")
        shown["chosen"] = chosen
        return _webhooks_page(request, ctx, **shown)
    return _webhooks_page(request, ctx, new=new)


@router.post("/settings/webhooks/{subscription_id}/active")
async def set_active(request: Request, ctx: WebCtx, subscription_id: int) -> Response:
    form = await request.form()
    errors: list[FieldError] = []
    version = forms.number(forms.text(form, "version"), "version", errors)
    try:
        forms.raise_if(errors)
        webhooks.update_subscription(
            ctx,
            subscription_id,
            expected_version=version,
            changes={"active": forms.text(form, "active") == "1"},
        )
    except DomainError as exc:
        return _webhooks_page(request, ctx, **refusal(ctx, exc, form, f"hook-{subscription_id}"))
    return RedirectResponse(f"/settings/webhooks#hook-{subscription_id}", status_code=303)
