"""/schedules: recurring service plans"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from tenure.api.deps import CtxDep, etag
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.common import AwareDatetime
from tenure.api.schemas.scheduling import (
    ActivityRead,
    DeliveryRead,
    ExtendResult,
    OccurrenceCancel,
    OccurrenceMove,
    OccurrenceRead,
    ReasonBody,
    ScheduleCreate,
    SchedulePage,
    ScheduleRead,
    ScheduleSplit,
)
from tenure.db.models import Activity
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.domain.recurrence import MAX_HORIZON_DAYS
from tenure.services import schedules as service
from tenure.services.schedules import ScheduleStatus

router = APIRouter(route_class=OneHopRoute, tags=["schedules"])


def _horizon(request: Request) -> int:
    return int(request.app.state.settings.schedule_horizon_days)


def _read(row: object, response: Response) -> ScheduleRead:
    read = ScheduleRead.model_validate(row)
    response.headers["ETag"] = etag(read.version)
    return read


@router.post("/schedules", response_model=ScheduleRead, status_code=201)
def create_schedule(
    body: ScheduleCreate, ctx: CtxDep, request: Request, response: Response
) -> ScheduleRead:
    """A recurring plan (RFC 5545 RRULE) producing activities or service deliveries; its
    occurrences within the horizon are created at once."""
    data = body.model_dump()
    contact_id = data.pop("contact_id")
    row = service.create_schedule(ctx, contact_id, horizon_days=_horizon(request), **data)
    response.headers["Location"] = f"/api/v1/schedules/{row.id}"
    return _read(row, response)


@router.get("/schedules", response_model=SchedulePage)
def list_schedules(
    ctx: CtxDep,
    contact_id: int | None = None,
    status: ScheduleStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> SchedulePage:
    page = service.list_schedules(
        ctx,
        contact_id=contact_id,
        status=status.value if status else None,
        cursor=cursor,
        limit=limit,
    )
    return SchedulePage(
        items=[ScheduleRead.model_validate(s) for s in page.items], next_cursor=page.next_cursor
    )


@router.get("/contacts/{contact_id}/schedules", response_model=SchedulePage)
def contact_schedules(
    contact_id: int,
    ctx: CtxDep,
    status: ScheduleStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> SchedulePage:
    return list_schedules(ctx, contact_id, status, cursor, limit)


@router.get("/schedules/{schedule_id}", response_model=ScheduleRead)
def get_schedule(schedule_id: int, ctx: CtxDep, response: Response) -> ScheduleRead:
    return _read(service.get_schedule(ctx, schedule_id), response)


@router.get("/schedules/{schedule_id}/occurrences", response_model=list[OccurrenceRead])
def occurrences(
    schedule_id: int, ctx: CtxDep, start: AwareDatetime, end: AwareDatetime
) -> list[OccurrenceRead]:
    """The rule's occurrences in a window, with the activity or delivery made for each."""
    views = service.occurrences(ctx, schedule_id, start=start, end=end)
    return [
        OccurrenceRead(
            key=v.key,
            local_start=v.local_start,
            start=v.start,
            activity=ActivityRead.model_validate(v.activity) if v.activity else None,
            delivery=DeliveryRead.model_validate(v.delivery) if v.delivery else None,
        )
        for v in views
    ]


@router.post("/schedules/{schedule_id}/occurrences/cancel", response_model=ScheduleRead)
def cancel_occurrence(
    schedule_id: int, body: OccurrenceCancel, ctx: CtxDep, response: Response
) -> ScheduleRead:
    """Cancel one occurrence (remembered as an EXDATE)."""
    row = service.cancel_occurrence(
        ctx, schedule_id, local_start=body.local_start, reason=body.reason
    )
    return _read(row, response)


@router.post("/schedules/{schedule_id}/occurrences/move", response_model=OccurrenceRead)
def move_occurrence(schedule_id: int, body: OccurrenceMove, ctx: CtxDep) -> OccurrenceRead:
    """Move one occurrence; the rest of the plan stays as it is."""
    row = service.move_occurrence(
        ctx,
        schedule_id,
        local_start=body.local_start,
        new_start=body.new_start,
        new_end=body.new_end,
        allow_overlap=body.allow_overlap,
    )
    is_activity = isinstance(row, Activity)
    start = row.at if isinstance(row, Activity) else row.scheduled_start
    assert start is not None
    return OccurrenceRead(
        key=row.occurrence_key or "",
        local_start=body.local_start,
        start=start,
        activity=ActivityRead.model_validate(row) if is_activity else None,
        delivery=None if is_activity else DeliveryRead.model_validate(row),
    )


@router.post("/schedules/{schedule_id}/split", response_model=ScheduleRead, status_code=201)
def split(
    schedule_id: int, body: ScheduleSplit, ctx: CtxDep, request: Request, response: Response
) -> ScheduleRead:
    """Change "this and following": the plan ends before `at` and a new plan with the changes
    (answered here) takes over. Past occurrences are never rewritten."""
    changes = {n: getattr(body, n) for n in body.model_fields_set if n != "at"}
    row = service.split_schedule(
        ctx, schedule_id, at_local=body.at, changes=changes, horizon_days=_horizon(request)
    )
    response.headers["Location"] = f"/api/v1/schedules/{row.id}"
    return _read(row, response)


@router.post("/schedules/{schedule_id}/stop", response_model=ScheduleRead)
def stop(
    schedule_id: int, ctx: CtxDep, response: Response, body: ReasonBody | None = None
) -> ScheduleRead:
    """Stop the plan: its future open occurrences are cancelled."""
    return _read(service.stop(ctx, schedule_id, reason=body.reason if body else ""), response)


@router.post("/schedules/extend", response_model=ExtendResult)
def extend(
    ctx: CtxDep,
    request: Request,
    horizon_days: Annotated[int | None, Query(ge=1, le=MAX_HORIZON_DAYS)] = None,
) -> ExtendResult:
    """Materialize every active plan's occurrences up to the horizon (idempotent)."""
    result = service.extend_all(ctx, horizon_days=horizon_days or _horizon(request))
    return ExtendResult(**result)
