"""Imports prepared in steps (the web's upload → map → dry run → import), kept server-side.

An upload becomes a *draft*: an ``ImportJob`` with status ``pending`` and ``options["draft"]``,
with its bytes in ``ImportFile``, and nothing enqueued. Nothing is lost on a reload and the
mapping can be changed any number of times. A draft's mapping may be incomplete (the user is
still choosing); it must resolve before a dry run or an import starts.

A CSV dry run is a separate import (``dry_run``, a copy of the file, ``options["draft_of"]``)
run by the worker as the API runs one, so the draft stays untouched and can be run for real
afterwards. Running for real enqueues ``import.run`` on the draft itself. vCard files are
run by the vCard service in the request (as ``POST /contacts/vcard`` does); their reports
are stored on the import in the CSV report's shape (``row`` is the card's number).

A draft nobody wants is discarded (``discard``: the draft, its file and its dry runs); one
not started within ``DRAFT_DAYS`` is discarded by the worker's daily ``expire_batch``, so
abandoned uploads do not keep their files forever.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from typing import Any

from tenure.db.models import ImportJob
from tenure.db.repositories.imports import ImportRepository
from tenure.domain.access import Permission
from tenure.domain.errors import Conflict, InvalidInput
from tenure.domain.imports.mapping import resolve
from tenure.services import audit, vcard
from tenure.services import jobs as job_queue
from tenure.services.context import Ctx
from tenure.services.imports.engine import mapping_of
from tenure.services.imports.jobs import (
    MAX_UPLOAD_BYTES,
    RUN_KIND,
    ImportRequest,
    choose_mapping,
)
from tenure.services.imports.source import inspect, open_bytes, records, set_field_limit

VCARD = "vcard"
#: The largest CSV and .vcf files the web takes (read at call time, so tests can lower them).
MAX_CSV_BYTES = MAX_UPLOAD_BYTES
MAX_VCF_BYTES = 20 * 1024 * 1024
#: Cards shown in a vCard preview.
VCARD_PREVIEW = 20
#: A draft not started this many days after its upload is deleted with its file
#: (``expire_batch``, run daily by the worker's ``imports.expire_drafts``).
DRAFT_DAYS = 7
EXPIRE_KIND = "imports.expire_drafts"
#: Statuses of an import that is over.
FINISHED = ("done", "failed")
_BEGIN_VCARD = re.compile(rb"^\s*begin\s*:\s*vcard\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class DraftOptions:
    """What the user chose for a draft: its mapping (a spec, see ``mapping.from_spec``) and
    how duplicates and phone numbers are treated."""

    mapping: Mapping[str, Any] | None = None
    on_duplicate: str = "skip"
    region: str | None = None


@dataclass(frozen=True)
class Sample:
    """A CSV draft's header and first records, as the file has them (for the mapping table)."""

    headers: list[str]
    rows: list[list[str]]


def is_draft(job: ImportJob) -> bool:
    return job.status == "pending" and bool(job.options.get("draft"))


def looks_like_vcard(filename: str, content: bytes) -> bool:
    return filename.lower().endswith((".vcf", ".vcard")) or bool(
        _BEGIN_VCARD.search(content[:4096].lstrip(b"\xef\xbb\xbf"))
    )


def _limit(kind: str) -> int:
    return MAX_VCF_BYTES if kind == VCARD else MAX_CSV_BYTES


def _check_size(content: bytes, kind: str) -> None:
    limit = _limit(kind)
    if len(content) > limit:
        raise InvalidInput.one(
            "file", "max-size", f"the file is too large: at most {limit // 2**20} MB"
        )
    if not content.strip():
        raise InvalidInput.one("file", "empty", "the file is empty")


def stage(
    ctx: Ctx, content: bytes, request: ImportRequest, *, filename: str, kind: str
) -> ImportJob:
    """A draft of an uploaded file (``kind``: contacts, interactions or vcard); a file that
    cannot be imported is an ``InvalidInput`` on ``file`` and nothing is written."""
    ctx.require(Permission.WRITE)
    if kind == VCARD:
        return _stage_vcard(ctx, content, request, filename=filename)
    request = ImportRequest(
        kind=kind,
        preset=request.preset,
        on_duplicate=request.on_duplicate,
        region=request.region,
    ).checked()
    _check_size(content, kind)
    opener = open_bytes(content)
    dialect = inspect(opener)
    mapping = choose_mapping(request, dialect.headers)
    options = request.options(hashlib.sha256(content).hexdigest())
    options.update(draft=True, total_rows=_count_records(content, dialect))
    return _add(ctx, content, filename, kind, mapping.preset, mapping.as_dict(), options, dialect)


