"""Personal-data access and erasure of one contact (GDPR Art. 15/17/20), owners and admins.

``GET /contacts/{id}/personal-data`` answers every stored datum about the person;
``POST /contacts/{id}/erase`` erases it everywhere (see ``services.privacy.erasure``): 409 when
already erased, 410 with the survivor's id for a merged-away contact, like every other read.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from tenure.api.deps import CtxDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.privacy import ErasureRead, PersonalDataRead
from tenure.http import client_ip
from tenure.services import privacy as service

router = APIRouter(route_class=OneHopRoute, prefix="/contacts", tags=["privacy"])


@router.get("/{contact_id}/personal-data", response_model=PersonalDataRead)
def personal_data(
    contact_id: int, ctx: CtxDep, request: Request, response: Response
) -> dict[str, Any]:
    # A copy of personal data: no shared cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return service.personal_data(ctx, contact_id, ip=client_ip(request))


@router.post("/{contact_id}/erase", response_model=ErasureRead)
def erase(contact_id: int, ctx: CtxDep, request: Request) -> ErasureRead:
    result = service.erase(ctx, contact_id, ip=client_ip(request))
    return ErasureRead(
        contact_id=result.contact_id,
        erased_at=result.erased_at,
        merged_ids=result.merged_ids,
        counts=result.counts,
    )
