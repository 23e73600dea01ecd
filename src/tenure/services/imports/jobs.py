"""Starting, resuming, running and reading imports: the glue between the edges and the engine.

The CLI reads its file from disk and runs the engine itself, committing after each batch; the
API stores the upload (``ImportFile``) and enqueues ``import.run``, whose handler runs a step
of the engine per job and enqueues the next step until the file is done. Both identify an
import by its fingerprint (file hash + kind + options), so the same file with the same options
resumes the unfinished import instead of starting a second one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenure.db.models import ImportJob
from tenure.db.repositories.imports import ImportRepository
from tenure.db.repositories.pagination import Page, check_limit, id_cursor, page_of
from tenure.domain.access import Permission
from tenure.domain.errors import DomainError, FieldError, InvalidInput
from tenure.domain.imports.mapping import (
    ColumnMapping,
    from_preset,
    from_spec,
    preset_named,
    resolve,
    suggest,
)
from tenure.domain.imports.presets import ImportKind
from tenure.services import audit
from tenure.services import jobs as job_queue
from tenure.services.context import Ctx
from tenure.services.imports.dedupe import OnDuplicate
from tenure.services.imports.engine import DEFAULT_BATCH, ImportRun
from tenure.services.imports.source import Opener, inspect, open_bytes

RUN_KIND = "import.run"
MAX_BATCH = 10_000
#: Rows one worker job writes before handing over to the next job (keeps each job's
#: transaction, and a SQLite write lock, short).
STEP_ROWS = 2_000
#: Largest upload the API takes.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class ImportRequest:
    """What an import is asked to do (the options part of its fingerprint)."""

    kind: str = ImportKind.CONTACTS.value
    preset: str | None = None
    mapping: Mapping[str, Any] | None = None
    on_duplicate: str = OnDuplicate.SKIP.value
    region: str | None = None
    delimiter: str | None = None
    batch_size: int = DEFAULT_BATCH
    dry_run: bool = False

    def checked(self) -> ImportRequest:
        errors: list[FieldError] = []
        if self.kind not in {k.value for k in ImportKind}:
            errors.append(FieldError("kind", "choice", "contacts or interactions"))
        if self.on_duplicate not in {o.value for o in OnDuplicate}:
            errors.append(FieldError("on_duplicate", "choice", "skip, update or create"))
        if self.region is not None and not (len(self.region) == 2 and self.region.isalpha()):
            errors.append(FieldError("region", "region", "a two-letter country code, like GB"))
        if not 1 <= self.batch_size <= MAX_BATCH:
            errors.append(FieldError("batch_size", "range", f"between 1 and {MAX_BATCH}"))
        if errors:
            raise InvalidInput(errors)
        return self

    def options(self, sha256: str) -> dict[str, Any]:
        options = {
            "on_duplicate": self.on_duplicate,
            "region": self.region.upper() if self.region else None,
            "batch_size": self.batch_size,
            "sha256": sha256,
        }
        identity = {
            "kind": self.kind,
            "preset": self.preset,
            "mapping": self.mapping,
            "on_duplicate": self.on_duplicate,
            "region": options["region"],
            "delimiter": self.delimiter,
            "sha256": sha256,
        }
        options["fingerprint"] = hashlib.sha256(
            json.dumps(identity, sort_keys=True, default=str).encode()
        ).hexdigest()
        return options


def choose_mapping(request: ImportRequest, headers: list[str]) -> ColumnMapping:
    kind = ImportKind(request.kind)
    base = preset_named(kind, request.preset) if request.preset else None
    if request.mapping is not None:
        return from_spec(kind, request.mapping, base=base)
    return from_preset(base, headers) if base else suggest(kind, headers)


def file_sha256(opener: Opener) -> str:
    digest = hashlib.sha256()
    with opener() as raw:
        while chunk := raw.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def prepare(
    ctx: Ctx, opener: Opener, request: ImportRequest, *, filename: str, sha256: str
) -> ImportJob:
    """A new import of a file whose header fits its mapping (else InvalidInput, nothing made)."""
    ctx.require(Permission.WRITE)
    request = request.checked()
    dialect = inspect(opener, delimiter=request.delimiter)
    mapping = choose_mapping(request, dialect.headers)
    resolve(mapping, dialect.headers)
    job = ImportJob(
        kind=request.kind,
        filename=filename[:300],
        status="pending",
        dry_run=request.dry_run,
        preset=mapping.preset,
        mapping=mapping.as_dict(),
        options=request.options(sha256),
        encoding=dialect.encoding,
        delimiter=dialect.delimiter,
        rows_done=0,
        counts={},
        report=[],
        error="",
        created_by=ctx.user_id,
        created_at=ctx.now,
    )
    ImportRepository(ctx.session, ctx.workspace_id).add(job)
    ctx.session.flush()
    audit.log(ctx, "import.started", import_id=job.id, kind=job.kind, filename=job.filename)
    return job


def start_or_resume(
    ctx: Ctx, opener: Opener, request: ImportRequest, *, filename: str
) -> tuple[ImportJob, bool]:
    """The unfinished import of this file with these options (resumed), else a new one."""
    ctx.require(Permission.WRITE)
    request = request.checked()
    sha256 = file_sha256(opener)
    if not request.dry_run:
        fingerprint = request.options(sha256)["fingerprint"]
        found = ImportRepository(ctx.session, ctx.workspace_id).unfinished(
            request.kind, fingerprint
        )
        if found is not None:
            found.options = {**found.options, "batch_size": request.batch_size}
            found.error = ""
            return found, True
    return prepare(ctx, opener, request, filename=filename, sha256=sha256), False


def upload(ctx: Ctx, content: bytes, request: ImportRequest, *, filename: str) -> ImportJob:
    """An uploaded file: stored, and run by the worker (``import.run``)."""
    ctx.require(Permission.WRITE)
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInput.one("file", "max-size", f"at most {MAX_UPLOAD_BYTES} bytes")
    opener = open_bytes(content)
    job = prepare(
        ctx, opener, request, filename=filename, sha256=hashlib.sha256(content).hexdigest()
    )
    ImportRepository(ctx.session, ctx.workspace_id).add_file(job.id, content)
    job_queue.enqueue(ctx, RUN_KIND, {"import_id": job.id}, key=f"import:{job.id}:0")
    return job


def run_step(ctx: Ctx, import_id: int, *, max_rows: int | None = None) -> dict[str, Any]:
    """One job's share of an uploaded import: up to ``max_rows`` rows (a dry run: all of
    them), then the next job is enqueued in the same transaction."""
    repo = ImportRepository(ctx.session, ctx.workspace_id)
    job = repo.get(import_id)
    if job.status == "done":
        return {"import_id": job.id, "status": job.status}
    content = repo.content(job.id)
    if content is None:
        return _failed(job, "the uploaded file is gone")
    run = ImportRun(ctx, job, open_bytes(content))
    try:
        for _ in run.batches(max_rows=None if job.dry_run else (max_rows or STEP_ROWS)):
            pass
        if job.status != "done":
            key = f"import:{job.id}:{job.rows_done}"
            job_queue.enqueue(ctx, RUN_KIND, {"import_id": job.id}, key=key)
    except DomainError as exc:
        return _failed(job, exc.message)
    return {"import_id": job.id, "status": job.status, "rows_done": job.rows_done}


def _failed(job: ImportJob, message: str) -> dict[str, Any]:
    job.status = "failed"
    job.error = message[:2000]
    return {"import_id": job.id, "status": "failed", "error": job.error}


def list_imports(ctx: Ctx, *, cursor: str | None = None, limit: int = 50) -> Page:
    ctx.require(Permission.READ)
    check_limit(limit)
    rows = ImportRepository(ctx.session, ctx.workspace_id).page(
        after=id_cursor(cursor), limit=limit
    )
    return page_of(rows, limit)


def get_import(ctx: Ctx, import_id: int) -> ImportJob:
    ctx.require(Permission.READ)
    return ImportRepository(ctx.session, ctx.workspace_id).get(import_id)
