"""/activities, /contacts/{id}/activities and /agenda"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tenure.api.deps import CtxDep, ExpectedVersion, etag
from tenure.api.list_filters import ActivityFilterDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.scheduling import (
    ActivityComplete,
    ActivityCreate,
    ActivityPage,
    ActivityRead,
    ActivityUpdate,
    AgendaBucket,
    AgendaRead,
    DeliveryRead,
    ReasonBody,
)
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.db.repositories.scheduling import ActivityFilter
from tenure.domain.activities import MAX_AGENDA_DAYS, ActivityStatus
from tenure.services import activities as service

router = APIRouter(route_class=OneHopRoute, tags=["activities"])

Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _read(activity: object, response: Response) -> ActivityRead:
    read = ActivityRead.model_validate(activity)
    response.headers["ETag"] = etag(read.version)
    return read


@router.post("/activities", response_model=ActivityRead, status_code=201)
def create_activity(body: ActivityCreate, ctx: CtxDep, response: Response) -> ActivityRead:
    """Plan a task, call, meeting, appointment, visit or review. An appointment or visit that
    overlaps another timed activity of the assignee is refused (409) unless `allow_overlap`."""
    activity = service.create_activity(ctx, **body.model_dump())
    response.headers["Location"] = f"/api/v1/activities/{activity.id}"
    return _read(activity, response)


def _list(ctx: CtxDep, filters: ActivityFilter, cursor: str | None, limit: int) -> ActivityPage:
    page = service.list_activities(ctx, filters=filters, cursor=cursor, limit=limit)
    return ActivityPage(
        items=[ActivityRead.model_validate(a) for a in page.items], next_cursor=page.next_cursor
    )


@router.get("/activities", response_model=ActivityPage)
def list_activities(
    ctx: CtxDep, filters: ActivityFilterDep, cursor: Cursor = None, limit: Limit = 50
) -> ActivityPage:
    """Activities by time (due time or start), soonest first."""
    return _list(ctx, filters, cursor, limit)


@router.get("/contacts/{contact_id}/activities", response_model=ActivityPage)
def contact_activities(
    contact_id: int,
    ctx: CtxDep,
    status: ActivityStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ActivityPage:
    filters = ActivityFilter(contact_id=contact_id, status=status.value if status else None)
    return _list(ctx, filters, cursor, limit)


@router.get("/activities/{activity_id}", response_model=ActivityRead)
def get_activity(activity_id: int, ctx: CtxDep, response: Response) -> ActivityRead:
    return _read(service.get_activity(ctx, activity_id), response)


@router.patch("/activities/{activity_id}", response_model=ActivityRead)
def update_activity(
    activity_id: int,
    body: ActivityUpdate,
    ctx: CtxDep,
    version: ExpectedVersion,
    response: Response,
) -> ActivityRead:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    activity = service.update_activity(ctx, activity_id, expected_version=version, changes=changes)
    return _read(activity, response)


@router.post("/activities/{activity_id}/complete", response_model=ActivityRead)
def complete_activity(
    activity_id: int, ctx: CtxDep, response: Response, body: ActivityComplete | None = None
) -> ActivityRead:
    """open → done. A call, meeting or visit can log its interaction in the same step."""
    body = body or ActivityComplete()
    activity = service.complete_activity(ctx, activity_id, **body.model_dump())
    return _read(activity, response)


@router.post("/activities/{activity_id}/cancel", response_model=ActivityRead)
def cancel_activity(
    activity_id: int, ctx: CtxDep, response: Response, body: ReasonBody | None = None
) -> ActivityRead:
    activity = service.cancel_activity(ctx, activity_id, reason=body.reason if body else "")
    return _read(activity, response)


@router.get("/agenda", response_model=AgendaRead)
def agenda(
    ctx: CtxDep,
    assignee_id: Annotated[int | None, Query(description="A member; default you.")] = None,
    everyone: Annotated[bool, Query(description="The whole workspace's agenda.")] = False,
    timezone: Annotated[str | None, Query(max_length=64, description="Default: workspace")] = None,
    days: Annotated[int, Query(ge=0, le=MAX_AGENDA_DAYS)] = 7,
) -> AgendaRead:
    """Overdue, due today and upcoming (the next `days` local days), in the viewer's zone."""
    who = None if everyone else (assignee_id if assignee_id is not None else ctx.user_id)
    view = service.agenda(ctx, assignee_id=who, timezone=timezone, days=days)

    def bucket(acts: tuple[object, ...], dels: tuple[object, ...]) -> AgendaBucket:
        return AgendaBucket(
            activities=[ActivityRead.model_validate(a) for a in acts],
            deliveries=[DeliveryRead.model_validate(d) for d in dels],
        )

    return AgendaRead(
        timezone=view.timezone,
        assignee_id=who,
        overdue=bucket(view.activities.overdue, view.deliveries.overdue),
        today=bucket(view.activities.today, view.deliveries.today),
        upcoming=bucket(view.activities.upcoming, view.deliveries.upcoming),
    )
