"""iCalendar feeds: a secret, revocable URL per member or per contact.

Calendar apps subscribe with no other authentication, so the token in the URL is the
credential: random, shown once, stored hashed, revocable. Timed activities and scheduled
deliveries become ``VEVENT``s with stable UIDs; recurring plans are expanded (they are
materialized within the horizon anyway), and cancelled occurrences stay in the feed as
``STATUS:CANCELLED`` so subscribed calendars drop them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy.orm import Session

from tenure.db.models import Activity, CalendarFeed, Delivery
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.scheduling import (
    ActivityRepository,
    CalendarFeedRepository,
    DeliveryRepository,
    feed_by_token_hash,
)
from tenure.domain.access import Permission, can
from tenure.domain.activities import overlaps
from tenure.domain.errors import InvalidInput, NotFound
from tenure.services.context import Ctx
from tenure.services.members import require_member

FEED_PREFIX = "cal_"
#: How far back a feed reaches (calendar apps keep what they saw).
PAST_DAYS = 60
#: How far ahead: a little past the materialization horizon.
FUTURE_DAYS = 400
PRODID = "-//Tenure//Tenure client management//EN"


class FeedScope(StrEnum):
    MEMBER = "member"
    CONTACT = "contact"


@dataclass(frozen=True)
class NewFeed:
    feed: CalendarFeed
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_feed(
    ctx: Ctx,
    *,
    scope: FeedScope,
    user_id: int | None = None,
    contact_id: int | None = None,
    name: str = "",
) -> NewFeed:
    """A member feed (yours, or anyone's for admins) or a contact feed (writers)."""
    ctx.require(Permission.READ)
    if scope is FeedScope.MEMBER:
        owner = user_id if user_id is not None else ctx.user_id
        if owner is None:
            raise InvalidInput.one("user_id", "required", "say whose calendar")
        if owner != ctx.user_id:
            ctx.require(Permission.ADMIN)
        require_member(ctx, owner, "user_id")
        contact_id = None
        user_id = owner
    else:
        ctx.require(Permission.WRITE)
        if contact_id is None:
            raise InvalidInput.one("contact_id", "required", "say which contact")
        ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
        user_id = None
    secret = FEED_PREFIX + secrets.token_urlsafe(32)
    feed = CalendarFeed(
        scope=scope.value,
        user_id=user_id,
        contact_id=contact_id,
        token_hash=_hash(secret),
        name=name.strip(),
        created_by=ctx.user_id,
        created_at=ctx.now,
    )
    CalendarFeedRepository(ctx.session, ctx.workspace_id).add(feed)
    ctx.session.flush()
    return NewFeed(feed, secret)


def revoke_feed(ctx: Ctx, feed_id: int) -> CalendarFeed:
    ctx.require(Permission.READ)
    feed = CalendarFeedRepository(ctx.session, ctx.workspace_id).get(feed_id)
    if ctx.user_id not in (feed.created_by, feed.user_id):
        ctx.require(Permission.ADMIN)
    if feed.revoked_at is None:
        feed.revoked_at = ctx.now
        ctx.session.flush()
    return feed


def list_feeds(ctx: Ctx) -> Sequence[CalendarFeed]:
    """Admins see every feed; others the feeds they made or that show their calendar."""
    ctx.require(Permission.READ)
    feeds = CalendarFeedRepository(ctx.session, ctx.workspace_id).all()
    if can(ctx.role, Permission.ADMIN) or ctx.user_id is None:
        return feeds
    return [f for f in feeds if ctx.user_id in (f.created_by, f.user_id)]


def render_feed(session: Session, secret: str, *, now: datetime) -> bytes:
    """The iCalendar document behind a feed URL; a revoked or unknown token is NotFound."""
    feed = feed_by_token_hash(session, _hash(secret)) if secret.startswith(FEED_PREFIX) else None
    if feed is None:
        raise NotFound("no such calendar feed")
    start, end = now - timedelta(days=PAST_DAYS), now + timedelta(days=FUTURE_DAYS)
    assignee = feed.user_id if feed.scope == FeedScope.MEMBER else None
    contact = feed.contact_id if feed.scope == FeedScope.CONTACT else None
    acts = ActivityRepository(session, feed.workspace_id).timed_for_feed(
        assignee_id=assignee, contact_id=contact, start=start, end=end
    )
    dels = DeliveryRepository(session, feed.workspace_id).scheduled_for_feed(
        assignee_id=assignee, contact_id=contact, start=start, end=end
    )
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", feed.name or "Tenure")
    for activity in acts:
        cal.add_component(_activity_event(activity))
    for delivery in dels:
        cal.add_component(_delivery_event(delivery))
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


def _local(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def _activity_event(activity: Activity) -> Event:
    assert activity.start_at is not None and activity.end_at is not None
    event = Event()
    event.add("uid", f"activity-{activity.id}@tenure")
    event.add("dtstamp", activity.updated_at)
    event.add("sequence", activity.version)
    event.add("summary", activity.title)
    event.add("dtstart", _local(activity.start_at, activity.timezone))
    event.add("dtend", _local(activity.end_at, activity.timezone))
    if activity.location:
        event.add("location", activity.location)
    if activity.notes:
        event.add("description", activity.notes)
    event.add("categories", [activity.kind])
    event.add("status", "CANCELLED" if activity.status == "cancelled" else "CONFIRMED")
    return event


def _delivery_event(delivery: Delivery) -> Event:
    assert delivery.scheduled_start is not None and delivery.scheduled_end is not None
    event = Event()
    event.add("uid", f"delivery-{delivery.id}@tenure")
    event.add("dtstamp", delivery.updated_at)
    event.add("sequence", delivery.version)
    event.add("summary", delivery.title)
    event.add("dtstart", _local(delivery.scheduled_start, delivery.timezone))
    event.add("dtend", _local(delivery.scheduled_end, delivery.timezone))
    if delivery.location:
        event.add("location", delivery.location)
    event.add("categories", ["delivery"])
    cancelled = delivery.status in ("cancelled", "no_show")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


# --- the schedule: a window of one member's (or the team's) calendar ---------------------------

#: The most items one calendar window shows (a month of a large team stays a bounded page).
WINDOW_LIMIT = 1500


@dataclass(frozen=True)
class CalendarItem:
    """A timed activity or a delivery as a calendar shows it."""

    source: str  # "activity" | "delivery"
    id: int
    title: str
    kind: str  # the activity kind, or "delivery"
    status: str
    start: datetime
    end: datetime
    assignee_id: int | None
    contact_id: int | None
    contact_name: str
    location: str
    #: Overlaps another open item of the same assignee.
    conflict: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.source, self.id)

    @property
    def active(self) -> bool:
        """Still to happen: what the booking conflict check counts."""
        return self.status in ("open", "scheduled", "in_progress")


@dataclass(frozen=True)
class CalendarWindow:
    items: list[CalendarItem]
    #: More items met the window than WINDOW_LIMIT: the view is incomplete.
    truncated: bool


def calendar_window(
    ctx: Ctx,
    *,
    start: datetime,
    end: datetime,
    assignee_id: int | None,
    limit: int = WINDOW_LIMIT,
) -> CalendarWindow:
    """Timed activities and deliveries meeting [start, end) for one member (None: everyone),
    in time order, with overlapping open items of the same assignee marked as conflicts.
    Two queries whatever the window holds."""
    ctx.require(Permission.READ)
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise InvalidInput.one("end", "after-start", "a window ends after it starts")
    require_member(ctx, assignee_id, "member")
    acts = ActivityRepository(ctx.session, ctx.workspace_id).calendar(
        assignee_id=assignee_id, start=start, end=end, limit=limit
    )
    dels = DeliveryRepository(ctx.session, ctx.workspace_id).calendar(
        assignee_id=assignee_id, start=start, end=end, limit=limit
    )
    items: list[CalendarItem] = []
    for a, name in acts:
        assert a.start_at is not None and a.end_at is not None
        items.append(
            CalendarItem(
                "activity",
                a.id,
                a.title,
                a.kind,
                a.status,
                a.start_at,
                a.end_at,
                a.assignee_id,
                a.contact_id,
                name or "",
                a.location,
            )
        )
    for d, name in dels:
        assert d.scheduled_start is not None and d.scheduled_end is not None
        items.append(
            CalendarItem(
                "delivery",
                d.id,
                d.title,
                "delivery",
                d.status,
                d.scheduled_start,
                d.scheduled_end,
                d.assignee_id,
                d.contact_id,
                name,
                d.location,
            )
        )
    truncated = len(acts) > limit or len(dels) > limit
    items.sort(key=lambda i: (i.start, i.end, i.source, i.id))
    items = items[:limit]
    clashing = conflicting(items)
    marked = [replace(i, conflict=i.key in clashing) for i in items]
    return CalendarWindow(marked, truncated)


def conflicting(items: Sequence[CalendarItem]) -> set[tuple[str, int]]:
    """The keys of open items that overlap another open item of the same assignee."""
    by_assignee: dict[int, list[CalendarItem]] = {}
    for item in items:
        if item.assignee_id is not None and item.active:
            by_assignee.setdefault(item.assignee_id, []).append(item)
    found: set[tuple[str, int]] = set()
    for own in by_assignee.values():
        own.sort(key=lambda i: i.start)
        for n, first in enumerate(own):
            for second in own[n + 1 :]:
                if second.start >= first.end:
                    break  # sorted by start: nothing later overlaps ``first``
                if overlaps(first.start, first.end, second.start, second.end):
                    found.update((first.key, second.key))
    return found


def member_feeds(ctx: Ctx) -> list[CalendarFeed]:
    """The asking member's own calendar feeds that still work."""
    ctx.require(Permission.READ)
    return [
        f
        for f in CalendarFeedRepository(ctx.session, ctx.workspace_id).all()
        if f.scope == FeedScope.MEMBER and f.user_id == ctx.user_id and f.revoked_at is None
    ]
