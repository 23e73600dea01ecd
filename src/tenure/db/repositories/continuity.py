"""Queries about knowledge, commitments, health signals and snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import BindParameter, Date, Table, and_, bindparam, case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from tenure.db.models import (
    Activity,
    Agreement,
    Case,
    Commitment,
    Contact,
    Delivery,
    HealthSnapshot,
    KnowledgeEntry,
)
from tenure.db.repositories.base import Repository
from tenure.db.repositories.keyset import KeysetOrder
from tenure.db.types import UTCDateTime


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


_UPSERTS: dict[str, Any] = {}


def _upsert_snapshot(dialect: str) -> Any:
    """Built once per dialect: ``excluded`` costs more to build than the statement to run."""
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table = cast(Table, HealthSnapshot.__table__)
        stmt = insert(table)
        stmt = _UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=[table.c.contact_id, table.c.day],
            set_={"score": stmt.excluded.score, "contributions": stmt.excluded.contributions},
            # Contact ids are global; the snapshot rewritten is this workspace's all the same.
            where=table.c.workspace_id == stmt.excluded.workspace_id,
        )
    return stmt


class SnapshotRepository(Repository[HealthSnapshot]):
    model = HealthSnapshot
    noun = "health snapshot"

    def put(self, contact_id: int, day: date, score: int, contributions: Any) -> None:
        """Write the contact's snapshot of ``day``, or rewrite it if one exists: one statement
        (INSERT … ON CONFLICT (contact_id, day) DO UPDATE), safe against a concurrent writer
        of the same snapshot."""
        self.session.execute(
            _upsert_snapshot(self.session.get_bind().dialect.name),
            {
                "workspace_id": self.workspace_id,
                "contact_id": contact_id,
                "day": day,
                "score": score,
                "contributions": contributions,
            },
        )

    def history(self, contact_id: int, since: date) -> Sequence[HealthSnapshot]:
        stmt = self.select().where(
            HealthSnapshot.contact_id == contact_id, HealthSnapshot.day >= since
        )
        return self.session.scalars(stmt.order_by(HealthSnapshot.day)).all()


@dataclass(frozen=True)
class TodaySnapshot:
    """The health snapshot already written today (compared before writing it again)."""

    score: int
    contributions: list[dict[str, Any]]


@dataclass
class HealthFacts:
    """What a client's health score reads from the database (``domain.health.Signals`` takes
    these plus the cadence state kept on the contact), and today's snapshot if one exists."""

    overdue_commitments: int = 0
    overdue_tasks: int = 0
    open_cases: list[tuple[str, datetime]] = field(default_factory=list)
    planned_deliveries: int = 0
    delivered: int = 0
    no_shows: int = 0
    cancellations: int = 0
    renews_on: date | None = None
    snapshot: TodaySnapshot | None = None


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _facts_statement() -> Any:
    """One statement for every health fact of a set of clients: a row per contact (per open
    case when it has several), the counts as correlated subqueries, the deliveries of the
    window aggregated once per contact, today's snapshot joined by its unique key. Built once,
    with bound parameters: building it would cost more than running it."""
    ws: BindParameter[int] = bindparam("ws")
    ids: BindParameter[list[int]] = bindparam("ids", expanding=True)
    today = bindparam("today", type_=Date())
    now = bindparam("now", type_=UTCDateTime())
    since = bindparam("since", type_=UTCDateTime())
    commitments = (
        select(func.count())
        .where(
            Commitment.workspace_id == ws,
            Commitment.contact_id == Contact.id,
            Commitment.status == "open",
            Commitment.due_on < today,
        )
        .correlate(Contact)
        .scalar_subquery()
    )
    tasks = (
        select(func.count())
        .where(
            Activity.workspace_id == ws,
            Activity.contact_id == Contact.id,
            Activity.status == "open",
            Activity.kind == "task",
            Activity.at < now,
        )
        .correlate(Contact)
        .scalar_subquery()
    )
    renews = (
        select(func.min(Agreement.renews_on))
        .where(
            Agreement.workspace_id == ws,
            Agreement.contact_id == Contact.id,
            Agreement.status == "active",
            Agreement.renews_on >= today,
        )
        .correlate(Contact)
        .scalar_subquery()
    )
    not_ended = ~Delivery.cancel_reason.like("relationship ended%")
    deliveries = (
        select(
            Delivery.contact_id,
            _count_if(and_(Delivery.schedule_id.is_not(None), not_ended)).label("planned"),
            _count_if(Delivery.status == "delivered").label("delivered"),
            _count_if(Delivery.status == "no_show").label("no_show"),
            _count_if(and_(Delivery.status == "cancelled", not_ended)).label("cancelled"),
        )
        .where(
            Delivery.workspace_id == ws,
            Delivery.contact_id.in_(ids),
            Delivery.scheduled_start >= since,
            Delivery.scheduled_start < now,
        )
        .group_by(Delivery.contact_id)
        .subquery("health_deliveries")
    )
    return (
        select(
            Contact.id.label("contact_id"),
            commitments.label("commitments"),
            tasks.label("tasks"),
            renews.label("renews_on"),
            deliveries.c.planned,
            deliveries.c.delivered,
            deliveries.c.no_show,
            deliveries.c.cancelled,
            HealthSnapshot.id.label("snapshot_id"),
            HealthSnapshot.score.label("snapshot_score"),
            HealthSnapshot.contributions.label("snapshot_contributions"),
            Case.priority.label("case_priority"),
            Case.opened_at.label("case_opened_at"),
        )
        .select_from(Contact)
        .outerjoin(deliveries, deliveries.c.contact_id == Contact.id)
        .outerjoin(
            HealthSnapshot,
            and_(
                HealthSnapshot.contact_id == Contact.id,
                HealthSnapshot.workspace_id == ws,
                HealthSnapshot.day == today,
            ),
        )
        .outerjoin(
            Case,
            and_(
                Case.contact_id == Contact.id,
                Case.workspace_id == ws,
                Case.status.in_(("open", "pending")),
            ),
        )
        .where(Contact.workspace_id == ws, Contact.id.in_(ids))
    )


