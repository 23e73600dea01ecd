"""Queries about the timeline and interactions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select

from tenure.db.models import Interaction, TimelineEvent
from tenure.db.repositories.base import Repository
from tenure.db.repositories.keyset import KeysetOrder

#: The timeline page's four shapes (with or without a type filter, first page or after a
#: cursor), each built once: every timeline read runs one, and building the select and its
#: cache key cost more than running it.
_PAGES: dict[tuple[bool, bool], Select[Any]] = {}
_NEWEST_FIRST = KeysetOrder(TimelineEvent.occurred_at, TimelineEvent.id, descending=True)


def _page_statement(typed: bool, after: bool) -> Select[Any]:
    stmt = _PAGES.get((typed, after))
    if stmt is None:
        stmt = select(TimelineEvent).where(
            TimelineEvent.workspace_id == bindparam("workspace_id"),
            TimelineEvent.contact_id == bindparam("contact_id"),
        )
        if typed:
            stmt = stmt.where(TimelineEvent.type.in_(bindparam("types", expanding=True)))
        keyset: list[Any] | None = [bindparam("after_at"), bindparam("after_id")] if after else None
        # The keyset order and condition; its literal limit is replaced by the bound one.
        stmt = _NEWEST_FIRST.apply(stmt, keyset, 0).limit(bindparam("limit"))
        _PAGES[(typed, after)] = stmt
    return stmt


class TimelineRepository(Repository[TimelineEvent]):
    model = TimelineEvent
    noun = "event"

    def page(
        self,
        contact_id: int,
        *,
        types: Sequence[str] | None,
        after: list[Any] | None,
        limit: int,
    ) -> Sequence[TimelineEvent]:
        """Newest first by (occurred_at, id): one index range scan, whatever the history."""
        params: dict[str, Any] = {
            "workspace_id": self.workspace_id,
            "contact_id": contact_id,
            "limit": limit + 1,  # one extra row tells whether a next page exists
        }
        if types:
            params["types"] = list(types)
        if after is not None:
            params["after_at"], params["after_id"] = after
        stmt = _page_statement(bool(types), after is not None)
        return self.session.scalars(stmt, params).all()

    def since(
        self, contact_id: int, moment: datetime | None, *, exclude: Sequence[str], limit: int
    ) -> Sequence[TimelineEvent]:
        """Events after ``moment`` (all when None), newest first."""
        stmt = self.select().where(TimelineEvent.contact_id == contact_id)
        if moment is not None:
            stmt = stmt.where(TimelineEvent.occurred_at > moment)
        if exclude:
            stmt = stmt.where(TimelineEvent.type.not_in(exclude))
        stmt = stmt.order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
        return self.session.scalars(stmt.limit(limit)).all()

    def recent_in_workspace(self, limit: int) -> Sequence[TimelineEvent]:
        """The newest events of the whole workspace (the "recent activity" feed)."""
        stmt = self.select().order_by(TimelineEvent.id.desc()).limit(limit)
        return self.session.scalars(stmt).all()


class InteractionRepository(Repository[Interaction]):
    model = Interaction
    noun = "interaction"

    def recent(self, contact_id: int, limit: int) -> Sequence[Interaction]:
        stmt = self.select().where(Interaction.contact_id == contact_id)
        stmt = stmt.order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        return self.session.scalars(stmt.limit(limit)).all()
