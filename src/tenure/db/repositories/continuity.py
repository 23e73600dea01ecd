"""Queries about knowledge, commitments, health signals and snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from tenure.db.models import (
    Activity,
    Agreement,
    Case,
    Commitment,
    Delivery,
    HealthSnapshot,
    KnowledgeEntry,
)
from tenure.db.repositories.base import Repository
from tenure.db.repositories.keyset import KeysetOrder


class KnowledgeRepository(Repository[KnowledgeEntry]):
    model = KnowledgeEntry
    noun = "knowledge entry"

    def current(self, contact_id: int) -> Sequence[KnowledgeEntry]:
        """The contact's current entries: pinned first, then newest."""
        stmt = self.select().where(
            KnowledgeEntry.contact_id == contact_id,
            KnowledgeEntry.superseded_at.is_(None),
            KnowledgeEntry.retired_at.is_(None),
        )
        stmt = stmt.order_by(KnowledgeEntry.pinned.desc(), KnowledgeEntry.id.desc())
        return self.session.scalars(stmt).all()

    def as_of(self, contact_id: int, moment: datetime) -> Sequence[KnowledgeEntry]:
        """The versions that were current at ``moment``."""
        stmt = self.select().where(
            KnowledgeEntry.contact_id == contact_id,
            KnowledgeEntry.recorded_at <= moment,
            or_(KnowledgeEntry.superseded_at.is_(None), KnowledgeEntry.superseded_at > moment),
            or_(KnowledgeEntry.retired_at.is_(None), KnowledgeEntry.retired_at > moment),
        )
        stmt = stmt.order_by(KnowledgeEntry.pinned.desc(), KnowledgeEntry.id.desc())
        return self.session.scalars(stmt).all()

    def current_with_key(self, contact_id: int, key: str) -> KnowledgeEntry | None:
        stmt = self.select().where(
            KnowledgeEntry.contact_id == contact_id,
            KnowledgeEntry.key == key,
            KnowledgeEntry.superseded_at.is_(None),
            KnowledgeEntry.retired_at.is_(None),
        )
        return self.session.scalars(stmt.with_for_update()).first()

    def versions(self, root_id: int) -> Sequence[KnowledgeEntry]:
        stmt = self.select().where(KnowledgeEntry.root_id == root_id).order_by(KnowledgeEntry.id)
        return self.session.scalars(stmt).all()


class CommitmentRepository(Repository[Commitment]):
    model = Commitment
    noun = "commitment"

    def page(
        self,
        *,
        contact_id: int | None,
        status: str | None,
        overdue_on: date | None,
        after: list[Any] | None,
        limit: int,
    ) -> Sequence[Commitment]:
        stmt = self.select()
        if contact_id is not None:
            stmt = stmt.where(Commitment.contact_id == contact_id)
        if status:
            stmt = stmt.where(Commitment.status == status)
        if overdue_on is not None:
            stmt = stmt.where(Commitment.status == "open", Commitment.due_on < overdue_on)
        order = KeysetOrder(Commitment.id, Commitment.id, descending=True)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

    def open_of_contact(self, contact_id: int) -> Sequence[Commitment]:
        stmt = self.select().where(Commitment.contact_id == contact_id, Commitment.status == "open")
        stmt = stmt.order_by(Commitment.due_on.is_(None), Commitment.due_on, Commitment.id)
        return self.session.scalars(stmt).all()


class SnapshotRepository(Repository[HealthSnapshot]):
    model = HealthSnapshot
    noun = "health snapshot"

    def on(self, contact_id: int, day: date) -> HealthSnapshot | None:
        stmt = self.select().where(
            HealthSnapshot.contact_id == contact_id, HealthSnapshot.day == day
        )
        return self.session.scalars(stmt).one_or_none()

    def history(self, contact_id: int, since: date) -> Sequence[HealthSnapshot]:
        stmt = self.select().where(
            HealthSnapshot.contact_id == contact_id, HealthSnapshot.day >= since
        )
        return self.session.scalars(stmt.order_by(HealthSnapshot.day)).all()


class HealthSignalQueries:
    """The few aggregate queries a health score needs, one contact at a time."""

    def __init__(self, session: Any, workspace_id: int) -> None:
        self.session = session
        self.ws = workspace_id

    def overdue_counts(self, contact_id: int, today: date, now: datetime) -> tuple[int, int]:
        commitments = (
            select(func.count())
            .where(
                Commitment.workspace_id == self.ws,
                Commitment.contact_id == contact_id,
                Commitment.status == "open",
                Commitment.due_on < today,
            )
            .scalar_subquery()
        )
        tasks = (
            select(func.count())
            .where(
                Activity.workspace_id == self.ws,
                Activity.contact_id == contact_id,
                Activity.status == "open",
                Activity.kind == "task",
                Activity.at < now,
            )
            .scalar_subquery()
        )
        row = self.session.execute(select(commitments, tasks)).one()
        return int(row[0]), int(row[1])

    def open_cases(self, contact_id: int) -> list[tuple[str, datetime]]:
        stmt = select(Case.priority, Case.opened_at).where(
            Case.workspace_id == self.ws,
            Case.contact_id == contact_id,
            Case.status.in_(("open", "pending")),
        )
        return [(p, o) for p, o in self.session.execute(stmt).all()]

    def delivery_counts(self, contact_id: int, since: datetime, now: datetime) -> dict[str, int]:
        """planned (from schedules), delivered, no_show, cancelled (not by an ending)."""
        in_window = and_(
            Delivery.workspace_id == self.ws,
            Delivery.contact_id == contact_id,
            Delivery.scheduled_start >= since,
            Delivery.scheduled_start < now,
        )

        def count_if(condition: Any) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        stmt = select(
            count_if(
                and_(
                    Delivery.schedule_id.is_not(None),
                    ~Delivery.cancel_reason.like("relationship ended%"),
                )
            ),
            count_if(Delivery.status == "delivered"),
            count_if(Delivery.status == "no_show"),
            count_if(
                and_(
                    Delivery.status == "cancelled",
                    ~Delivery.cancel_reason.like("relationship ended%"),
                )
            ),
        ).where(in_window)
        planned, delivered, no_show, cancelled = self.session.execute(stmt).one()
        return {
            "planned": int(planned),
            "delivered": int(delivered),
            "no_show": int(no_show),
            "cancelled": int(cancelled),
        }

    def next_renewal(self, contact_id: int, today: date) -> date | None:
        stmt = select(func.min(Agreement.renews_on)).where(
            Agreement.workspace_id == self.ws,
            Agreement.contact_id == contact_id,
            Agreement.status == "active",
            Agreement.renews_on >= today,
        )
        value: date | None = self.session.scalar(stmt)
        return value
