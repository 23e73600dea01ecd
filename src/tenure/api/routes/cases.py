"""/cases and /contacts/{id}/cases"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tenure.api.deps import CtxDep, ExpectedVersion, etag
from tenure.api.list_filters import CaseFilterDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.cases import (
    CaseCreate,
    CaseNote,
    CasePage,
    CaseRead,
    CaseRespond,
    CaseUpdate,
)
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.db.repositories.scheduling import CaseFilter
from tenure.domain.cases import CaseAction, CaseStatus
from tenure.services import cases as service

router = APIRouter(route_class=OneHopRoute, tags=["cases"])

Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _read(row: object, response: Response) -> CaseRead:
    read = CaseRead.model_validate(row)
    response.headers["ETag"] = etag(read.version)
    return read


@router.post("/cases", response_model=CaseRead, status_code=201)
def open_case(body: CaseCreate, ctx: CtxDep, response: Response) -> CaseRead:
    """Open a support case. Cases never change the client's stage."""
    data = body.model_dump()
    contact_id = data.pop("contact_id")
    row = service.open_case(ctx, contact_id, **data)
    response.headers["Location"] = f"/api/v1/cases/{row.id}"
    return _read(row, response)


def _page(ctx: CtxDep, filters: CaseFilter, cursor: str | None, limit: int) -> CasePage:
    page = service.list_cases(ctx, filters=filters, cursor=cursor, limit=limit)
    return CasePage(
        items=[CaseRead.model_validate(c) for c in page.items], next_cursor=page.next_cursor
    )


@router.get("/cases", response_model=CasePage)
def list_cases(
    ctx: CtxDep, filters: CaseFilterDep, cursor: Cursor = None, limit: Limit = 50
) -> CasePage:
    """The case queue, newest first; filter by status and priority."""
    return _page(ctx, filters, cursor, limit)


@router.get("/contacts/{contact_id}/cases", response_model=CasePage)
def contact_cases(
    contact_id: int,
    ctx: CtxDep,
    status: CaseStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CasePage:
    filters = CaseFilter(contact_id=contact_id, status=status.value if status else None)
    return _page(ctx, filters, cursor, limit)


@router.get("/cases/{case_id}", response_model=CaseRead)
def get_case(case_id: int, ctx: CtxDep, response: Response) -> CaseRead:
    return _read(service.get_case(ctx, case_id), response)


@router.patch("/cases/{case_id}", response_model=CaseRead)
def update_case(
    case_id: int, body: CaseUpdate, ctx: CtxDep, version: ExpectedVersion, response: Response
) -> CaseRead:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    return _read(
        service.update_case(ctx, case_id, expected_version=version, changes=changes), response
    )


@router.post("/cases/{case_id}/respond", response_model=CaseRead)
def respond(case_id: int, body: CaseRespond, ctx: CtxDep, response: Response) -> CaseRead:
    """Answer the client: logs an outbound interaction; the first one stamps the response time."""
    row = service.respond(ctx, case_id, body=body.body, channel=body.channel, subject=body.subject)
    return _read(row, response)


def _action(action: CaseAction, doc: str) -> None:
    path = "/cases/{case_id}/" + action.value.replace("mark_", "")

    @router.post(path, response_model=CaseRead, summary=doc, name=f"case_{action.value}")
    def handler(
        case_id: int, ctx: CtxDep, response: Response, body: CaseNote | None = None
    ) -> CaseRead:
        return _read(service.move(ctx, case_id, action, note=body.note if body else ""), response)


for _case_action, _doc in (
    (CaseAction.MARK_PENDING, "open → pending (waiting on someone else)"),
    (CaseAction.RESUME, "pending → open"),
    (CaseAction.RESOLVE, "open or pending → resolved"),
    (CaseAction.CLOSE, "resolved → closed"),
    (CaseAction.REOPEN, "resolved or closed → open"),
):
    _action(_case_action, _doc)
