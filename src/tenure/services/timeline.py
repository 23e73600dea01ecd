"""Appending to and reading the timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tenure.db.models import TimelineEvent
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.pagination import Page, check_limit, decode_cursor, encode_cursor
from tenure.db.repositories.timeline import TimelineRepository
from tenure.domain.access import Permission
from tenure.domain.errors import InvalidInput
from tenure.domain.events import EventType
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
        data={"source": ctx.source, **(data or {})},
    )
    TimelineRepository(ctx.session, ctx.workspace_id).add(event)
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
        raw = decode_cursor(cursor, arity=2)
        try:
            after = [datetime.fromisoformat(raw[0]), int(raw[1])]
        except (TypeError, ValueError):
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