def _count_records(content: bytes, dialect: Any) -> int:
    set_field_limit()
    with records(open_bytes(content), dialect.encoding, dialect.delimiter) as rows:
        return sum(1 for _ in rows)


def _stage_vcard(ctx: Ctx, content: bytes, request: ImportRequest, *, filename: str) -> ImportJob:
    mode = vcard.check_on_duplicate(request.on_duplicate)
    _check_size(content, VCARD)
    text = vcard.decode_bytes(content)
    cards = len(_BEGIN_VCARD.findall(text.encode()))
    if not cards:
        raise InvalidInput.one("file", "vcard", "this is not a vCard file (no BEGIN:VCARD)")
    options = {"draft": True, "on_duplicate": mode.value, "total_rows": cards}
    return _add(ctx, content, filename, VCARD, None, {}, options, None)


def _add(
    ctx: Ctx,
    content: bytes,
    filename: str,
    kind: str,
    preset: str | None,
    mapping: dict[str, Any],
    options: dict[str, Any],
    dialect: Any,
) -> ImportJob:
    job = ImportJob(
        kind=kind,
        filename=filename[:300],
        status="pending",
        dry_run=False,
        preset=preset,
        mapping=mapping,
        options=options,
        encoding=dialect.encoding if dialect else None,
        delimiter=dialect.delimiter if dialect else None,
        rows_done=0,
        counts={},
        report=[],
        error="",
        created_by=ctx.user_id,
        created_at=ctx.now,
    )
    repo = ImportRepository(ctx.session, ctx.workspace_id)
    repo.add(job)
    ctx.session.flush()
    repo.add_file(job.id, content)
    return job


def draft(ctx: Ctx, import_id: int) -> ImportJob:
    """A draft to change or start; an import that already started is a ``Conflict``."""
    ctx.require(Permission.WRITE)
    job = ImportRepository(ctx.session, ctx.workspace_id).get(import_id, for_update=True)
    if not is_draft(job):
        raise Conflict("this import has already started; upload the file again to change it")
    return job


def discard(ctx: Ctx, import_id: int) -> None:
    """Delete a draft that has not started, its uploaded file, and its dry runs with their
    copies of the file. An import that started, or a draft whose dry run is still running, is
    a ``Conflict``; another workspace's import is not found."""
    ctx.require(Permission.WRITE)
    repo = ImportRepository(ctx.session, ctx.workspace_id)
    job = repo.get(import_id, for_update=True)
    if not is_draft(job):
        raise Conflict("this import has started; only a draft can be discarded")
    dry_runs = repo.dry_runs_of(job)
    if any(d.status not in FINISHED for d in dry_runs):
        raise Conflict("a dry run of this draft is still running; discard it when it is done")
    repo.delete_with_files([job.id, *(d.id for d in dry_runs)])
    audit.log(ctx, "import.discarded", import_id=job.id, filename=job.filename)


def expire_batch(ctx: Ctx, *, after_id: int, limit: int) -> tuple[int, int | None]:
    """Discard the drafts (oldest first, by id after ``after_id``) not started within
    ``DRAFT_DAYS`` of their upload, as ``discard`` does, skipping any whose dry run still
    runs. (deleted, the id to continue after or None when none are left)."""
    repo = ImportRepository(ctx.session, ctx.workspace_id)
    found = repo.pending_created_before(
        ctx.now - timedelta(days=DRAFT_DAYS), after_id=after_id, limit=limit
    )
    expired: list[int] = []
    with_dry_runs: list[int] = []
    for job in found[:limit]:
        if not is_draft(job):
            continue  # an upload waiting for the worker
        dry_runs = repo.dry_runs_of(job)
        if all(d.status in FINISHED for d in dry_runs):
            expired.append(job.id)
            with_dry_runs += [job.id, *(d.id for d in dry_runs)]
            audit.log(ctx, "import.expired", import_id=job.id, filename=job.filename)
    repo.delete_with_files(with_dry_runs)
    more = found[limit - 1].id if len(found) > limit else None
    return len(expired), more


def content_of(ctx: Ctx, job: ImportJob) -> bytes:
    found = ImportRepository(ctx.session, ctx.workspace_id).content(job.id)
    if found is None:
        raise Conflict("the uploaded file is gone; upload it again")
    return found


def request_of(job: ImportJob, options: DraftOptions | None = None) -> ImportRequest:
    """The import request a draft stands for, with ``options`` chosen instead of its own."""
    return ImportRequest(
        kind=job.kind,
        preset=job.preset,
        mapping=options.mapping if options and options.mapping is not None else job.mapping,
        on_duplicate=options.on_duplicate if options else job.options.get("on_duplicate", "skip"),
        region=(options.region if options else job.options.get("region")) or None,
        delimiter=job.delimiter,
    )


