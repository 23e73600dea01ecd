"""Appending to and reading the timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tenure.db.models import TimelineEvent
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.pagination import Page, check_limit, decode_cursor, encode_cursor
from tenure.db.repositories.timeline import TimelineRepository
from tenure.domain.access import Permission
from tenure.domain.errors import InvalidInput
from tenure.domain.events import EventType
from tenure.services import automation
from tenure.services.context import Ctx


def record(
    ctx: Ctx,
    *,
    contact_id: int | None,
    type: EventType,
    subject_type: str,
    subject_id: int | None,
    summary: str,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> TimelineEvent:
    event = TimelineEvent(
        contact_id=contact_id,
        type=type.value,
        occurred_at=occurred_at or ctx.now,
        recorded_at=ctx.now,
        actor_id=ctx.user_id,
        subject_type=subject_type,
        subject_id=subject_id,
        summary=summary,
        data={
            "source": ctx.source,
            **({"automation": ctx.automation} if ctx.automation else {}),
            **(data or {}),
        },
    )
    TimelineRepository(ctx.session, ctx.workspace_id).add(event)
    automation.on_event(ctx, event)
    return event


def page(
    ctx: Ctx,
    *,
    contact_id: int,
    types: Sequence[str] | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    ctx.require(Permission.READ)
    ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    check_limit(limit)
    known = {t.value for t in EventType}
    for t in types or ():
        if t not in known:
            raise InvalidInput.one("type", "choice", f"unknown event type {t!r}")
    after = None
    if cursor:
        raw = decode_cursor(cursor, arity=2, types=(str, int))
        try:
            moment = datetime.fromisoformat(raw[0])
            if moment.tzinfo is None:  # the column holds aware times only
                raise ValueError(raw[0])
            after = [moment.astimezone(UTC), raw[1]]
        except (ValueError, OverflowError):
            raise InvalidInput.one("cursor", "cursor", "not a cursor this list gave out") from None
    rows = list(
        TimelineRepository(ctx.session, ctx.workspace_id).page(
            contact_id, types=types, after=after, limit=limit
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor([last.occurred_at.isoformat(), last.id])
    return Page(rows, next_cursor)


def recent(ctx: Ctx, *, limit: int = 20) -> Sequence[TimelineEvent]:
    """The newest events across the workspace, newest first."""
    ctx.require(Permission.READ)
    check_limit(limit)
    return TimelineRepository(ctx.session, ctx.workspace_id).recent_in_workspace(limit)
