"""/settings/email: the outgoing mail server (admins) and the email templates (writers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.domain.access import Permission, can
from tenure.domain.errors import DomainError, FieldError
from tenure.services import email
from tenure.services.context import Ctx
from tenure.web import forms
from tenure.web.deps import WebCtx
from tenure.web.routes.settings.common import page, refusal

router = APIRouter()

TEMPLATE_FIELDS = ("name", "subject", "text_body", "html_body")


def _email_page(
    request: Request, ctx: Ctx, *, cursor: str | None = None, status: int = 200, **values: Any
) -> Response:
    admin = can(ctx.role, Permission.ADMIN)
    listing = email.list_templates(ctx, cursor=cursor or None, limit=100)
    return page(
        request,
        "settings/email.html",
        tab="/settings/email",
        status=status,
        smtp=email.get_smtp_settings(ctx) if admin else None,
        securities=[(s.value, s.value) for s in email.Security],
        templates=listing.items,
        next_url=(f"/settings/email?cursor={listing.next_cursor}" if listing.next_cursor else None),
        **values,
    )


@router.get("/settings/email")
def email_page(request: Request, ctx: WebCtx, cursor: str | None = None) -> Response:
    return _email_page(request, ctx, cursor=cursor)


@router.post("/settings/email/smtp")
async def save_smtp(request: Request, ctx: WebCtx) -> Response:
    form = await request.form()
    errors: list[FieldError] = []
    port = forms.number(forms.text(form, "port"), "port", errors, required=False)
    try:
        security = email.Security(forms.text(form, "security") or "starttls")
    except ValueError:
        errors.append(FieldError("security", "choice", "choose how to connect"))
        security = email.Security.STARTTLS
    # The password is never shown back: empty keeps the stored one, unless asked to clear it.
    typed = forms.raw(form, "password")
    password = "" if forms.text(form, "clear_password") == "1" else (typed or None)
    try:
        forms.raise_if(errors)
        email.set_smtp_settings(
            ctx,
            host=forms.text(form, "host"),
            port=port,
            security=security,
            username=forms.text(form, "username"),
            password=password,
            from_address=forms.text(form, "from_address"),
            from_name=forms.text(form, "from_name"),
        )
    except DomainError as exc:
        return _email_page(request, ctx, **refusal(ctx, exc, form, "smtp"))
    return RedirectResponse("/settings/email?saved=smtp#smtp", status_code=303)


@router.post("/settings/email/test")
async def send_test(request: Request, ctx: WebCtx) -> Response:
    form = await request.form()
    try:
        message = email.send_test(ctx)
    except DomainError as exc:
        return _email_page(request, ctx, **refusal(ctx, exc, form, "smtp"))
    return _email_page(request, ctx, test_sent_to=", ".join(message.recipients))


def _template_page(
    request: Request, ctx: Ctx, template_id: int | None, *, status: int = 200, **values: Any
) -> Response:
    template = email.get_template(ctx, template_id) if template_id is not None else None
    return page(
        request,
        "settings/email_template.html",
        tab="/settings/email",
        status=status,
        template=template,
        **values,
    )


@router.get("/settings/email/templates/new")
def new_template(request: Request, ctx: WebCtx) -> Response:
    return _template_page(request, ctx, None)


@router.post("/settings/email/templates")
async def create_template(request: Request, ctx: WebCtx) -> Response:
    form = await request.form()
    try:
        template = email.create_template(
            ctx, **{name: forms.raw(form, name) for name in TEMPLATE_FIELDS}
        )
    except DomainError as exc:
        return _template_page(request, ctx, None, **refusal(ctx, exc, form, "template"))
    return RedirectResponse(f"/settings/email/templates/{template.id}?saved=1", status_code=303)


@router.get("/settings/email/templates/{template_id}")
def template_page(request: Request, ctx: WebCtx, template_id: int) -> Response:
    return _template_page(request, ctx, template_id)


@router.post("/settings/email/templates/{template_id}")
async def update_template(request: Request, ctx: WebCtx, template_id: int) -> Response:
    form = await request.form()
    errors: list[FieldError] = []
    version = forms.number(forms.text(form, "version"), "version", errors)
    try:
        forms.raise_if(errors)
        email.update_template(
            ctx,
            template_id,
            expected_version=version,
            changes={name: forms.raw(form, name) for name in TEMPLATE_FIELDS},
        )
    except DomainError as exc:
        return _template_page(request, ctx, template_id, **refusal(ctx, exc, form, "template"))
    return RedirectResponse(f"/settings/email/templates/{template_id}?saved=1", status_code=303)
