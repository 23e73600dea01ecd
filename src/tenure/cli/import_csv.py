"""`tenure import contacts FILE.csv` and `tenure import interactions FILE.csv`: the CSV import
engine from the command line.

Batches commit one by one with the import's progress cursor, so an interrupted import (even
``kill -9``) is finished by running the same command again: the same file with the same
options resumes the unfinished import. ``--dry-run`` validates everything, writes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from tenure.cli.data import import_app
from tenure.cli.runtime import JsonOption, WorkspaceOption, console, handle_errors, print_json
from tenure.config import get_settings
from tenure.db.engine import WRITE_OPTION, make_engine
from tenure.db.models import ImportJob
from tenure.db.uow import open_session, session_factory
from tenure.domain.access import Role
from tenure.domain.errors import InvalidInput
from tenure.services.access import resolve_workspace
from tenure.services.context import Ctx
from tenure.services.imports import jobs as imports
from tenure.services.imports.engine import DEFAULT_BATCH, ImportRun
from tenure.services.imports.source import open_path, records, set_field_limit

#: Problems printed after the summary (all of them are in `--json` and the import's report).
SHOWN_PROBLEMS = 20


def _read_mapping(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput.one("mapping", "json", f"{path}: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidInput.one("mapping", "type", "a mapping file holds a JSON object")
    return value


def _summary(job: ImportJob, resumed: bool) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "file": job.filename,
        "status": job.status,
        "dry_run": job.dry_run,
        "resumed": resumed,
        "preset": job.preset,
        "encoding": job.encoding,
        "delimiter": job.delimiter,
        "rows_done": job.rows_done,
        "counts": dict(job.counts),
        "report": list(job.report),
        "error": job.error,
    }


def _total_rows(path: str, job: ImportJob) -> int:
    """Records after the header (one quick pass; constant memory), for the progress bar."""
    assert job.encoding and job.delimiter
    with records(open_path(path), job.encoding, job.delimiter) as rows:
        return sum(1 for _ in rows)


def _begin_write(session: Session) -> None:
    # Take SQLite's write lock at the start of each batch's transaction, not half way.
    session.connection(execution_options={WRITE_OPTION: True})


def _run(
    kind: str,
    path: Path,
    request: imports.ImportRequest,
    workspace: str | None,
    quiet: bool,
) -> dict[str, Any]:
    if not path.is_file():
        raise InvalidInput.one("file", "exists", f"no such file: {path}")
    set_field_limit()
    engine = make_engine(get_settings().database_url, pool_size=2)
    session = open_session(session_factory(engine), write=True)
    try:
        ws = resolve_workspace(session, workspace)
        ctx = Ctx(
            session=session,
            workspace_id=ws.id,
            user_id=None,
            role=Role.OWNER,
            source="cli",
            workspace_timezone=ws.timezone,
        )
        opener = open_path(str(path))
        job, resumed = imports.start_or_resume(ctx, opener, request, filename=path.name)
        if not request.dry_run:
            session.commit()  # the import exists (and can be resumed) from here on
            _begin_write(session)
        total = _total_rows(str(path), job)
        with Progress(
            TextColumn(f"[bold]{kind}[/bold] {path.name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
            transient=True,
        ) as bar:
            task = bar.add_task("rows", total=total, completed=job.rows_done)
            for progress in ImportRun(ctx, job, opener).batches():
                if not request.dry_run:
                    session.commit()
                    _begin_write(session)
                bar.update(task, completed=progress.rows_done)
        result = _summary(job, resumed)
        if request.dry_run:
            session.rollback()  # a dry run leaves nothing, not even the import
        else:
            session.commit()
        return result
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        engine.dispose()


def _print(result: dict[str, Any]) -> None:
    verb = "Dry run of" if result["dry_run"] else "Imported"
    again = " (resumed)" if result["resumed"] else ""
    console.print(
        f"{verb} {result['file']}{again}: {result['rows_done']} rows, "
        f"encoding {result['encoding']}, delimiter {result['delimiter']!r}, "
        f"preset {result['preset'] or 'custom'}",
        highlight=False,
    )
    counts = Table("count", "rows")
    for name, value in sorted(result["counts"].items()):
        counts.add_row(name, str(value))
    console.print(counts)
    problems = result["report"][:SHOWN_PROBLEMS]
    if problems:
        table = Table("row", "column", "value", "rule", "message", title="Problems")
        for p in problems:
            table.add_row(str(p["row"]), p["column"], p["value"], p["rule"], p["message"])
        console.print(table)
        more = result["counts"].get("problems", 0) - len(problems)
        if more > 0:
            console.print(f"… and {more} more (see --json)")


def _command(
    kind: str,
    file: Path,
    mapping: Path | None,
    preset: str | None,
    dry_run: bool,
    on_duplicate: str,
    region: str | None,
    delimiter: str | None,
    batch_size: int,
    workspace: str | None,
    as_json: bool,
) -> None:
    request = imports.ImportRequest(
        kind=kind,
        preset=preset,
        mapping=_read_mapping(mapping),
        on_duplicate=on_duplicate,
        region=region,
        delimiter="\t" if delimiter == "tab" else delimiter,
        batch_size=batch_size,
        dry_run=dry_run,
    )
    result = _run(kind, file, request, workspace, quiet=as_json)
    if as_json:
        print_json(result)
    else:
        _print(result)


FileArgument = typer.Argument(..., help="The CSV file.", dir_okay=False)
MappingOption = typer.Option(None, "--mapping", help="A JSON mapping file: field → column(s).")
DryRunOption = typer.Option(False, "--dry-run", help="Validate and report; write nothing.")
RegionOption = typer.Option(
    None, "--region", help="Country for phone numbers without +code (e.g. GB)."
)
DelimiterOption = typer.Option(None, "--delimiter", help="Override detection (',', ';', tab).")
BatchOption = typer.Option(DEFAULT_BATCH, "--batch-size", min=1, max=imports.MAX_BATCH)


@import_app.command("contacts")
@handle_errors
def import_contacts(
    file: Path = FileArgument,
    mapping: Path = MappingOption,
    preset: str = typer.Option(None, "--preset", help="google, hubspot, salesforce, generic."),
    dry_run: bool = DryRunOption,
    on_duplicate: str = typer.Option(
        "skip",
        "--on-duplicate",
        help="A row matching a contact (email, phone, external id): "
        "skip it, update the contact, or create another.",
    ),
    region: str = RegionOption,
    delimiter: str = DelimiterOption,
    batch_size: int = BatchOption,
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Import people and organizations (with stage history and agreements) from CSV."""
    _command(
        "contacts",
        file,
        mapping,
        preset,
        dry_run,
        on_duplicate,
        region,
        delimiter,
        batch_size,
        workspace,
        as_json,
    )


@import_app.command("interactions")
@handle_errors
def import_interactions(
    file: Path = FileArgument,
    mapping: Path = MappingOption,
    dry_run: bool = DryRunOption,
    delimiter: str = DelimiterOption,
    batch_size: int = BatchOption,
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Import past interactions (contact email or external id, occurred_at, channel,
    direction, subject, body), logged back-dated on each contact's timeline."""
    _command(
        "interactions",
        file,
        mapping,
        None,
        dry_run,
        "skip",
        None,
        delimiter,
        batch_size,
        workspace,
        as_json,
    )


__all__ = ["import_contacts", "import_interactions"]
