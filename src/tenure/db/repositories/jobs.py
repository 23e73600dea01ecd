"""The job queue's queries: idempotent enqueue, claiming with SKIP LOCKED, fenced completion."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tenure.db.models import Job, Workspace
from tenure.db.repositories.base import Repository
from tenure.db.repositories.keyset import KeysetOrder


def insert_job(session: Session, values: dict[str, Any]) -> int | None:
    """INSERT … ON CONFLICT (workspace_id, key) DO NOTHING; the new id, or None if it existed."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Job).values(**values).on_conflict_do_nothing().returning(Job.id)
    return session.execute(stmt).scalar_one_or_none()


def claim(
    session: Session, *, worker: str, now: datetime, lease_until: datetime, limit: int
) -> list[Job]:
    """Take up to ``limit`` due jobs (or jobs whose worker's lease ran out) for this worker.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim at once without
    ever taking the same job; on SQLite the write transaction (BEGIN IMMEDIATE) serializes.
    """
    due = or_(
        and_(Job.status == "queued", Job.run_at <= now),
        and_(Job.status == "running", Job.locked_until < now),
    )
    stmt = select(Job).where(due).order_by(Job.run_at, Job.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    jobs = list(session.scalars(stmt).all())
    for job in jobs:
        job.status = "running"
        job.locked_by = worker
        job.locked_until = lease_until
        job.attempts += 1
    session.flush()
    return jobs


def fence(session: Session, job_id: int, worker: str, values: dict[str, Any]) -> bool:
    """Update a job only while this worker still holds it (its lease was not taken over)."""
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker, Job.status == "running")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def workspace_ids(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(select(Workspace.id, Workspace.timezone).order_by(Workspace.id))
    return [(int(i), str(tz)) for i, tz in rows.all()]


class JobRepository(Repository[Job]):
    model = Job
    noun = "job"

    def page(
        self, *, status: str | None, kind: str | None, after: list[Any] | None, limit: int
    ) -> Sequence[Job]:
        stmt = self.select()
        if status:
            stmt = stmt.where(Job.status == status)
        if kind:
            stmt = stmt.where(Job.kind == kind)
        order = KeysetOrder(Job.id, Job.id, descending=True)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

    def by_key(self, key: str) -> Job | None:
        return self.session.scalars(self.select().where(Job.key == key)).one_or_none()

    def counts(self) -> dict[str, int]:
        from sqlalchemy import func

        stmt = self.select(Job.status, func.count()).group_by(Job.status)
        return {str(s): int(n) for s, n in self.session.execute(stmt).all()}
