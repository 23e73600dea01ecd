"""/settings/services: the catalog of services the workspace delivers (admins edit)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.domain.errors import DomainError, FieldError
from tenure.services import catalog
from tenure.services.context import Ctx
from tenure.web import forms
from tenure.web.deps import WebCtx
from tenure.web.routes.settings.common import page, refusal

router = APIRouter()


def price_minor(value: str, errors: list[FieldError]) -> int | None:
    """A price typed in major units ("120", "99.50") as minor units."""
    if not value.strip():
        return None
    try:
        amount = Decimal(value.strip().replace(",", ""))
    except InvalidOperation:
        errors.append(FieldError("price", "number", "not an amount"))
        return None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        errors.append(FieldError("price", "number", "at most two decimals"))
        return None
    return int(amount * 100)


def price_text(value: int | None) -> str:
    return "" if value is None else f"{Decimal(value) / 100:.2f}"


def _fields(form: Any) -> dict[str, Any]:
    errors: list[FieldError] = []
    values = {
        "name": forms.text(form, "name"),
        "description": forms.raw(form, "description"),
        "default_duration_minutes": forms.number(
            forms.text(form, "default_duration_minutes"), "default_duration_minutes", errors
        ),
        "default_price_minor": price_minor(forms.text(form, "price"), errors),
        "currency": forms.text(form, "currency").upper() or None,
        "active": forms.text(form, "active") == "1",
    }
    forms.raise_if(errors)
    return values


def _refused(ctx: Ctx, exc: DomainError, form: Any) -> dict[str, Any]:
    shown = refusal(ctx, exc, form, "service")
    # The form's field is the price in major units; the service names its minor units.
    if "default_price_minor" in shown["errors"]:
        shown["errors"]["price"] = shown["errors"].pop("default_price_minor")
    return shown


def _catalog_page(
    request: Request, ctx: Ctx, *, cursor: str | None = None, status: int = 200, **values: Any
) -> Response:
    listing = catalog.list_services(ctx, cursor=cursor or None, limit=100)
    return page(
        request,
        "settings/services.html",
        tab="/settings/services",
        status=status,
        services=listing.items,
        next_url=(
            f"/settings/services?cursor={listing.next_cursor}" if listing.next_cursor else None
        ),
        price_text=price_text,
        **values,
    )


@router.get("/settings/services")
def services_page(request: Request, ctx: WebCtx, cursor: str | None = None) -> Response:
    return _catalog_page(request, ctx, cursor=cursor)


@router.post("/settings/services")
async def create_service(request: Request, ctx: WebCtx) -> Response:
    form = await request.form()
    try:
        catalog.create_service(ctx, **_fields(form))
    except DomainError as exc:
        return _catalog_page(request, ctx, **_refused(ctx, exc, form))
    return RedirectResponse("/settings/services?saved=1", status_code=303)


def _service_page(
    request: Request, ctx: Ctx, service_id: int, *, status: int = 200, **values: Any
) -> Response:
    return page(
        request,
        "settings/service.html",
        tab="/settings/services",
        status=status,
        service=catalog.get_service(ctx, service_id),
        price_text=price_text,
        **values,
    )


@router.get("/settings/services/{service_id}")
def service_page(request: Request, ctx: WebCtx, service_id: int) -> Response:
    return _service_page(request, ctx, service_id)


@router.post("/settings/services/{service_id}")
async def update_service(request: Request, ctx: WebCtx, service_id: int) -> Response:
    form = await request.form()
    errors: list[FieldError] = []
    version = forms.number(forms.text(form, "version"), "version", errors)
    try:
        forms.raise_if(errors)
        catalog.update_service(ctx, service_id, expected_version=version, changes=_fields(form))
    except DomainError as exc:
        return _service_page(request, ctx, service_id, **_refused(ctx, exc, form))
    return RedirectResponse("/settings/services?saved=1", status_code=303)