_FACTS = _facts_statement()


class HealthSignalQueries:
    """The facts health scores need, for one client or a batch of them, in one statement."""

    def __init__(self, session: Any, workspace_id: int) -> None:
        self.session = session
        self.ws = workspace_id

    def facts(
        self, contact_ids: Sequence[int], *, today: date, now: datetime, since: datetime
    ) -> dict[int, HealthFacts]:
        """Contact id -> its facts (``since``: the start of the deliveries' window). Ids of
        another workspace are left out."""
        if not contact_ids:
            return {}
        params = {"ws": self.ws, "ids": list(contact_ids), "today": today, "now": now}
        out: dict[int, HealthFacts] = {}
        for row in self.session.execute(_FACTS, {**params, "since": since}):
            facts = out.get(row.contact_id)
            if facts is None:
                facts = out[row.contact_id] = _facts_of(row)
            if row.case_priority is not None:
                facts.open_cases.append((row.case_priority, row.case_opened_at))
        return out


def _facts_of(row: Any) -> HealthFacts:
    """A contact's facts from its first row (the cases are added row by row)."""
    snapshot = None
    if row.snapshot_id is not None:
        snapshot = TodaySnapshot(row.snapshot_score, row.snapshot_contributions)
    return HealthFacts(
        overdue_commitments=int(row.commitments),
        overdue_tasks=int(row.tasks),
        planned_deliveries=int(row.planned or 0),  # NULL: no delivery in the window
        delivered=int(row.delivered or 0),
        no_shows=int(row.no_show or 0),
        cancellations=int(row.cancelled or 0),
        renews_on=_as_date(row.renews_on),
        snapshot=snapshot,
    )


def _as_date(value: Any) -> date | None:
    """A MIN() of a date column comes back as text on SQLite."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
