"""Background jobs: enqueued in the transaction of the change that causes them.

A rolled-back change enqueues nothing. ``key`` makes enqueueing idempotent: a periodic job or
an effect enqueued twice exists once. Running jobs is the worker's business (tenure.worker);
this module is what services and the API use.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from tenure.db.models import Job
from tenure.db.repositories.jobs import JobRepository, insert_job
from tenure.db.repositories.pagination import (
    Page,
    check_limit,
    id_cursor,
    page_of,
)
from tenure.domain.access import Permission
from tenure.domain.errors import InvalidInput, InvalidTransition
from tenure.services.context import Ctx

DEFAULT_MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 3600.0
STATUSES = ("queued", "running", "done", "dead")


def enqueue(
    ctx: Ctx,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    run_at: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> int | None:
    """Add a job in the current transaction; the new id, or None when ``key`` already exists."""
    return insert_job(
        ctx.session,
        {
            "workspace_id": ctx.workspace_id,
            "kind": kind,
            "payload": payload or {},
            "key": key,
            "status": "queued",
            "run_at": run_at or ctx.now,
            "attempts": 0,
            "max_attempts": max_attempts,
            "last_error": "",
            "result": {},
            "created_at": ctx.now,
        },
    )


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(n-1))]."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    draw = (rng or random).uniform(ceiling / 2, ceiling)
    return timedelta(seconds=draw)


def list_jobs(
    ctx: Ctx,
    *,
    status: str | None = None,
    kind: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    ctx.require(Permission.ADMIN)
    check_limit(limit)
    if status and status not in STATUSES:
        raise InvalidInput.one("status", "choice", f"one of {', '.join(STATUSES)}")
    return page_of(
        JobRepository(ctx.session, ctx.workspace_id).page(
            status=status, kind=kind, after=id_cursor(cursor), limit=limit
        ),
        limit,
    )


def get_job(ctx: Ctx, job_id: int) -> Job:
    ctx.require(Permission.ADMIN)
    return JobRepository(ctx.session, ctx.workspace_id).get(job_id)


def retry(ctx: Ctx, job_id: int) -> Job:
    """A dead job goes back to the queue with a fresh set of attempts."""
    ctx.require(Permission.ADMIN)
    job = JobRepository(ctx.session, ctx.workspace_id).get(job_id, for_update=True)
    if job.status != "dead":
        raise InvalidTransition(
            f"only a dead job can be retried; this one is {job.status}", status=job.status
        )
    job.status = "queued"
    job.attempts = 0
    job.run_at = ctx.now
    job.locked_by = None
    job.locked_until = None
    ctx.session.flush()
    return job


def counts(ctx: Ctx) -> dict[str, int]:
    ctx.require(Permission.READ)
    return JobRepository(ctx.session, ctx.workspace_id).counts()
