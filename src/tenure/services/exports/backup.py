"""Whole-database backup and restore (operators, not workspaces).

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot
page by page while the server keeps writing (WAL), and copies a backup back the same way.
PostgreSQL: ``pg_dump`` / ``pg_restore`` do it properly; we give the exact commands for the
configured URL (never with its password: libpq reads ``PGPASSWORD`` or ``~/.pgpass``).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from tenure.db.migrate import alembic_config
from tenure.domain.errors import FieldError, InvalidInput

#: All pages in one step: one read transaction, so one snapshot. In WAL mode a reader never
#: blocks the writers; a copy in several steps would restart each time another connection
#: writes, and might never end under a steady stream of writes.
PAGES_PER_STEP = -1


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {r.revision for r in script.walk_revisions()}


def backup_sqlite(source: Path, destination: Path) -> int:
    """Copy the live database to ``destination`` (written beside it, then renamed, so a
    failed backup never leaves a half file under the name). Returns the size in bytes."""
    if not source.exists():
        raise InvalidInput.one("database", "missing", f"no database at {source}")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst, pages=PAGES_PER_STEP)
    finally:
        dst.close()
        src.close()
    os.replace(partial, destination)
    return destination.stat().st_size


@dataclass(frozen=True)
class BackupInfo:
    revision: str
    workspaces: int


def check_backup(path: Path) -> BackupInfo:
    """What a backup file holds, or ``InvalidInput`` when it is not a Tenure database at a
    migration revision this Tenure knows."""

    def refuse(message: str) -> InvalidInput:
        return InvalidInput([FieldError("file", "not-tenure", message)])

    if not path.is_file():
        raise InvalidInput.one("file", "missing", f"no file at {path}")
    try:
        conn = sqlite3.connect(path)
        try:
            if conn.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise refuse(f"{path} is a damaged SQLite database")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if not {"alembic_version", "workspaces", "contacts"} <= tables:
                raise refuse(f"{path} is a SQLite database, but not a Tenure one")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            workspaces = conn.execute("SELECT count(*) FROM workspaces").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise refuse(f"{path} is not a SQLite database ({exc})") from None
    if row is None or row[0] not in known_revisions():
        raise refuse(
            f"{path} is at migration {row[0] if row else None!r}, which this Tenure does not "
            "know (a backup of a newer Tenure?)"
        )
    return BackupInfo(revision=row[0], workspaces=int(workspaces))


def restore_sqlite(backup: Path, target: Path) -> None:
    """Replace the database at ``target`` with the backup's content (the backup API writes
    it as one transaction on the target; stop the server first)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(backup)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def libpq_url(url: str) -> str:
    """The PostgreSQL URL for libpq tools: no driver suffix, no password."""
    parsed = make_url(url)
    # Built afresh: ``URL.set(password=None)`` leaves the password as it was.
    bare = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    return bare.render_as_string(hide_password=False)


def pg_password(url: str) -> str | None:
    password = make_url(url).password
    return str(password) if password is not None else None


def pg_dump_command(url: str, file: Path) -> list[str]:
    return ["pg_dump", "--format=custom", "--no-owner", f"--file={file}", libpq_url(url)]


def pg_restore_command(url: str, file: Path) -> list[str]:
    return [
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        f"--dbname={libpq_url(url)}",
        str(file),
    ]
