"""/services: the catalog of services"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tenure.api.deps import CtxDep, ExpectedVersion, etag
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.scheduling import ServiceCreate, ServicePage, ServiceRead, ServiceUpdate
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.services import catalog as service

router = APIRouter(route_class=OneHopRoute, prefix="/services", tags=["services"])


def _read(row: object, response: Response) -> ServiceRead:
    read = ServiceRead.model_validate(row)
    response.headers["ETag"] = etag(read.version)
    return read


@router.post("", response_model=ServiceRead, status_code=201)
def create_service(body: ServiceCreate, ctx: CtxDep, response: Response) -> ServiceRead:
    """Add a service to the catalog (owners and admins)."""
    row = service.create_service(ctx, **body.model_dump())
    response.headers["Location"] = f"/api/v1/services/{row.id}"
    return _read(row, response)


@router.get("", response_model=ServicePage)
def list_services(
    ctx: CtxDep,
    active: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> ServicePage:
    page = service.list_services(ctx, active=active, cursor=cursor, limit=limit)
    return ServicePage(
        items=[ServiceRead.model_validate(s) for s in page.items], next_cursor=page.next_cursor
    )


@router.get("/{service_id}", response_model=ServiceRead)
def get_service(service_id: int, ctx: CtxDep, response: Response) -> ServiceRead:
    return _read(service.get_service(ctx, service_id), response)


@router.patch("/{service_id}", response_model=ServiceRead)
def update_service(
    service_id: int,
    body: ServiceUpdate,
    ctx: CtxDep,
    version: ExpectedVersion,
    response: Response,
) -> ServiceRead:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    row = service.update_service(ctx, service_id, expected_version=version, changes=changes)
    return _read(row, response)
