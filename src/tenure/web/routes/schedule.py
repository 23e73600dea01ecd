"""/schedule: the week or month calendar of my or the team's timed work, and my calendar feeds.

The calendar is drawn in the viewer's time zone; which items overlap (conflicts) is decided by
the service, the page only marks them.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.domain.activities import local_day_bounds
from tenure.domain.errors import DomainError
from tenure.services import access
from tenure.services import calendar as calendar_service
from tenure.services.calendar import CalendarItem, FeedScope
from tenure.services.context import Ctx
from tenure.web import forms
from tenure.web.deps import WebCtx
from tenure.web.render import build_templates, context

router = APIRouter()
templates = build_templates()

VIEWS = ("week", "month")


@dataclass(frozen=True)
class Day:
    day: date
    items: list[CalendarItem]
    in_month: bool
    is_today: bool


def _anchor(value: str | None, today: date) -> date:
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass  # a hand-edited URL: show today rather than an error page
    return today


def _span(view: str, anchor: date) -> tuple[date, date, date, date]:
    """First and last day shown, and the anchors of the previous and next page."""
    if view == "month":
        first = anchor.replace(day=1)
        last = first.replace(day=monthrange(first.year, first.month)[1])
        start = first - timedelta(days=first.weekday())
        end = last + timedelta(days=6 - last.weekday())
        previous = (first - timedelta(days=1)).replace(day=1)
        following = last + timedelta(days=1)
        return start, end, previous, following
    start = anchor - timedelta(days=anchor.weekday())
    return start, start + timedelta(days=6), start - timedelta(days=7), start + timedelta(days=7)


def _member_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _schedule_page(
    request: Request,
    ctx: Ctx,
    *,
    view: str = "week",
    on: str | None = None,
    who: str | None = None,
    member: str | None = None,
    new_feed_url: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    tz = request.state.timezone
    zone = ZoneInfo(tz)
    today = ctx.now.astimezone(zone).date()
    view = view if view in VIEWS else "week"
    anchor = _anchor(on, today)
    first, last, previous, following = _span(view, anchor)
    members = access.list_members(ctx)
    names = {u.id: u.name or u.email for _, u in members}
    # The picker sends who=<member id>; links say member=<id>.
    chosen = _member_id(member) or _member_id(who)
    if chosen is not None and chosen not in names:
        chosen = None
    team = who == "team" and chosen is None
    assignee = None if team else (chosen if chosen is not None else ctx.user_id)
    window = calendar_service.calendar_window(
        ctx,
        start=local_day_bounds(first, tz)[0],
        end=local_day_bounds(last, tz)[1],
        assignee_id=assignee,
    )
    by_day: dict[date, list[CalendarItem]] = {}
    for item in window.items:
        # An item that began before the first day shown is listed on the first day.
        by_day.setdefault(max(item.start.astimezone(zone).date(), first), []).append(item)
    days = [
        Day(
            first + timedelta(days=n),
            by_day.get(first + timedelta(days=n), []),
            view == "week" or (first + timedelta(days=n)).month == anchor.month,
            first + timedelta(days=n) == today,
        )
        for n in range((last - first).days + 1)
    ]
    scope: dict[str, str] = (
        {"who": "team"} if team else ({"member": str(chosen)} if chosen is not None else {})
    )

    def link(**params: str) -> str:
        merged = {"view": view, **scope, **params}
        return "/schedule?" + urlencode(merged)

    if team:
        heading = "The team's schedule"
    elif chosen is not None and chosen != ctx.user_id:
        heading = f"{names[chosen]}'s schedule"
    else:
        heading = "My schedule"
    title = (
        anchor.strftime("%B %Y")
        if view == "month"
        else f"{first.strftime('%d %b')} \u2013 {last.strftime('%d %b %Y')}"
    )
    conflicts = sum(1 for i in window.items if i.conflict)
    response = templates.TemplateResponse(
        request,
        "schedule/schedule.html",
        context(
            request,
            view=view,
            days=days,
            weeks=[days[n : n + 7] for n in range(0, len(days), 7)],
            heading=heading,
            period=title,
            team=team,
            chosen=chosen,
            members=members,
            names=names,
            conflicts=conflicts,
            truncated=window.truncated,
            count=len(window.items),
            prev_url=link(date=previous.isoformat()),
            next_url=link(date=following.isoformat()),
            today_url=link(),
            week_url=link(view="week", date=anchor.isoformat()),
            month_url=link(view="month", date=anchor.isoformat()),
            anchor=anchor,
            tz=tz,
            feeds=calendar_service.member_feeds(ctx),
            new_feed_url=new_feed_url,
            errors=errors or {},
            values=values or {},
        ),
        status_code=status,
    )
    if new_feed_url:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/schedule")
def schedule(
    request: Request,
    ctx: WebCtx,
    view: str = "week",
    date: str | None = None,
    who: str | None = None,
    member: str | None = None,
) -> Response:
    return _schedule_page(request, ctx, view=view, on=date, who=who, member=member)


@router.post("/schedule/feeds")
async def create_feed(request: Request, ctx: WebCtx) -> Response:
    """A personal iCalendar URL: shown on the answer page once, stored hashed."""
    form = await request.form()
    back: dict[str, Any] = {
        "view": forms.text(form, "view") or "week",
        "on": forms.text(form, "date") or None,
        "who": forms.text(form, "who") or None,
        "member": forms.text(form, "member") or None,
    }
    try:
        new = calendar_service.create_feed(
            ctx, scope=FeedScope.MEMBER, name=forms.text(form, "name") or "Tenure"
        )
    except DomainError as exc:
        ctx.session.rollback()
        return _schedule_page(
            request,
            ctx,
            **back,
            errors=forms.errors_of(exc),
            values=forms.values(form),
            status=422,
        )
    url = str(request.url_for("calendar_feed", secret=new.secret))
    return _schedule_page(request, ctx, **back, new_feed_url=url)


@router.post("/schedule/feeds/{feed_id}/revoke")
def revoke_feed(request: Request, ctx: WebCtx, feed_id: int) -> Response:
    calendar_service.revoke_feed(ctx, feed_id)
    return RedirectResponse("/schedule#feeds", status_code=303)