def sample(ctx: Ctx, job: ImportJob, *, limit: int = 10) -> Sample:
    """The header and first records of a CSV draft, whatever its mapping."""
    assert job.encoding and job.delimiter
    set_field_limit()
    opener = open_bytes(content_of(ctx, job))
    with records(opener, job.encoding, job.delimiter, skip_header=False) as rows:
        head = next(rows, [])
        body = list(islice(rows, limit))
    return Sample([h.replace("\ufeff", "").strip() for h in head], body)


def configure(ctx: Ctx, import_id: int, options: DraftOptions) -> ImportJob:
    """Set a CSV draft's mapping and options; a mapping that does not fit the file (a column
    it lacks, two columns for a one-column field, no name column) is refused, nothing kept."""
    job = draft(ctx, import_id)
    if job.kind == VCARD:
        job.options = {**job.options, "on_duplicate": _vcard_mode(options.on_duplicate)}
        return job
    request = request_of(job, options).checked()
    mapping = choose_mapping(request, [])
    resolve(mapping, sample(ctx, job, limit=0).headers)
    job.mapping = mapping.as_dict()
    sha = str(job.options.get("sha256", ""))
    job.options = {**job.options, **request.options(sha), "draft": True}
    return job


def _vcard_mode(value: str) -> str:
    return vcard.check_on_duplicate(value).value


def start(ctx: Ctx, import_id: int, *, dry_run: bool) -> ImportJob:
    """Start a draft: a dry run (a new import; the draft stays a draft) or the real import.
    Returns the import that runs."""
    job = draft(ctx, import_id)
    if job.kind == VCARD:
        return _run_vcard(ctx, job, dry_run=dry_run)
    resolve(mapping_of(job), sample(ctx, job, limit=0).headers)
    repo = ImportRepository(ctx.session, ctx.workspace_id)
    if dry_run:
        target = _copy(ctx, job, dry_run=True)
        repo.add_file(target.id, content_of(ctx, job))
        job.options = {**job.options, "dry_run_id": target.id}
    else:
        target = job
        options = dict(job.options)
        options.pop("draft", None)
        job.options = options
    audit.log(ctx, "import.started", import_id=target.id, kind=target.kind, dry_run=dry_run)
    job_queue.enqueue(ctx, RUN_KIND, {"import_id": target.id}, key=f"import:{target.id}:0")
    return target


def _copy(ctx: Ctx, job: ImportJob, *, dry_run: bool) -> ImportJob:
    options = {k: v for k, v in job.options.items() if k not in ("draft", "dry_run_id")}
    copy = ImportJob(
        kind=job.kind,
        filename=job.filename,
        status="pending",
        dry_run=dry_run,
        preset=job.preset,
        mapping=job.mapping,
        options={**options, "draft_of": job.id},
        encoding=job.encoding,
        delimiter=job.delimiter,
        rows_done=0,
        counts={},
        report=[],
        error="",
        created_by=ctx.user_id,
        created_at=ctx.now,
    )
    ImportRepository(ctx.session, ctx.workspace_id).add(copy)
    ctx.session.flush()
    return copy


def _run_vcard(ctx: Ctx, job: ImportJob, *, dry_run: bool) -> ImportJob:
    text = vcard.decode_bytes(content_of(ctx, job))
    mode = str(job.options.get("on_duplicate", "update"))
    report = vcard.import_vcards(ctx, text, on_duplicate=mode, dry_run=dry_run)
    target = _copy(ctx, job, dry_run=True) if dry_run else job
    if dry_run:
        job.options = {**job.options, "dry_run_id": target.id}
    else:
        options = dict(job.options)
        options.pop("draft", None)
        target.options = options
    summary = report.as_dict()
    problems = summary.pop("problems")
    target.counts = {k: int(v) for k, v in summary.items() if k != "dry_run"}
    target.counts["problems"] = len(problems)
    target.report = [
        {
            "row": p["card"],
            "column": p["field"],
            "value": str(p["value"])[:200],
            "rule": p["rule"],
            "message": f"{p['name']}: {p['message']}" if p["name"] else p["message"],
        }
        for p in problems
    ]
    target.rows_done = report.cards
    target.status = "done"
    target.finished_at = ctx.now
    ctx.session.flush()
    return target


def vcard_preview(ctx: Ctx, job: ImportJob) -> list[vcard.ParsedCard]:
    """The first cards of a vCard draft as they read (names, emails, problems)."""
    text = vcard.decode_bytes(content_of(ctx, job))
    return list(islice(vcard.parse_vcards(text), VCARD_PREVIEW))
