"""`tenure backup` / `tenure restore`: a consistent SQLite copy while another thread writes,
restored exactly; refusals; the PostgreSQL commands."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, select, text
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import get_settings
from tenure.db.engine import make_engine
from tenure.db.migrate import upgrade
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.contacts import ContactKind
from tenure.services import access, contacts
from tenure.services.contacts import EmailIn
from tenure.services.context import Ctx
from tests.conftest import Database

runner = CliRunner()


def dump(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of a SQLite file, sorted."""
    engine = create_engine(f"sqlite:///{path}")
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        out = {
            t.name: sorted((dict(r) for r in conn.execute(select(t)).mappings()), key=repr)
            for t in meta.sorted_tables
            if not t.name.startswith("search_fts")
        }
    engine.dispose()
    return out


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A SQLite installation of its own (restore replaces the whole database)."""
    path = tmp_path / "live.db"
    monkeypatch.setenv("TENURE_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    engine = make_engine(f"sqlite:///{path}", pool_size=2)
    upgrade(engine)
    engine.dispose()
    yield path
    get_settings.cache_clear()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def writer(path: Path, stop: threading.Event, made: list[int]) -> Callable[[], None]:
    def run() -> None:
        engine = make_engine(f"sqlite:///{path}", pool_size=2)
        factory = session_factory(engine)
        with unit_of_work(factory) as session:
            workspace, user = access.create_workspace(
                session, name="Busy", owner_email="o@busy.example", slug="busy"
            )
        n = 0
        while not stop.is_set() or n < 30:
            with unit_of_work(factory) as session:
                ctx = Ctx(
                    session=session,
                    workspace_id=workspace.id,
                    user_id=user.id,
                    role=Role.OWNER,
                    source="test",
                )
                view = contacts.create_contact(
                    ctx,
                    kind=ContactKind.PERSON,
                    display_name=f"Writer {n} ✓",
                    emails=[EmailIn(f"w{n}@busy.example", "work", True)],
                )
                made.append(view.contact.id)
            n += 1
        engine.dispose()

    return run


def test_backup_while_writing_then_restore_gives_the_same_data(
    database: Database, live: Path, tmp_path: Path
) -> None:
    if database.backend != "sqlite":
        pytest.skip("the SQLite backup API; PostgreSQL is covered below")
    stop = threading.Event()
    made: list[int] = []
    thread = threading.Thread(target=writer(live, stop, made))
    thread.start()
    while len(made) < 10:
        thread.join(0.01)
    backup = tmp_path / "backup.db"
    result = invoke("backup", str(backup))
    stop.set()
    thread.join(30)
    assert result.exit_code == 0, result.output
    assert not thread.is_alive() and len(made) >= 30

    saved = dump(backup)
    # A consistent snapshot: a prefix of the writes, each contact whole (lookup row and event).
    ids = sorted(r["id"] for r in saved["contacts"])
    assert 10 <= len(ids) <= len(made) and ids == sorted(made)[: len(ids)]
    assert len(saved["contact_emails"]) == len(ids)
    created = [r for r in saved["timeline_events"] if r["type"] == "contact.created"]
    assert len(created) == len(ids)
    assert dump(live) != saved  # the writer went on after the snapshot

    refused = invoke("restore", str(backup))
    assert refused.exit_code == 1 and "--yes" in refused.stderr
    assert dump(live) != saved  # nothing restored without --yes

    done = invoke("restore", str(backup), "--yes")
    assert done.exit_code == 0, done.output
    assert dump(live) == saved
    again = invoke("backup", str(backup))
    assert again.exit_code == 2 and "--force" in again.stderr


def test_restore_refuses_what_is_not_a_tenure_backup(
    database: Database, live: Path, tmp_path: Path
) -> None:
    if database.backend != "sqlite":
        pytest.skip("restore of SQLite files")
    before = dump(live)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database at all " * 100)
    other = tmp_path / "other.db"
    engine = create_engine(f"sqlite:///{other}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE things (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    future = tmp_path / "future.db"
    assert invoke("backup", str(future)).exit_code == 0
    engine = create_engine(f"sqlite:///{future}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()

    for path, words in [
        (text_file, "not a SQLite database"),
        (other, "not a Tenure one"),
        (future, "does not know"),
        (tmp_path / "missing.db", "no file"),
    ]:
        result = invoke("restore", str(path), "--yes")
        assert result.exit_code == 2, (path, result.output)
        assert words in " ".join(result.stderr.split()), result.stderr
    assert dump(live) == before


def test_postgresql_backup_prints_the_commands_without_the_password(
    database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = "postgresql+psycopg://tenure:hunter2@db.internal:5433/tenure"
    monkeypatch.setenv("TENURE_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        result = invoke("backup", str(tmp_path / "t.dump"))
        assert result.exit_code == 0, result.output
        out = " ".join(result.stdout.split())
        assert "pg_dump --format=custom --no-owner" in out
        assert "postgresql://tenure@db.internal:5433/tenure" in out
        assert "pg_restore --clean --if-exists" in out
        assert "hunter2" not in result.output and "psycopg" not in out
        restore = invoke("restore", str(tmp_path / "t.dump"))
        assert restore.exit_code == 0 and "pg_restore" in restore.stdout
        assert "hunter2" not in restore.output
    finally:
        get_settings.cache_clear()
