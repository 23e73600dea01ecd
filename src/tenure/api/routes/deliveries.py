"""/deliveries and /contacts/{id}/deliveries"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tenure.api.deps import CtxDep, ExpectedVersion, etag
from tenure.api.list_filters import DeliveryFilterDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.scheduling import (
    DeliveryCreate,
    DeliveryDeliver,
    DeliveryPage,
    DeliveryRead,
    DeliverySchedule,
    DeliveryStart,
    DeliveryUpdate,
    NoteBody,
    ReasonBody,
)
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.db.repositories.scheduling import DeliveryFilter
from tenure.domain.deliveries import DeliveryStatus
from tenure.services import deliveries as service

router = APIRouter(route_class=OneHopRoute, tags=["deliveries"])

Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _read(row: object, response: Response) -> DeliveryRead:
    read = DeliveryRead.model_validate(row)
    response.headers["ETag"] = etag(read.version)
    return read


@router.post("/deliveries", response_model=DeliveryRead, status_code=201)
def create_delivery(body: DeliveryCreate, ctx: CtxDep, response: Response) -> DeliveryRead:
    """A delivery with a start is scheduled (a confirmed delivery: it converts a contact);
    without one it is requested."""
    data = body.model_dump()
    contact_id = data.pop("contact_id")
    row = service.create_delivery(ctx, contact_id, **data)
    response.headers["Location"] = f"/api/v1/deliveries/{row.id}"
    return _read(row, response)


def _page(ctx: CtxDep, filters: DeliveryFilter, cursor: str | None, limit: int) -> DeliveryPage:
    page = service.list_deliveries(ctx, filters=filters, cursor=cursor, limit=limit)
    return DeliveryPage(
        items=[DeliveryRead.model_validate(d) for d in page.items], next_cursor=page.next_cursor
    )


@router.get("/deliveries", response_model=DeliveryPage)
def list_deliveries(
    ctx: CtxDep, filters: DeliveryFilterDep, cursor: Cursor = None, limit: Limit = 50
) -> DeliveryPage:
    """Newest first."""
    return _page(ctx, filters, cursor, limit)


@router.get("/contacts/{contact_id}/deliveries", response_model=DeliveryPage)
def contact_deliveries(
    contact_id: int,
    ctx: CtxDep,
    status: DeliveryStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> DeliveryPage:
    filters = DeliveryFilter(contact_id=contact_id, status=status.value if status else None)
    return _page(ctx, filters, cursor, limit)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryRead)
def get_delivery(delivery_id: int, ctx: CtxDep, response: Response) -> DeliveryRead:
    return _read(service.get_delivery(ctx, delivery_id), response)


@router.patch("/deliveries/{delivery_id}", response_model=DeliveryRead)
def update_delivery(
    delivery_id: int,
    body: DeliveryUpdate,
    ctx: CtxDep,
    version: ExpectedVersion,
    response: Response,
) -> DeliveryRead:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    row = service.update_delivery(ctx, delivery_id, expected_version=version, changes=changes)
    return _read(row, response)


@router.post("/deliveries/{delivery_id}/schedule", response_model=DeliveryRead)
def schedule(
    delivery_id: int, body: DeliverySchedule, ctx: CtxDep, response: Response
) -> DeliveryRead:
    """requested → scheduled."""
    return _read(service.schedule(ctx, delivery_id, **body.model_dump()), response)


@router.post("/deliveries/{delivery_id}/start", response_model=DeliveryRead)
def start(
    delivery_id: int, ctx: CtxDep, response: Response, body: DeliveryStart | None = None
) -> DeliveryRead:
    """scheduled → in progress."""
    body = body or DeliveryStart()
    return _read(service.start(ctx, delivery_id, actual_start=body.actual_start), response)


@router.post("/deliveries/{delivery_id}/deliver", response_model=DeliveryRead)
def deliver(
    delivery_id: int, ctx: CtxDep, response: Response, body: DeliveryDeliver | None = None
) -> DeliveryRead:
    """scheduled or in progress → delivered."""
    body = body or DeliveryDeliver()
    return _read(service.deliver(ctx, delivery_id, **body.model_dump()), response)


@router.post("/deliveries/{delivery_id}/cancel", response_model=DeliveryRead)
def cancel(
    delivery_id: int, ctx: CtxDep, response: Response, body: ReasonBody | None = None
) -> DeliveryRead:
    """requested or scheduled → cancelled."""
    return _read(service.cancel(ctx, delivery_id, reason=body.reason if body else ""), response)


@router.post("/deliveries/{delivery_id}/no-show", response_model=DeliveryRead)
def no_show(
    delivery_id: int, ctx: CtxDep, response: Response, body: NoteBody | None = None
) -> DeliveryRead:
    """scheduled → no_show: the client missed the agreed time."""
    return _read(service.no_show(ctx, delivery_id, note=body.note if body else ""), response)
