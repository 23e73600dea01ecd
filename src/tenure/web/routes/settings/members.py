"""/settings/members: who works in the workspace, their roles, and invites."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.domain.access import Permission, Role, can
from tenure.domain.errors import DomainError, FieldError
from tenure.services import access
from tenure.services.access import NewInvite
from tenure.services.context import Ctx
from tenure.web import forms
from tenure.web.deps import WebCtx
from tenure.web.routes.settings.common import page, refusal

router = APIRouter()

ROLE_HELP = {
    Role.OWNER: "everything, including other owners",
    Role.ADMIN: "everything but owners: members, settings, integrations",
    Role.MEMBER: "day-to-day client work",
    Role.VIEWER: "reads everything, changes nothing",
}


def _role(value: str, errors: list[FieldError]) -> Role:
    try:
        return Role(value)
    except ValueError:
        errors.append(FieldError("role", "choice", "choose a role"))
        return Role.VIEWER


def _members_page(
    request: Request,
    ctx: Ctx,
    *,
    invite: NewInvite | None = None,
    status: int = 200,
    **values: Any,
) -> Response:
    admin = can(ctx.role, Permission.ADMIN)
    return page(
        request,
        "settings/members.html",
        tab="/settings/members",
        status=status,
        secret_shown=invite is not None,
        members=access.list_members(ctx),
        invites=access.pending_invites(ctx) if admin else {},
        roles=[(r.value, f"{r.value} — {ROLE_HELP[r]}") for r in Role],
        invite=invite,
        invite_url=(
            str(request.url_for("invite_page", token=invite.token)) if invite is not None else None
        ),
        **values,
    )


@router.get("/settings/members")
def members_page(request: Request, ctx: WebCtx) -> Response:
    return _members_page(request, ctx)


@router.post("/settings/members")
async def add_member(request: Request, ctx: WebCtx) -> Response:
    form = await request.form()
    errors: list[FieldError] = []
    role = _role(forms.text(form, "role"), errors)
    try:
        forms.raise_if(errors)
        added = access.invite_member(
            ctx,
            email=forms.text(form, "email"),
            role=role,
            name=forms.text(form, "name"),
            password=forms.raw(form, "password") or None,
        )
    except DomainError as exc:
        return _members_page(request, ctx, **refusal(ctx, exc, form, "add"))
    if added.invite is not None:
        return _members_page(request, ctx, invite=added.invite, added=added.user.email)
    return RedirectResponse(f"/settings/members?added={added.user.id}", status_code=303)


@router.post("/settings/members/{user_id}/role")
async def change_role(request: Request, ctx: WebCtx, user_id: int) -> Response:
    form = await request.form()
    errors: list[FieldError] = []
    role = _role(forms.text(form, "role"), errors)
    try:
        forms.raise_if(errors)
        access.change_role(ctx, user_id, role)
    except DomainError as exc:
        return _members_page(request, ctx, **refusal(ctx, exc, form, f"member-{user_id}"))
    return RedirectResponse(f"/settings/members#member-{user_id}", status_code=303)


@router.post("/settings/members/{user_id}/remove")
async def remove_member(request: Request, ctx: WebCtx, user_id: int) -> Response:
    form = await request.form()
    try:
        access.remove_member(ctx, user_id)
    except DomainError as exc:
        return _members_page(request, ctx, **refusal(ctx, exc, form, f"member-{user_id}"))
    return RedirectResponse("/settings/members", status_code=303)


@router.post("/settings/members/{user_id}/invite")
async def new_invite(request: Request, ctx: WebCtx, user_id: int) -> Response:
    form = await request.form()
    try:
        invite = access.create_invite(ctx, user_id)
    except DomainError as exc:
        return _members_page(request, ctx, **refusal(ctx, exc, form, f"member-{user_id}"))
    return _members_page(request, ctx, invite=invite, added=invite.user.email)
