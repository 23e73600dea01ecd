"""/settings/tokens: API tokens (mine; everyone's for admins), created shown once, revoked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.domain.errors import DomainError
from tenure.services import access
from tenure.services.access import NewToken
from tenure.services.context import Ctx
from tenure.web import forms
from tenure.web.deps import WebCtx
from tenure.web.routes.settings.common import page, refusal

router = APIRouter()


def _tokens_page(
    request: Request, ctx: Ctx, *, new: NewToken | None = None, status: int = 200, **values: Any
) -> Response:
    return page(
        request,
        "settings/tokens.html",
        tab="/settings/tokens",
        status=status,
        secret_shown=new is not None,
        tokens=access.list_tokens(ctx),
        names={u.id: u.name or u.email for _, u in access.list_members(ctx)},
        new=new,
        **values,
    )


@router.get("/settings/tokens")
def tokens_page(request: Request, ctx: WebCtx) -> Response:
    return _tokens_page(request, ctx)


@router.post("/settings/tokens")
async def create_token(request: Request, ctx: WebCtx) -> Response:
    form = await request.form()
    try:
        new = access.issue_token(ctx, name=forms.text(form, "name"))
    except DomainError as exc:
        return _tokens_page(request, ctx, **refusal(ctx, exc, form, "token"))
    return _tokens_page(request, ctx, new=new)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(request: Request, ctx: WebCtx, token_id: int) -> Response:
    access.revoke_token(ctx, token_id)
    return RedirectResponse("/settings/tokens", status_code=303)
