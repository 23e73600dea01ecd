"""Imports: what the API shows of one (its upload's options come as multipart form fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tenure.api.schemas.common import Output


class ImportProblem(BaseModel):
    row: int
    column: str
    value: str
    rule: str
    message: str


class ImportRead(Output):
    id: int
    kind: str
    filename: str
    #: pending | running | done | failed
    status: str
    dry_run: bool
    preset: str | None
    mapping: dict[str, Any]
    on_duplicate: str
    encoding: str | None
    delimiter: str | None
    rows_done: int
    counts: dict[str, int]
    #: The first problems, row by row (``counts.problems`` counts all of them).
    report: list[ImportProblem]
    error: str
    created_by: int | None
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Any, *, with_report: bool = True) -> ImportRead:
        """``with_report=False`` for lists: a report can hold a thousand problems."""
        return cls(
            id=job.id,
            kind=job.kind,
            filename=job.filename,
            status=job.status,
            dry_run=job.dry_run,
            preset=job.preset,
            mapping=job.mapping,
            on_duplicate=job.options.get("on_duplicate", "skip"),
            encoding=job.encoding,
            delimiter=job.delimiter,
            rows_done=job.rows_done,
            counts=job.counts,
            report=[ImportProblem(**p) for p in job.report] if with_report else [],
            error=job.error,
            created_by=job.created_by,
            created_at=job.created_at,
            finished_at=job.finished_at,
        )


class ImportPage(Output):
    items: list[ImportRead]
    next_cursor: str | None
