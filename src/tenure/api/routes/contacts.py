"""/contacts"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from tenure.api.contact_filters import ContactFilterDep
from tenure.api.deps import CtxDep, ExpectedVersion, etag
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.contacts import (
    ContactCreate,
    ContactPage,
    ContactRead,
    ContactSort,
    ContactUpdate,
    contact_page,
    contact_read,
)
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.services import contacts as service
from tenure.services.contacts import EmailIn, OrganizationLink, PhoneIn

router = APIRouter(route_class=OneHopRoute, prefix="/contacts", tags=["contacts"])

#: PostgreSQL text cannot hold NUL, so a search for one is refused rather than sent.


def _inputs(body: ContactCreate | ContactUpdate, fields: set[str]) -> dict[str, object]:
    """Schema → service arguments, only for the fields the client sent."""
    out: dict[str, object] = {}
    for name in fields:
        value = getattr(body, name)
        if name == "emails":
            value = [EmailIn(e.email, e.label, e.primary) for e in body.emails]
        elif name == "phones":
            value = [PhoneIn(p.number, p.label, p.primary) for p in body.phones]
        elif name == "organizations":
            value = [OrganizationLink(o.organization_id, o.title) for o in body.organizations]
        elif name == "address":
            value = body.address.model_dump() if body.address else None
        out[name] = value
    return out


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ContactRead)
def create_contact(body: ContactCreate, ctx: CtxDep, response: Response) -> ContactRead:
    fields = set(ContactCreate.model_fields) - {"kind"}
    view = service.create_contact(ctx, kind=body.kind, **_inputs(body, fields))  # type: ignore[arg-type]
    response.headers["ETag"] = etag(view.contact.version)
    response.headers["Location"] = f"/api/v1/contacts/{view.contact.id}"
    return contact_read(view, ctx.today)


@router.get("", response_model=ContactPage)
def list_contacts(
    ctx: CtxDep,
    filters: ContactFilterDep,
    sort: ContactSort = "name",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> ContactPage:
    page = service.list_contacts(ctx, filters=filters, sort=sort, cursor=cursor, limit=limit)
    views = [service.ContactView(c) for c in page.items]
    return contact_page(views, ctx.today, page.next_cursor)


@router.get("/{contact_id}", response_model=ContactRead)
def get_contact(contact_id: int, ctx: CtxDep, response: Response) -> ContactRead:
    view = service.get_contact(ctx, contact_id)
    response.headers["ETag"] = etag(view.contact.version)
    return contact_read(view, ctx.today)


@router.patch("/{contact_id}", response_model=ContactRead)
def update_contact(
    contact_id: int,
    body: ContactUpdate,
    ctx: CtxDep,
    version: ExpectedVersion,
    response: Response,
) -> ContactRead:
    view = service.update_contact(
        ctx,
        contact_id,
        expected_version=version,
        changes=_inputs(body, body.model_fields_set),
    )
    response.headers["ETag"] = etag(view.contact.version)
    return contact_read(view, ctx.today)
