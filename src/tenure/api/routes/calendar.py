"""/calendar-feeds (managed with a token) and /calendar/{secret}.ics (the secret is the key)"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tenure.api.deps import CtxDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.cases import FeedCreate, FeedCreated, FeedList, FeedRead
from tenure.clock import utcnow
from tenure.http import SessionDep
from tenure.services import calendar as service

router = APIRouter(route_class=OneHopRoute, tags=["calendar"])


@router.post("/calendar-feeds", response_model=FeedCreated, status_code=201)
def create_feed(body: FeedCreate, ctx: CtxDep, request: Request) -> FeedCreated:
    """A secret iCalendar URL for a member's or a contact's calendar; shown once."""
    new = service.create_feed(ctx, **body.model_dump())
    url = str(request.url_for("calendar_feed", secret=new.secret))
    return FeedCreated(**FeedRead.model_validate(new.feed).model_dump(), url=url)


@router.get("/calendar-feeds", response_model=FeedList)
def list_feeds(ctx: CtxDep) -> FeedList:
    return FeedList(items=[FeedRead.model_validate(f) for f in service.list_feeds(ctx)])


@router.post("/calendar-feeds/{feed_id}/revoke", response_model=FeedRead)
def revoke_feed(feed_id: int, ctx: CtxDep) -> FeedRead:
    """The URL stops working at once (404)."""
    return FeedRead.model_validate(service.revoke_feed(ctx, feed_id))


@router.get(
    "/calendar/{secret}.ics",
    name="calendar_feed",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
def calendar_feed(secret: str, session: SessionDep) -> Response:
    """The feed itself, for calendar apps: no other authentication than the secret URL."""
    body = service.render_feed(session, secret, now=utcnow())
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )
