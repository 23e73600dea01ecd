"""Queries about the timeline and interactions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tenure.db.models import Interaction, TimelineEvent
from tenure.db.repositories.base import Repository
from tenure.db.repositories.keyset import KeysetOrder


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
        stmt = self.select().where(TimelineEvent.contact_id == contact_id)
        if types:
            stmt = stmt.where(TimelineEvent.type.in_(types))
        order = KeysetOrder(TimelineEvent.occurred_at, TimelineEvent.id, descending=True)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

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
