"""A contact's personal data from the client page (owners and admins): download it as JSON,
or erase it after a confirmation form (see ``services.privacy``)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.domain.access import Permission
from tenure.domain.errors import Conflict, FieldError, InvalidInput
from tenure.http import client_ip
from tenure.services import contacts, privacy
from tenure.services.context import Ctx
from tenure.web import forms
from tenure.web.deps import WebCtx
from tenure.web.render import build_templates, context

router = APIRouter()
templates = build_templates()


def _confirm_page(
    request: Request, ctx: Ctx, contact_id: int, *, errors: dict[str, str], status: int = 200
) -> Response:
    ctx.require(Permission.ADMIN)
    contact = contacts.get_contact(ctx, contact_id).contact
    return templates.TemplateResponse(
        request,
        "privacy/erase.html",
        context(request, c=contact, errors=errors),
        status_code=status,
    )


@router.get("/contacts/{contact_id}/privacy/erase")
def erase_form(request: Request, ctx: WebCtx, contact_id: int) -> Response:
    return _confirm_page(request, ctx, contact_id, errors={})


@router.post("/contacts/{contact_id}/privacy/erase")
async def erase(request: Request, ctx: WebCtx, contact_id: int) -> Response:
    form = await request.form()
    try:
        if forms.text(form, "confirm") != "yes":
            raise InvalidInput(
                [FieldError("confirm", "required", "tick the box to confirm the erasure")]
            )
        privacy.erase(ctx, contact_id, ip=client_ip(request))
    except (InvalidInput, Conflict) as exc:
        ctx.session.rollback()
        status = 422 if isinstance(exc, InvalidInput) else 409
        return _confirm_page(request, ctx, contact_id, errors=forms.errors_of(exc), status=status)
    return RedirectResponse(f"/contacts/{contact_id}", status_code=303)


@router.get("/contacts/{contact_id}/privacy/personal-data.json")
def download(request: Request, ctx: WebCtx, contact_id: int) -> Response:
    data = privacy.personal_data(ctx, contact_id, ip=client_ip(request))
    name = f"contact-{contact_id}-personal-data.json"
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False, default=str),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            # A copy of someone's personal data: never kept in a cache.
            "Cache-Control": "no-store",
        },
    )
