"""Periodic jobs walk the workspace in bounded batches (issue 5/8): each batch is its own job
and transaction, continues itself under a deterministic key, survives crashes and concurrent
workers without skipping or repeating a batch, and a concurrent write of a contact does not
fail a batch."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from tenure.db.models import Activity, Contact, HealthSnapshot, Job, RuleRun
from tenure.db.repositories.contacts import ContactRepository
from tenure.services import rules
from tenure.services.context import Ctx
from tenure.services.rules import engine
from tenure.worker.handlers import core
from tenure.worker.registry import Handler, load_handlers
from tenure.worker.runner import Worker, WorkerConfig
from tests.factories.automation import Clock, client, count, make_rule, run_worker

CLIENTS = 7


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 3 clients / 2 firings, so seven clients take several continuations."""
    monkeypatch.setattr(core, "HEALTH_BATCH", 3)
    monkeypatch.setattr(engine, "MAX_BUILT_PER_JOB", 2)


def _clients(tenant: Any, clock: Clock) -> list[int]:
    start = clock.today - timedelta(days=30)
    return [client(tenant, clock, f"Client {i}", starts_on=start)[0] for i in range(CLIENTS)]


def _jobs(tenant: Any, kind: str) -> list[Job]:
    with tenant.db.session() as s:
        return list(s.scalars(select(Job).where(Job.kind == kind).order_by(Job.id)).all())


def _snapshots_per_contact(tenant: Any) -> dict[int, int]:
    with tenant.db.session() as s:
        stmt = select(HealthSnapshot.contact_id, func.count()).group_by(HealthSnapshot.contact_id)
        return {int(cid): int(n) for cid, n in s.execute(stmt).all()}


def _health_walk_was_exact(tenant: Any, ids: list[int]) -> None:
    batches = _jobs(tenant, "health.snapshot")
    assert [j.status for j in batches] == ["done"] * 3  # 3 + 3 + 1 clients
    assert [j.result["clients"] for j in batches] == [3, 3, 1]
    assert [j.payload.get("after", 0) for j in batches] == [0, ids[2], ids[5]]
    assert _snapshots_per_contact(tenant) == dict.fromkeys(ids, 1)


def _worker(tenant: Any, clock: Clock, name: str, handlers: dict[str, Handler]) -> Worker:
    return Worker(tenant.db.engine, WorkerConfig(worker_id=name), handlers=handlers, clock=clock)


def test_health_snapshot_walks_every_client_once_in_batches(tenant, small_batches) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    ids = _clients(tenant, clock)
    run_worker(tenant, clock)
    _health_walk_was_exact(tenant, ids)
    # Another tick the same day enqueues nothing new: the period's chain is not started again.
    run_worker(tenant, clock)
    assert len(_jobs(tenant, "health.snapshot")) == 3


