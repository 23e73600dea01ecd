"""`tenure backup` / `tenure restore`: the whole database.

SQLite through the online backup API (a consistent copy while the server writes); PostgreSQL
through pg_dump / pg_restore, whose exact commands are printed (``--run`` runs them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import typer

from tenure.cli.runtime import console, err_console, handle_errors
from tenure.config import get_settings
from tenure.db.engine import make_engine
from tenure.db.migrate import upgrade
from tenure.domain.errors import InvalidInput
from tenure.services.exports import backup as service


def _run(command: list[str], url: str) -> None:
    """Run a PostgreSQL client tool with the URL's password in its environment (never on
    the command line, where other users of the machine could read it)."""
    if shutil.which(command[0]) is None:
        err_console.print(f"[red]error:[/red] {command[0]} is not installed")
        raise typer.Exit(1)
    env = dict(os.environ)
    password = service.pg_password(url)
    if password:
        env["PGPASSWORD"] = password
    result = subprocess.run(command, env=env, check=False)  # noqa: S603
    if result.returncode:
        raise typer.Exit(result.returncode)


def _shown(command: list[str]) -> str:
    return " ".join(f"'{part}'" if " " in part or "?" in part else part for part in command)


@handle_errors
def backup_command(
    file: Path = typer.Argument(..., dir_okay=False, help="Where to write the backup."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
    run: bool = typer.Option(False, "--run", help="PostgreSQL: run pg_dump (if installed)."),
) -> None:
    """Back up the whole database (consistent while the server runs)."""
    url = get_settings().database_url
    if file.exists() and not force:
        raise InvalidInput.one("file", "exists", f"{file} exists; give --force to replace it")
    path = service.sqlite_path(url)
    if path is not None:
        size = service.backup_sqlite(path, file)
        console.print(f"backed up {path} to {file} ({size} bytes)")
        return
    command = service.pg_dump_command(url, file)
    if run:
        _run(command, url)
        console.print(f"backed up to {file}")
        return
    console.print("PostgreSQL: back up with pg_dump (password from PGPASSWORD or ~/.pgpass):")
    console.print(_shown(command), highlight=False, soft_wrap=True)
    console.print("restore with:")
    console.print(_shown(service.pg_restore_command(url, file)), highlight=False, soft_wrap=True)


@handle_errors
def restore_command(
    file: Path = typer.Argument(..., help="A backup made by `tenure backup`."),
    yes: bool = typer.Option(False, "--yes", help="Really replace the configured database."),
    run: bool = typer.Option(False, "--run", help="PostgreSQL: run pg_restore (if installed)."),
) -> None:
    """Replace the configured database with a backup, then migrate it to this version.
    Stop the server and the workers first."""
    url = get_settings().database_url
    path = service.sqlite_path(url)
    if path is None:
        command = service.pg_restore_command(url, file)
        if run and yes:
            _run(command, url)
            return
        console.print("PostgreSQL: restore with pg_restore (then run `tenure db upgrade`):")
        console.print(_shown(command), highlight=False, soft_wrap=True)
        return
    info = service.check_backup(file)
    if not yes:
        err_console.print(
            f"{file} is a Tenure backup (migration {info.revision}, {info.workspaces} "
            f"workspaces). Restoring REPLACES everything in {path}: give --yes to do it."
        )
        raise typer.Exit(1)
    service.restore_sqlite(file, path)
    engine = make_engine(url, pool_size=1)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    console.print(f"restored {file} into {path} ({info.workspaces} workspaces) and migrated it")
