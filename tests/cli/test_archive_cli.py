"""`tenure export contacts|timeline|workspace` and `tenure import archive` end to end."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import get_settings
from tenure.db.models import AuditEntry, Contact, Workspace
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.contacts import ContactKind
from tenure.services import contacts
from tests.conftest import Database, Tenant

runner = CliRunner()


@pytest.fixture
def cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    monkeypatch.setenv("TENURE_DATABASE_URL", db.url)
    get_settings.cache_clear()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.output, result.stderr, result.exception)
        return result.stdout if code == 0 else result.stderr

    yield run
    get_settings.cache_clear()


def seed(db: Database, tenant: Tenant) -> list[int]:
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        return [
            contacts.create_contact(
                ctx, kind=ContactKind.PERSON, display_name=name, tags=tags
            ).contact.id
            for name, tags in [("Zoë", ["vip"]), ("=SUM(A1)", []), ("Ada", ["vip"])]
        ]


def test_export_contacts_and_timeline_as_csv(
    cli: Callable[..., str], db: Database, tenant: Tenant, tmp_path: Path
) -> None:
    ids = seed(db, tenant)
    out = cli("export", "contacts", "--tag", "vip", "-w", "acme")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["display_name"] for r in rows] == ["Ada", "Zoë"]

    target = tmp_path / "all.csv"
    cli("export", "contacts", "-o", str(target), "--sort", "-name")
    names = [r["display_name"] for r in csv.DictReader(target.open(encoding="utf-8"))]
    assert names == ["Zoë", "Ada", "'=SUM(A1)"]

    timeline = list(csv.DictReader(io.StringIO(cli("export", "timeline", str(ids[0])))))
    assert [r["type"] for r in timeline] == ["contact.created"]
    assert "not found" in cli("export", "timeline", "999999", code=3)
    assert "sort" in cli("export", "contacts", "--sort", "bogus", code=2)


def test_export_workspace_and_import_it_as_a_new_workspace(
    cli: Callable[..., str], db: Database, tenant: Tenant, tmp_path: Path
) -> None:
    seed(db, tenant)
    archive = tmp_path / "acme.zip"
    cli("export", "workspace", "-o", str(archive))
    assert archive.exists() and not (tmp_path / "acme.zip.partial").exists()

    out = cli(
        "import",
        "archive",
        str(archive),
        "--name",
        "Acme Copy",
        "--slug",
        "acme-copy",
        "--owner-email",
        "new.owner@copy.example",
        "--json",
    )
    assert json.loads(out)["counts"]["contacts"] == 3
    with db.session() as s:
        copy = s.scalars(select(Workspace).where(Workspace.slug == "acme-copy")).one()
        names = s.scalars(select(Contact.display_name).where(Contact.workspace_id == copy.id)).all()
        assert sorted(names) == ["=SUM(A1)", "Ada", "Zoë"]
        actions = s.scalars(
            select(AuditEntry.action).where(AuditEntry.workspace_id == copy.id)
        ).all()
        assert "workspace.imported" in actions

    # A slug taken, or a damaged archive: nothing is created.
    assert "taken" in cli(
        "import",
        "archive",
        str(archive),
        "--name",
        "X",
        "--slug",
        "acme",
        "--owner-email",
        "x@x.example",
        code=5,
    )
    broken = tmp_path / "broken.zip"
    broken.write_bytes(archive.read_bytes()[:100])
    assert "zip" in cli(
        "import",
        "archive",
        str(broken),
        "--name",
        "Y",
        "--slug",
        "yyy",
        "--owner-email",
        "y@y.example",
        code=2,
    )
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Workspace)) == 2