def test_a_batch_that_crashes_is_rerun_without_skipping_or_repeating(tenant, small_batches) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    ids = _clients(tenant, clock)
    handlers = dict(load_handlers())
    real = handlers["health.snapshot"]
    crashed: list[int] = []

    def crash_once_mid_walk(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
        result = real(ctx, payload)  # the batch's writes and its continuation, then a crash
        if payload.get("after") and not crashed:
            crashed.append(int(payload["after"]))
            raise RuntimeError("worker crashed mid-batch")
        return result

    handlers["health.snapshot"] = crash_once_mid_walk
    worker = _worker(tenant, clock, "w1", handlers)
    worker.tick()
    worker.run_until_idle()
    assert crashed == [ids[2]]
    assert _jobs(tenant, "health.snapshot")[1].status == "queued"  # waiting for its retry
    clock.move(hours=2)
    worker.run_until_idle()
    _health_walk_was_exact(tenant, ids)
    assert [j.attempts for j in _jobs(tenant, "health.snapshot")] == [1, 2, 1]


def test_two_workers_do_not_double_process_a_period(tenant, small_batches) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    ids = _clients(tenant, clock)
    workers = [_worker(tenant, clock, f"w{i}", load_handlers()) for i in range(2)]
    if tenant.db.backend == "sqlite":  # one writer: the two take turns
        for w in workers:
            w.tick()
            w.run_until_idle()
    else:
        start = threading.Barrier(2)

        def run(w: Worker) -> None:
            start.wait()
            w.tick()
            w.run_until_idle()

        threads = [threading.Thread(target=run, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    _health_walk_was_exact(tenant, ids)


def _bump_versions_then(real: Handler) -> Handler:
    """Load the clients into the batch's session, then change them behind its back (a version
    bump by another writer, as on PostgreSQL; done in the same transaction so SQLite, which
    lets no second writer in, shows the same conflict), then run the real batch. The loaded
    copies are made to look older than the score in the database, so the batch writes it."""

    def handler(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
        for contact in ContactRepository(ctx.session, ctx.workspace_id).clients_after(0, 100):
            set_committed_value(contact, "health_score", None)
        ctx.session.execute(
            update(Contact)
            .where(Contact.workspace_id == ctx.workspace_id)
            .values(version=Contact.version + 1)
            .execution_options(synchronize_session=False)
        )
        return real(ctx, payload)

    return handler


def test_a_concurrent_version_bump_does_not_fail_the_health_batch(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    ids = _clients(tenant, clock)
    handlers = dict(load_handlers())
    handlers["health.snapshot"] = _bump_versions_then(handlers["health.snapshot"])
    worker = _worker(tenant, clock, "w1", handlers)
    worker.tick()
    worker.run_until_idle()
    [job] = _jobs(tenant, "health.snapshot")
    assert (job.status, job.attempts, job.result["clients"]) == ("done", 1, CLIENTS)
    assert _snapshots_per_contact(tenant) == dict.fromkeys(ids, 1)


def test_time_rules_continue_across_jobs_and_fire_each_occurrence_once(
    tenant, small_batches
) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    ids = _clients(tenant, clock)
    rule_id = make_rule(
        tenant,
        clock,
        trigger={
            "type": "recurrence",
            "rrule": "FREQ=DAILY",
            "dtstart": "2025-03-03T09:00:00",
            "timezone": "UTC",
        },
        actions=[{"type": "create_activity", "title": "Daily look at {contact.display_name}"}],
    )
    clock.move(days=1)
    run_worker(tenant, clock)
    batches = _jobs(tenant, rules.TIME_KIND)
    assert len(batches) >= 4 and {j.status for j in batches} == {"done"}
    with tenant.db.session() as s:
        keyed = s.execute(select(RuleRun.contact_id, RuleRun.trigger_key)).all()
    assert sorted(c for c, _ in keyed) == ids  # one run per client for the one occurrence
    assert len({k for _, k in keyed}) == CLIENTS
    clock.move(hours=1)
    run_worker(tenant, clock)  # next hour: nothing new is due, nothing fires again
    assert count(tenant, RuleRun, RuleRun.rule_id == rule_id) == CLIENTS


def test_a_concurrent_version_bump_does_not_fail_the_rules_job(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    start = clock.today - timedelta(days=20)
    ada, _ = client(tenant, clock, "Ada", starts_on=start, cadence_days=14)
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "inactivity", "measure": "cadence"},
        actions=[
            {"type": "add_tag", "tag": "overdue"},  # writes the contact: meets the bump
            {"type": "create_activity", "title": "Check in with {contact.display_name}"},
        ],
    )
    handlers = dict(load_handlers())
    handlers[rules.TIME_KIND] = _bump_versions_then(handlers[rules.TIME_KIND])
    worker = _worker(tenant, clock, "w1", handlers)
    worker.tick()
    worker.run_until_idle()
    assert {(j.status, j.attempts) for j in _jobs(tenant, rules.TIME_KIND)} == {("done", 1)}
    assert _jobs(tenant, rules.TIME_KIND)[0].result["stale"] == 1  # skipped, not failed
    clock.move(hours=1)
    run_worker(tenant, clock)  # fired now if the conflict made the first job skip it
    [run] = [r for r in _runs(tenant) if r.rule_id == rule_id]
    assert run.contact_id == ada and run.outcome == "done"
    assert count(tenant, Activity, Activity.title == "Check in with Ada") == 1


def _runs(tenant: Any) -> list[RuleRun]:
    with tenant.db.session() as s:
        return list(s.scalars(select(RuleRun)).all())
