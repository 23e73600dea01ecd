"""The worker: claims due jobs, runs each in its own transaction, retries with backoff, and
ticks the periodic jobs. Run as many as you like against PostgreSQL (`tenure worker`); on
SQLite one runs inside `tenure serve`.

At-least-once: a job whose worker dies is claimed again when its lease runs out. A handler's
database effects commit in the same transaction that marks the job done, and only while the
worker still holds the job (``fence``), so they happen exactly once; effects outside the
database (email, webhooks) carry a stable id so that a repeat is recognizable.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tenure.clock import utcnow
from tenure.db.models import Workspace
from tenure.db.repositories import jobs as queue
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.services import jobs as job_service
from tenure.services.context import Ctx
from tenure.worker.periodic import PERIODIC
from tenure.worker.registry import Handler, load_handlers

log = logging.getLogger("tenure.worker")

#: SQLite has one writer. A request that finds the lock taken does not queue for it: its busy
#: handler sleeps and polls again, at longer and longer steps (up to 100 ms). A worker walking
#: 40k clients in chained batches took the lock again within microseconds of each commit, so a
#: request's write could wait seconds (bench/README.md, size M: writes p95 1.2-2.5 s with the
#: worker on). Resting a little longer than the longest poll step after each job leaves every
#: waiting request a window; the walk just takes longer.
SQLITE_WRITER_GAP = 0.12


@dataclass
class WorkerConfig:
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    batch: int = 10
    tick_seconds: float = 60.0
    #: Pause after each job while running (``run``), so the database's one write lock is free
    #: for the requests between jobs. None: ``SQLITE_WRITER_GAP`` on SQLite, none elsewhere.
    writer_gap_seconds: float | None = None
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    )


class Worker:
    def __init__(
        self,
        engine: Engine,
        config: WorkerConfig | None = None,
        handlers: dict[str, Handler] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.config = config or WorkerConfig()
        self.handlers = handlers if handlers is not None else load_handlers()
        self.clock = clock
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self._last_tick = 0.0
        gap = self.config.writer_gap_seconds
        if gap is None:
            gap = SQLITE_WRITER_GAP if engine.dialect.name == "sqlite" else 0.0
        self.writer_gap = gap

    # --- the loop ----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        log.info("worker %s started", self.config.worker_id)
        while not stop.is_set():
            try:
                if time.monotonic() - self._last_tick >= self.config.tick_seconds:
                    self.tick()
                ran = self.run_once(rest=lambda: stop.wait(self.writer_gap))
            except Exception:
                log.exception("worker loop error")
                ran = 0
            if ran == 0:
                stop.wait(self.config.poll_seconds)
        log.info("worker %s stopped", self.config.worker_id)

    def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Run jobs until none is due (tests, CLI `--once`); returns how many ran."""
        total = 0
        for _ in range(max_rounds):
            ran = self.run_once()
            if ran == 0:
                break
            total += ran
        return total

    def run_once(self, rest: Callable[[], object] | None = None) -> int:
        """Claim due jobs and run them; ``rest`` is called after each (the loop's writer gap;
        tests and ``--once`` run without one)."""
        now = self.clock()
        with unit_of_work(self.sessions) as session:
            claimed = queue.claim(
                session,
                worker=self.config.worker_id,
                now=now,
                lease_until=now + timedelta(seconds=self.config.lease_seconds),
                limit=self.config.batch,
            )
            jobs = [
                (j.id, j.workspace_id, j.kind, dict(j.payload), j.attempts, j.max_attempts)
                for j in claimed
            ]
        for job in jobs:
            self._run(*job)
            if rest is not None and self.writer_gap:
                rest()
        return len(jobs)

    def tick(self) -> int:
        """Enqueue this period's periodic jobs for every workspace (idempotent by key)."""
        self._last_tick = time.monotonic()
        now = self.clock()
        added = 0
        with unit_of_work(self.sessions) as session:
            for workspace_id, timezone in queue.workspace_ids(session):
                ctx = self._ctx(session, workspace_id, timezone, now)
                for periodic in PERIODIC:
                    key = periodic.period_key(now, timezone)
                    if job_service.enqueue(ctx, periodic.kind, {}, key=key) is not None:
                        added += 1
        return added

    # --- one job -----------------------------------------------------------------------------

    def _run(
        self,
        job_id: int,
        workspace_id: int,
        kind: str,
        payload: dict[str, object],
        attempts: int,
        max_attempts: int,
    ) -> None:
        handler = self.handlers.get(kind)
        heartbeat = _Heartbeat(self, job_id)
        heartbeat.start()
        try:
            with self.sessions() as session:
                session.connection(execution_options={"tenure_write": True})
                try:
                    if handler is None:
                        raise LookupError(f"no handler for job kind {kind!r}")
                    workspace = session.get(Workspace, workspace_id)
                    tz = workspace.timezone if workspace else "UTC"
                    ctx = self._ctx(session, workspace_id, tz, self.clock())
                    result = handler(ctx, payload)
                    done = queue.fence(
                        session,
                        job_id,
                        self.config.worker_id,
                        {
                            "status": "done",
                            "finished_at": self.clock(),
                            "result": result or {},
                            "locked_until": None,
                            "last_error": "",
                        },
                    )
                    if not done:  # our lease was taken over: the other worker's run counts
                        session.rollback()
                        log.warning("job %s lost its lease; effects rolled back", job_id)
                        return
                    session.commit()
                except Exception as exc:
                    session.rollback()
                    self._failed(job_id, attempts, max_attempts, exc)
        finally:
            heartbeat.stop()

    def _failed(self, job_id: int, attempts: int, max_attempts: int, exc: Exception) -> None:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
        now = self.clock()
        dead = attempts >= max_attempts
        values: dict[str, object] = {"last_error": error, "locked_until": None}
        if dead:
            values.update(status="dead", finished_at=now)
        else:
            values.update(status="queued", run_at=now + job_service.backoff(attempts))
        with unit_of_work(self.sessions) as session:
            queue.fence(session, job_id, self.config.worker_id, values)
        log.log(
            logging.ERROR if dead else logging.WARNING,
            "job %s failed (attempt %s/%s): %s",
            job_id,
            attempts,
            max_attempts,
            error,
        )

    def _ctx(self, session: Session, workspace_id: int, timezone: str, now: datetime) -> Ctx:
        return Ctx(
            session=session,
            workspace_id=workspace_id,
            user_id=None,
            role=Role.OWNER,
            source="automation",
            workspace_timezone=timezone,
            now=now,
        )

    def renew(self, job_id: int) -> None:
        until = self.clock() + timedelta(seconds=self.config.lease_seconds)
        with unit_of_work(self.sessions) as session:
            queue.fence(session, job_id, self.config.worker_id, {"locked_until": until})


class _Heartbeat:
    """Renews a running job's lease every third of it, so long jobs are not taken over."""

    def __init__(self, worker: Worker, job_id: int) -> None:
        self.worker = worker
        self.job_id = job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        interval = self.worker.config.lease_seconds / 3
        while not self._stop.wait(interval):
            try:
                self.worker.renew(self.job_id)
            except Exception:
                log.exception("heartbeat for job %s failed", self.job_id)


def start_in_thread(engine: Engine, config: WorkerConfig | None = None) -> threading.Event:
    """The embedded worker of `tenure serve` (SQLite): returns the event that stops it."""
    stop = threading.Event()
    worker = Worker(engine, config)
    threading.Thread(target=worker.run, args=(stop,), name="tenure-worker", daemon=True).start()
    return stop
