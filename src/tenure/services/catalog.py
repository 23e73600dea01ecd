"""The workspace's catalog of services (what it delivers, how long, for how much)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenure.db.models import Service
from tenure.db.repositories.pagination import (
    Page,
    check_limit,
    decode_cursor,
    page_of,
)
from tenure.db.repositories.scheduling import ServiceRepository
from tenure.domain.access import Permission
from tenure.domain.errors import DuplicateValue, FieldError, InvalidInput, PreconditionFailed
from tenure.domain.money import is_currency
from tenure.services.context import Ctx

FIELDS = (
    "name",
    "description",
    "default_duration_minutes",
    "default_price_minor",
    "currency",
    "active",
)
MAX_DURATION_MINUTES = 7 * 24 * 60


def _repo(ctx: Ctx) -> ServiceRepository:
    return ServiceRepository(ctx.session, ctx.workspace_id)


def create_service(
    ctx: Ctx,
    *,
    name: str,
    description: str = "",
    default_duration_minutes: int = 60,
    default_price_minor: int | None = None,
    currency: str | None = None,
    active: bool = True,
) -> Service:
    ctx.require(Permission.ADMIN)
    service = Service(created_at=ctx.now, updated_at=ctx.now)
    _assign(
        ctx,
        service,
        {
            "name": name,
            "description": description,
            "default_duration_minutes": default_duration_minutes,
            "default_price_minor": default_price_minor,
            "currency": currency,
            "active": active,
        },
    )
    _repo(ctx).add(service)
    ctx.session.flush()
    return service


def update_service(
    ctx: Ctx, service_id: int, *, expected_version: int, changes: Mapping[str, Any]
) -> Service:
    ctx.require(Permission.ADMIN)
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise InvalidInput([FieldError(n, "read-only", "cannot be changed") for n in unknown])
    service = _repo(ctx).get(service_id, for_update=True)
    if service.version != expected_version:
        raise PreconditionFailed(
            f"service {service_id} is at version {service.version}, not {expected_version}",
            current_version=service.version,
        )
    current = {name: getattr(service, name) for name in FIELDS}
    _assign(ctx, service, {**current, **changes})
    service.updated_at = ctx.now
    ctx.session.flush()
    return service


def get_service(ctx: Ctx, service_id: int) -> Service:
    ctx.require(Permission.READ)
    return _repo(ctx).get(service_id)


def list_services(
    ctx: Ctx, *, active: bool | None = None, cursor: str | None = None, limit: int = 50
) -> Page:
    ctx.require(Permission.READ)
    check_limit(limit)
    after = decode_cursor(cursor, arity=2, types=(str, int)) if cursor else None
    rows = _repo(ctx).page(active=active, after=after, limit=limit)
    return page_of(rows, limit, key=lambda s: [s.name, s.id])


def _assign(ctx: Ctx, service: Service, values: Mapping[str, Any]) -> None:
    errors: list[FieldError] = []
    name = (values.get("name") or "").strip()
    if not name:
        errors.append(FieldError("name", "required", "a service needs a name"))
    duration = values.get("default_duration_minutes")
    if not isinstance(duration, int) or not 1 <= duration <= MAX_DURATION_MINUTES:
        duration = 0
        errors.append(
            FieldError(
                "default_duration_minutes", "range", f"between 1 and {MAX_DURATION_MINUTES} minutes"
            )
        )
    price = values.get("default_price_minor")
    currency = values.get("currency")
    if price is not None and price < 0:
        errors.append(FieldError("default_price_minor", "min", "must not be negative"))
    if currency is not None:
        currency = currency.upper()
        if not is_currency(currency):
            errors.append(FieldError("currency", "iso-4217", f"{currency!r} is not a currency"))
    if price is not None and currency is None:
        errors.append(FieldError("currency", "required", "a price needs a currency"))
    if errors:
        raise InvalidInput(errors)
    if name != service.name:
        existing = _repo(ctx).by_name(name)
        if existing is not None and existing.id != service.id:
            raise DuplicateValue(f"a service named {name!r} exists", field="name")
    service.name = name
    service.description = values.get("description") or ""
    service.default_duration_minutes = duration
    service.default_price_minor = price
    service.currency = currency
    service.active = bool(values.get("active", True))
