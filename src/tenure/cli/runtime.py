"""What every CLI command needs: settings, an engine, a unit of work, errors as exit codes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from tenure.config import get_settings
from tenure.db.engine import make_engine
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain import errors as E
from tenure.domain.access import Role
from tenure.services.access import resolve_workspace
from tenure.services.context import Ctx

console = Console()
err_console = Console(stderr=True)

#: Exit codes by error kind, so scripts can tell failures apart.
EXIT_CODES: dict[type[E.DomainError], int] = {
    E.InvalidInput: 2,
    E.NotFound: 3,
    E.PermissionDenied: 4,
    E.NotAuthenticated: 4,
    E.Conflict: 5,
    E.PreconditionFailed: 5,
    E.PreconditionRequired: 5,
}

P = ParamSpec("P")
R = TypeVar("R")


def exit_code_of(error: E.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Domain errors become one clear line on stderr and an exit code, never a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except E.DomainError as exc:
            err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
            if isinstance(exc, E.InvalidInput) and len(exc.errors) > 1:
                for fe in exc.errors:
                    err_console.print(f"  {fe.field}: {fe.message} ({fe.rule})", highlight=False)
            raise typer.Exit(exit_code_of(exc)) from None

    return wrapper


@contextmanager
def session_scope(*, write: bool = True) -> Iterator[Session]:
    settings = get_settings()
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        with unit_of_work(session_factory(engine), write=write) as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def workspace_ctx(slug: str | None, *, write: bool = True) -> Iterator[Ctx]:
    """The CLI acts as the operator of the installation: owner rights, no user."""
    with session_scope(write=write) as session:
        workspace = resolve_workspace(session, slug)
        yield Ctx(
            session=session,
            workspace_id=workspace.id,
            user_id=None,
            role=Role.OWNER,
            source="cli",
            workspace_timezone=workspace.timezone,
        )


@contextmanager
def text_output(path: Path | None) -> Iterator[IO[str]]:
    """stdout, or a file written beside its name and renamed at the end (a failed export
    leaves no half file). No newline translation: CSV and vCard lines end in CRLF already."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


WorkspaceOption = typer.Option(
    None, "--workspace", "-w", help="Workspace slug (optional when only one exists)."
)
JsonOption = typer.Option(False, "--json", help="Machine-readable output.")
