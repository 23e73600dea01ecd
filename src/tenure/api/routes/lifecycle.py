"""/contacts/{id}/convert, /end, /transitions"""

from __future__ import annotations

from fastapi import APIRouter

from tenure.api.deps import CtxDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.lifecycle import ConvertRequest, EndRequest, TransitionList, TransitionRead
from tenure.services import lifecycle as service

router = APIRouter(route_class=OneHopRoute, prefix="/contacts/{contact_id}", tags=["lifecycle"])


@router.post("/convert", response_model=TransitionRead, status_code=201)
def convert(contact_id: int, ctx: CtxDep, body: ConvertRequest | None = None) -> TransitionRead:
    """Make a contact (or former client) a client, with evidence: an active agreement or a
    scheduled/delivered service delivery of the same contact. Without evidence: 409
    `evidence-required`."""
    body = body or ConvertRequest()
    transition = service.convert(
        ctx,
        contact_id,
        evidence_kind=body.evidence.kind if body.evidence else None,
        evidence_id=body.evidence.id if body.evidence else None,
        effective_on=body.effective_on,
        note=body.note,
    )
    return TransitionRead.model_validate(transition)


@router.post("/end", response_model=TransitionRead, status_code=201)
def end(contact_id: int, body: EndRequest, ctx: CtxDep) -> TransitionRead:
    """End a client relationship: its active agreements end with it, same date and reason."""
    transition = service.end(
        ctx, contact_id, reason=body.reason, note=body.note, effective_on=body.effective_on
    )
    return TransitionRead.model_validate(transition)


@router.get("/transitions", response_model=TransitionList)
def transitions(contact_id: int, ctx: CtxDep) -> TransitionList:
    """The relationship's history, oldest first."""
    rows = service.transitions(ctx, contact_id)
    return TransitionList(items=[TransitionRead.model_validate(t) for t in rows])
