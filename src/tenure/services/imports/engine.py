"""The import engine: one import, batch by batch, the same for the CLI and the worker.

``ImportRun.batches`` reads the file as a stream from where the import's progress cursor
(``ImportJob.rows_done``) stands, writes one batch, advances the cursor and counts with it,
and yields: the edge commits there, so a batch and its cursor commit together or not at all.
A crash at any point (SIGKILL included) loses at most the uncommitted batch, and running the
import again resumes after the last committed one: no row twice, none lost.

A batch is first written in one savepoint; if a row fails in a way only the database can tell
(an email taken meanwhile, a date before a transition), the batch is written again row by row,
each row in its own savepoint, so the failing row is reported and the others are kept.

A dry run does all of it inside one savepoint that is rolled back at the end: its report and
counts are exactly what the real run would do, and nothing stays written.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any

from tenure.db.models import ImportJob
from tenure.db.repositories.imports import restore_page_cache, widen_page_cache
from tenure.domain.errors import DomainError, InvalidInput
from tenure.domain.imports.mapping import ColumnMapping, Resolved, from_spec, resolve
from tenure.domain.imports.presets import ImportKind, presets_for
from tenure.domain.imports.rows import Problem, contact_row, interaction_row
from tenure.services.context import Ctx
from tenure.services.imports.contacts_batch import BatchOutcome, ContactBatch, error_field
from tenure.services.imports.dedupe import OnDuplicate
from tenure.services.imports.interactions_batch import InteractionBatch
from tenure.services.imports.source import Opener, records, set_field_limit

#: Rows per batch (and per commit): large enough that a batch's statements, index pages and
#: full-text segments are shared by many rows; small enough to hold little memory (bench/
#: import_speed.py measures it).
DEFAULT_BATCH = 2000
#: The report keeps the first problems; ``counts["problems"]`` counts all of them.
MAX_REPORT = 1000


@dataclass(frozen=True)
class RunOptions:
    kind: ImportKind
    on_duplicate: OnDuplicate
    region: str | None
    batch_size: int

    @classmethod
    def of(cls, job: ImportJob) -> RunOptions:
        options = job.options
        return cls(
            kind=ImportKind(job.kind),
            on_duplicate=OnDuplicate(options.get("on_duplicate", "skip")),
            region=options.get("region"),
            batch_size=int(options.get("batch_size") or DEFAULT_BATCH),
        )


def mapping_of(job: ImportJob) -> ColumnMapping:
    kind = ImportKind(job.kind)
    base = presets_for(kind).get(job.preset or "")
    return from_spec(kind, job.mapping, base=base)


class ImportRun:
    def __init__(self, ctx: Ctx, job: ImportJob, open_binary: Opener) -> None:
        self.ctx = ctx
        self.job = job
        self.open_binary = open_binary
        self.options = RunOptions.of(job)
        self.counts: Counter[str] = Counter(job.counts)
        self.report: list[dict[str, Any]] = list(job.report)
        self.rows_done = job.rows_done
        #: The connection's own SQLite page cache setting, while the import's is in place.
        self.page_cache: int | None = None

    def batches(self, max_rows: int | None = None) -> Iterator[ImportJob]:
        """Process the rest of the file, yielding after each batch (commit there).

        With ``max_rows``, stop (status still ``running``) once that many rows were done and
        more remain: the worker's steps. Only finishing the file marks the import done."""
        set_field_limit()
        job = self.job
        assert job.encoding and job.delimiter
        resolved = resolve(mapping_of(job), self._headers())
        job.status = "running"
        nested = self.ctx.session.begin_nested() if job.dry_run else None
        try:
            with (
                _old_objects_frozen(),
                records(self.open_binary, job.encoding, job.delimiter, skip=self.rows_done) as rows,
            ):
                start = self.rows_done
                while chunk := list(islice(rows, self.options.batch_size)):
                    if max_rows is not None and self.rows_done - start >= max_rows:
                        self._restore_cache()
                        return  # more remains: the next step reads this chunk again
                    self._batch(resolved, chunk)
                    if nested is None:
                        self._save()
                        yield job
        finally:
            # A dry run leaves nothing behind, whether it finished or failed.
            if nested is not None and nested.is_active:
                nested.rollback()
        self._restore_cache()
        job.status = "done"
        job.finished_at = self.ctx.now
        self._save()
        yield job

    def _headers(self) -> list[str]:
        assert self.job.encoding and self.job.delimiter
        with records(
            self.open_binary, self.job.encoding, self.job.delimiter, skip_header=False
        ) as rows:
            return next(rows, [])

    def _save(self) -> None:
        self.job.rows_done = self.rows_done
        self.job.counts = dict(self.counts)
        self.job.report = list(self.report)
        self.ctx.session.flush()

    # --- one batch --------------------------------------------------------------------------

    def _widen_cache(self) -> None:
        """Each batch may run on another pooled connection (the edge commits in between)."""
        before = widen_page_cache(self.ctx.session)
        if self.page_cache is None:
            self.page_cache = before

    def _restore_cache(self) -> None:
        restore_page_cache(self.ctx.session, self.page_cache)
        self.page_cache = None

    def _batch(self, resolved: Resolved, chunk: list[list[str]]) -> None:
        self._widen_cache()
        first = self.rows_done + 2  # the header is row 1
        parsed: list[Any] = []
        problems: list[Problem] = []
        for offset, values in enumerate(chunk):
            row, found = self._parse(first + offset, values, resolved)
            problems += found
            if row is None:
                self.counts["invalid"] += 1
            else:
                parsed.append(row)
        outcome = self._write(resolved, parsed)
        self.counts.update(outcome.counts)
        self.counts["rows"] += len(chunk)
        self.rows_done += len(chunk)
        self._note(sorted(problems + outcome.problems, key=lambda p: p.row))

    def _parse(
        self, number: int, values: list[str], resolved: Resolved
    ) -> tuple[Any, list[Problem]]:
        if self.options.kind is ImportKind.CONTACTS:
            return contact_row(
                number, values, resolved, region=self.options.region, today=self.ctx.today
            )
        return interaction_row(
            number, values, resolved, timezone=self.ctx.workspace_timezone, now=self.ctx.now
        )

    def _make(
        self, resolved: Resolved, rows: list[Any], *, eager: bool = False
    ) -> ContactBatch | InteractionBatch:
        if self.options.kind is ImportKind.CONTACTS:
            return ContactBatch(self.ctx, resolved, self.options.on_duplicate, rows, eager=eager)
        return InteractionBatch(self.ctx, resolved, rows)

    def _write(self, resolved: Resolved, rows: list[Any]) -> BatchOutcome:
        session = self.ctx.session
        try:
            with session.begin_nested():
                batch = self._make(resolved, rows)
                for row in rows:
                    batch.apply(row)
                batch.flush()
            return batch.outcome
        except DomainError:
            pass  # written again row by row below, to tell the failing rows from the rest
        batch = self._make(resolved, rows, eager=True)
        for row in rows:
            try:
                with session.begin_nested():
                    batch.apply(row)
            except DomainError as exc:
                batch.forget_row()
                batch.outcome.counts["invalid"] += 1
                batch.outcome.problems += _problems_of(row.row, exc, batch)
        return batch.outcome

    def _note(self, problems: list[Problem]) -> None:
        self.counts["problems"] += len(problems)
        room = MAX_REPORT - len(self.report)
        if room > 0:
            self.report += [p.as_dict() for p in problems[:room]]


@contextmanager
def _old_objects_frozen() -> Iterator[None]:
    """Keep the objects that existed before the import out of the garbage collector's full
    collections while it runs (``gc.freeze``), and hand them back after (``gc.unfreeze``).

    A batch keeps a few hundred thousand objects alive (its rows, values and parameters), so
    full collections come every batch or two, and each walked every object of the process
    (modules, phone metadata, caches): 3.3 of 31 CPU seconds at 100k rows, 0.5 with them
    frozen (bench/IMPORT.md). Nothing is lost: garbage among them is collected after.

    A server froze its start-up heap already (``tenure.heap``), which is what mattered here;
    unfreezing would hand that heap back to the collector, so the import leaves it alone."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _problems_of(
    row: int, exc: DomainError, batch: ContactBatch | InteractionBatch
) -> list[Problem]:
    if isinstance(exc, InvalidInput):
        return [
            Problem(row, batch.column(error_field(e.field)), "", e.rule, e.message)
            for e in exc.errors
        ]
    name = str(exc.details.get("field", ""))
    values = exc.details.get("values")
    value = ", ".join(map(str, values)) if isinstance(values, list) else ""
    column = batch.column(error_field(name)) if name else ""
    return [Problem(row, column, value, exc.code, exc.message)]
