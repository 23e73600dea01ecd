"""Helpers for the rules and playbooks tests: a movable clock, units of work at that clock,
clients with agreements, a real worker on the same clock, and whole-database row counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, func, select
from sqlalchemy.engine import Engine

from tenure.db.models import Activity, Job, RuleRun
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.agreements import AgreementKind
from tenure.domain.contacts import ContactKind
from tenure.services import agreements, contacts, rules
from tenure.services.context import Ctx
from tenure.worker.runner import Worker, WorkerConfig

#: A Monday, 10:00 UTC: far from any daylight-saving change, and fixed (time is moved by hand).
START = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


class Clock:
    """The time the tests' services and worker see; moved forward by the test."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    @property
    def today(self) -> date:
        return self.now.date()


@contextmanager
def work(tenant: Any, clock: Clock, role: Role = Role.OWNER) -> Iterator[Ctx]:
    """One unit of work as the tenant's member at the clock's time (commits on success)."""
    tenant.member(role)  # made (in its own transaction) before this one takes the write lock
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session, role)
        ctx.now = clock.now
        yield ctx


def worker(tenant: Any, clock: Clock, name: str = "w-rules") -> Worker:
    return Worker(tenant.db.engine, WorkerConfig(worker_id=name), clock=clock)


def run_worker(tenant: Any, clock: Clock) -> int:
    """What a running worker does at the clock's time: tick the periodic jobs, run what is due."""
    w = worker(tenant, clock)
    w.tick()
    return w.run_until_idle()


def contact(tenant: Any, clock: Clock, name: str = "Ada Lovelace", **fields: Any) -> int:
    with work(tenant, clock) as ctx:
        view = contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name=name, **fields)
        return view.contact.id


def client(
    tenant: Any,
    clock: Clock,
    name: str = "Ada Lovelace",
    *,
    starts_on: date | None = None,
    renews_on: date | None = None,
    title: str = "Retainer",
    **fields: Any,
) -> tuple[int, int]:
    """A contact that became a client by confirming an agreement: (contact id, agreement id)."""
    contact_id = contact(tenant, clock, name, **fields)
    with work(tenant, clock) as ctx:
        agreement = agreements.create_agreement(
            ctx,
            contact_id,
            title=title,
            kind=AgreementKind.SUBSCRIPTION,
            starts_on=starts_on or clock.today - timedelta(days=30),
            renews_on=renews_on,
        )
        agreements.confirm(ctx, agreement.id)
        return contact_id, agreement.id


def make_rule(tenant: Any, clock: Clock, **values: Any) -> int:
    values.setdefault("name", "A rule")
    with work(tenant, clock) as ctx:
        return rules.create_rule(ctx, **values).id


def count(tenant: Any, model: Any, *where: Any) -> int:
    with tenant.db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def activities_titled(tenant: Any, prefix: str) -> list[Activity]:
    with tenant.db.session() as s:
        stmt = select(Activity).where(Activity.title.startswith(prefix)).order_by(Activity.id)
        return list(s.scalars(stmt).all())


def runs_of(tenant: Any, rule_id: int) -> list[RuleRun]:
    with tenant.db.session() as s:
        stmt = select(RuleRun).where(RuleRun.rule_id == rule_id).order_by(RuleRun.id)
        return list(s.scalars(stmt).all())


def jobs_of(tenant: Any, kind: str) -> list[Job]:
    with tenant.db.session() as s:
        return list(s.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)).all())


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table of the database (reflected: tables other features add count too)."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {
            t.name: int(conn.scalar(select(func.count()).select_from(t)) or 0)
            for t in meta.sorted_tables
        }
