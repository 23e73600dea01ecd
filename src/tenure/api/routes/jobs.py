"""/jobs: the background queue, for admins (dead jobs and their retry)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from tenure.api.deps import CtxDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.common import Output
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.services import jobs as service

router = APIRouter(route_class=OneHopRoute, prefix="/jobs", tags=["jobs"])


class JobRead(Output):
    id: int
    kind: str
    status: str
    key: str | None
    payload: dict[str, Any]
    result: dict[str, Any]
    attempts: int
    max_attempts: int
    run_at: datetime
    last_error: str
    created_at: datetime
    finished_at: datetime | None


class JobPage(Output):
    items: list[JobRead]
    next_cursor: str | None


@router.get("", response_model=JobPage)
def list_jobs(
    ctx: CtxDep,
    status: Literal["queued", "running", "done", "dead"] | None = None,
    kind: Annotated[str | None, Query(max_length=60)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> JobPage:
    """Newest first; `?status=dead` for jobs that ran out of attempts."""
    page = service.list_jobs(ctx, status=status, kind=kind, cursor=cursor, limit=limit)
    return JobPage(
        items=[JobRead.model_validate(j) for j in page.items], next_cursor=page.next_cursor
    )


@router.get("/{job_id}", response_model=JobRead)
def get_job(job_id: int, ctx: CtxDep) -> JobRead:
    return JobRead.model_validate(service.get_job(ctx, job_id))


@router.post("/{job_id}/retry", response_model=JobRead)
def retry(job_id: int, ctx: CtxDep) -> JobRead:
    """A dead job goes back to the queue with a fresh set of attempts."""
    return JobRead.model_validate(service.retry(ctx, job_id))
