"""The durable job engine: transactional enqueue, retries, dead jobs, periodic jobs, crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tenure.db.models import Activity, Job
from tenure.db.uow import session_factory, unit_of_work
from tenure.services import jobs
from tenure.worker.registry import load_handlers
from tenure.worker.runner import Worker, WorkerConfig


def _count(db, *where) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Job).where(*where)) or 0


def test_a_rolled_back_change_enqueues_nothing(db, tenant) -> None:
    with pytest.raises(RuntimeError), unit_of_work(session_factory(db.engine)) as session:
        jobs.enqueue(tenant.ctx(session), "test.noop", {"value": 1})
        raise RuntimeError("the change failed")
    assert _count(db) == 0


def test_a_key_enqueues_once(db, tenant) -> None:
    with unit_of_work(session_factory(db.engine)) as session:
        first = jobs.enqueue(tenant.ctx(session), "test.noop", key="once")
        second = jobs.enqueue(tenant.ctx(session), "test.noop", key="once")
    assert first is not None and second is None
    assert _count(db) == 1


def test_failures_retry_with_backoff_then_die_and_can_be_retried(db, tenant, server) -> None:
    calls: list[int] = []

    def flaky(ctx, payload):
        calls.append(1)
        raise ValueError("remote said no")

    from tenure.clock import utcnow

    with unit_of_work(session_factory(db.engine)) as session:
        job_id = jobs.enqueue(tenant.ctx(session), "flaky", max_attempts=3)
    now = [utcnow()]
    worker = Worker(
        db.engine, WorkerConfig(worker_id="w1"), handlers={"flaky": flaky}, clock=lambda: now[0]
    )
    assert worker.run_once() == 1
    with db.session() as s:
        job = s.get(Job, job_id)
        assert job.status == "queued" and job.attempts == 1 and "remote said no" in job.last_error
        assert job.run_at > now[0]  # backed off
    assert worker.run_once() == 0  # not due yet
    for _ in range(2):
        now[0] += timedelta(hours=2)
        assert worker.run_once() == 1
    with db.session() as s:
        assert s.get(Job, job_id).status == "dead"
    assert len(calls) == 3

    import httpx

    headers = {"Authorization": f"Bearer {tenant.owner.token}"}
    dead = httpx.get(
        server.base_url + "/api/v1/jobs", params={"status": "dead"}, headers=headers
    ).json()
    assert [j["id"] for j in dead["items"]] == [job_id]
    r = httpx.post(server.base_url + f"/api/v1/jobs/{job_id}/retry", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "queued" and r.json()["attempts"] == 0
    from tenure.domain.access import Role

    viewer = {"Authorization": f"Bearer {tenant.member(Role.MEMBER).token}"}
    assert httpx.get(server.base_url + "/api/v1/jobs", headers=viewer).status_code == 403


def test_periodic_jobs_are_enqueued_once_per_period_by_any_number_of_workers(db, tenant) -> None:
    a = Worker(db.engine, WorkerConfig(worker_id="a"), handlers={})
    b = Worker(db.engine, WorkerConfig(worker_id="b"), handlers={})
    from tenure.worker.periodic import PERIODIC

    assert a.tick() == len(PERIODIC)  # each periodic kind once for the one workspace
    assert b.tick() == 0
    assert a.tick() == 0
    assert _count(db, Job.kind == "health.snapshot") == 1


def test_a_noop_job_runs_and_records_its_result(db, tenant) -> None:
    with unit_of_work(session_factory(db.engine)) as session:
        job_id = jobs.enqueue(tenant.ctx(session), "test.noop", {"value": 42})
    assert Worker(db.engine, WorkerConfig(worker_id="w")).run_until_idle() == 1
    with db.session() as s:
        job = s.get(Job, job_id)
        assert job.status == "done" and job.result == {"echo": 42} and job.finished_at


def test_a_job_whose_lease_was_taken_over_rolls_its_effects_back(db, tenant) -> None:
    """Fencing: a slow worker that lost its lease must not commit a second effect."""
    from tenure.clock import utcnow

    now: list = []
    started = []

    def slow(ctx, payload):
        from tenure.domain.activities import ActivityKind
        from tenure.services import activities

        activities.create_activity(ctx, kind=ActivityKind.TASK, title="once", due_at=ctx.now)
        if not started:
            started.append(1)
            # Meanwhile the lease ran out and another worker took the job and finished it.
            now[0] += timedelta(minutes=5)
            other = Worker(
                db.engine,
                WorkerConfig(worker_id="b", lease_seconds=60),
                handlers={"slow": slow},
                clock=lambda: now[0],
            )
            started.append(other.run_once())
        return {}

    first = Worker(
        db.engine,
        WorkerConfig(worker_id="a", lease_seconds=60),
        handlers={"slow": slow},
        clock=lambda: now[0],
    )
    with unit_of_work(session_factory(db.engine)) as session:
        jobs.enqueue(tenant.ctx(session), "slow")
    now.append(utcnow())
    if db.backend == "sqlite":
        pytest.skip("SQLite has one writer: the nested worker would wait on the first's lock")
    first.run_once()
    with db.session() as s:
        assert started == [1, 1], started
        assert s.scalar(select(func.count()).select_from(Activity)) == 1


def _start_worker(db, lease: float) -> subprocess.Popen:
    env = {**os.environ, "TENURE_DATABASE_URL": db.url}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tenure.cli",
            "worker",
            "--batch",
            "5",
            "--lease",
            str(lease),
            "--poll",
            "0.05",
            "--tick",
            "3600",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_sigkill_mid_batch_every_job_completes_and_each_effect_happens_once(db, tenant) -> None:
    total = 1000
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        for i in range(total):
            jobs.enqueue(
                ctx, "activity.create", {"title": f"task {i}", "due_in_days": 1}, key=f"effect:{i}"
            )
    batch = Job.kind == "activity.create"  # the workers' periodic jobs aside
    victim = _start_worker(db, lease=2)
    try:
        assert _wait(lambda: _count(db, batch, Job.status == "done") >= 100, 120)
    finally:
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
    done_at_kill = _count(db, batch, Job.status == "done")
    assert done_at_kill < total, "the worker finished before it could be killed"
    workers = [_start_worker(db, lease=2) for _ in range(2 if db.backend == "postgresql" else 1)]
    try:
        # (the workers' periodic jobs are done too: count the batch's own)
        batch = Job.kind == "activity.create"
        assert _wait(lambda: _count(db, batch, Job.status == "done") == total, 300)
    finally:
        for w in workers:
            w.terminate()
            w.wait(timeout=30)
    with db.session() as s:
        titles = s.scalars(select(Activity.title)).all()
    assert len(titles) == total
    assert len(set(titles)) == total
    assert _count(db, batch, Job.status != "done") == 0


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_run_the_same_job(db, tenant) -> None:
    if db.backend != "postgresql":
        pytest.skip("SKIP LOCKED is the PostgreSQL path")
    total = 300
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        for i in range(total):
            jobs.enqueue(ctx, "activity.create", {"title": f"t{i}"})
    workers = [_start_worker(db, lease=30) for _ in range(3)]
    try:
        batch = Job.kind == "activity.create"  # the workers' periodic jobs aside
        assert _wait(lambda: _count(db, batch, Job.status == "done") == total, 180)
    finally:
        for w in workers:
            w.terminate()
            w.wait(timeout=30)
    with db.session() as s:
        assert s.scalar(select(func.max(Job.attempts))) == 1  # each claimed exactly once
        runners = set(s.scalars(select(Job.locked_by)).all())
        titles = s.scalars(select(Activity.title)).all()
    assert len(titles) == total == len(set(titles))
    assert len(runners) >= 2  # the work was shared


def test_handlers_cover_the_periodic_kinds() -> None:
    from tenure.worker.periodic import PERIODIC

    assert {p.kind for p in PERIODIC} <= set(load_handlers())


class _RecordingStop(threading.Event):
    """A stop event that records the loop's waits and stops it at its first idle poll."""

    def __init__(self, poll: float) -> None:
        super().__init__()
        self.poll = poll
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if timeout == self.poll:
            self.set()
        return self.is_set()


def test_the_running_worker_rests_between_jobs_on_sqlite_only(db, tenant) -> None:
    """SQLite's one write lock: the loop leaves a gap after each job for the requests waiting
    on it (their busy handler polls every 100 ms at most); PostgreSQL needs none."""
    from tenure.worker.runner import SQLITE_WRITER_GAP

    ran: list[int] = []
    with unit_of_work(session_factory(db.engine)) as session:
        for value in range(3):
            jobs.enqueue(tenant.ctx(session), "test.count", {"value": value})
    config = WorkerConfig(worker_id="w-gap", poll_seconds=0.5, tick_seconds=3600)
    worker = Worker(db.engine, config, handlers={"test.count": lambda ctx, p: ran.append(1)})
    worker._last_tick = time.monotonic()  # no periodic jobs in this test
    stop = _RecordingStop(poll=0.5)
    worker.run(stop)

    assert len(ran) == 3
    gap = SQLITE_WRITER_GAP if db.backend == "sqlite" else 0.0
    assert gap == 0.0 or gap > 0.1  # longer than the busy handler's longest poll step
    assert worker.writer_gap == gap
    assert stop.waits == ([gap] * 3 if gap else []) + [0.5]
