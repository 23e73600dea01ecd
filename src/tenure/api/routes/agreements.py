"""/contacts/{id}/agreements and /agreements/{id}"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tenure.api.deps import CtxDep, ExpectedVersion, etag
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.lifecycle import (
    AgreementCreate,
    AgreementEndRequest,
    AgreementPage,
    AgreementRead,
    AgreementUpdate,
    CancelRequest,
    ConfirmRequest,
)
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.domain.agreements import AgreementStatus
from tenure.services import agreements as service

router = APIRouter(route_class=OneHopRoute, tags=["agreements"])


def _read(agreement: object, response: Response) -> AgreementRead:
    read = AgreementRead.model_validate(agreement)
    response.headers["ETag"] = etag(read.version)
    return read


@router.post("/contacts/{contact_id}/agreements", response_model=AgreementRead, status_code=201)
def create_agreement(
    contact_id: int, body: AgreementCreate, ctx: CtxDep, response: Response
) -> AgreementRead:
    agreement = service.create_agreement(ctx, contact_id, **body.model_dump())
    response.headers["Location"] = f"/api/v1/agreements/{agreement.id}"
    return _read(agreement, response)


@router.get("/contacts/{contact_id}/agreements", response_model=AgreementPage)
def list_agreements(
    contact_id: int,
    ctx: CtxDep,
    status: AgreementStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> AgreementPage:
    page = service.list_for_contact(
        ctx, contact_id, status=status.value if status else None, cursor=cursor, limit=limit
    )
    return AgreementPage(
        items=[AgreementRead.model_validate(a) for a in page.items], next_cursor=page.next_cursor
    )


@router.get("/agreements/{agreement_id}", response_model=AgreementRead)
def get_agreement(agreement_id: int, ctx: CtxDep, response: Response) -> AgreementRead:
    return _read(service.get_agreement(ctx, agreement_id), response)


@router.patch("/agreements/{agreement_id}", response_model=AgreementRead)
def update_agreement(
    agreement_id: int,
    body: AgreementUpdate,
    ctx: CtxDep,
    version: ExpectedVersion,
    response: Response,
) -> AgreementRead:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    agreement = service.update_agreement(
        ctx, agreement_id, expected_version=version, changes=changes
    )
    return _read(agreement, response)


@router.post("/agreements/{agreement_id}/confirm", response_model=AgreementRead)
def confirm(
    agreement_id: int, ctx: CtxDep, response: Response, body: ConfirmRequest | None = None
) -> AgreementRead:
    """draft → active. A contact or former client with this agreement becomes a client."""
    starts_on = body.starts_on if body else None
    return _read(service.confirm(ctx, agreement_id, starts_on=starts_on), response)


@router.post("/agreements/{agreement_id}/end", response_model=AgreementRead)
def end(
    agreement_id: int, body: AgreementEndRequest, ctx: CtxDep, response: Response
) -> AgreementRead:
    """active → ended. When it was the client's last active agreement, the relationship ends
    too (reason `agreement_ended`) unless something else still holds it."""
    agreement = service.end(
        ctx, agreement_id, reason=body.reason, ended_on=body.ended_on, note=body.note
    )
    return _read(agreement, response)


@router.post("/agreements/{agreement_id}/cancel", response_model=AgreementRead)
def cancel(
    agreement_id: int, ctx: CtxDep, response: Response, body: CancelRequest | None = None
) -> AgreementRead:
    """draft → cancelled."""
    return _read(service.cancel(ctx, agreement_id, note=body.note if body else ""), response)
