"""`tenure import contacts|interactions` end to end: presets, JSON report, dry run, resume after
a SIGKILL with no partial batch and no row twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import get_settings
from tests.api.helpers import workspace_rows

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"
runner = CliRunner()


@pytest.fixture
def cli(db, tenant, monkeypatch) -> Iterator[callable]:
    monkeypatch.setenv("TENURE_DATABASE_URL", db.url)
    get_settings.cache_clear()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.output, result.exception)
        return result.stdout

    yield run
    get_settings.cache_clear()


def _state(db, workspace_id: int) -> tuple[int, int, int, str]:
    """rows_done of the newest import, contacts, distinct emails, status: one statement, so
    one snapshot."""
    with db.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT rows_done FROM imports WHERE workspace_id = :ws"
                "        ORDER BY id DESC LIMIT 1),"
                " (SELECT count(*) FROM contacts WHERE workspace_id = :ws),"
                " (SELECT count(DISTINCT email) FROM contact_emails WHERE workspace_id = :ws),"
                " (SELECT status FROM imports WHERE workspace_id = :ws ORDER BY id DESC LIMIT 1)"
            ),
            {"ws": workspace_id},
        ).one()
    return row[0] or 0, row[1], row[2], row[3] or ""


def test_google_preset_with_json_report(cli, tenant) -> None:
    out = cli(
        "import",
        "contacts",
        str(FIXTURES / "google-contacts.csv"),
        "--preset",
        "google",
        "--region",
        "GB",
        "--json",
    )
    result = json.loads(out)
    assert result["status"] == "done"
    assert result["counts"]["created"] == 4
    assert result["report"] == []
    listed = json.loads(cli("contacts", "list", "--json"))
    names = {c["display_name"] for c in listed["items"]}
    assert {"Margaret Okafor", "Harbour Logistics Ltd", "Estudio Verde"} <= names


def test_human_output_names_the_problems(cli, tenant, tmp_path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,email\nAda,ada@example.com\nBob,bob@@example.com\n")
    out = cli("import", "contacts", str(path))
    assert "Imported people.csv" in out
    assert "bob@@example.com" in out and "email" in out


def test_dry_run_writes_nothing_at_all(cli, tenant, db, tmp_path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("name,email,client_since\nAda,ada@example.com,2024-01-01\nBob,x,\n")
    before = workspace_rows(db.engine, tenant.workspace_id)
    result = json.loads(cli("import", "contacts", str(path), "--dry-run", "--json"))
    assert workspace_rows(db.engine, tenant.workspace_id) == before
    assert result["dry_run"] is True
    assert (result["counts"]["created"], result["counts"]["invalid"]) == (1, 1)
    assert result["counts"]["clients"] == 1
    assert result["report"][0]["row"] == 3


def test_mapping_file_and_its_errors(cli, tenant, tmp_path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("Full name;Mail\nAda Lovelace;ada@example.com\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"display_name": "Full name", "emails": ["Mail"]}))
    result = json.loads(cli("import", "contacts", str(path), "--mapping", str(mapping), "--json"))
    assert result["counts"]["created"] == 1 and result["delimiter"] == ";"
    mapping.write_text(json.dumps({"display_name": "Name"}))
    cli("import", "contacts", str(path), "--mapping", str(mapping), code=2)
    mapping.write_text("{oops")
    cli("import", "contacts", str(path), "--mapping", str(mapping), code=2)
    cli("import", "contacts", str(tmp_path / "missing.csv"), code=2)


def test_interactions_command(cli, tenant, tmp_path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("name,email\nAda,ada@example.com\n")
    cli("import", "contacts", str(people))
    talks = tmp_path / "talks.csv"
    talks.write_text(
        "email,occurred_at,channel,direction,subject\n"
        "ada@example.com,2024-05-01T10:00:00Z,call,outbound,Hello\n"
    )
    result = json.loads(cli("import", "interactions", str(talks), "--json"))
    assert result["counts"]["logged"] == 1


BIG = 20_000
BATCH = 250


def _big_file(path: Path) -> None:
    with path.open("w") as f:
        f.write("name,email,phone\n")
        for i in range(BIG):
            f.write(f"Person {i},person{i}@example.com,+4420794{i:05d}\n")


def _spawn(db, path: Path) -> subprocess.Popen:
    env = {**os.environ, "TENURE_DATABASE_URL": db.url}
    args = ["import", "contacts", str(path), "--batch-size", str(BATCH), "--json", "-w", "acme"]
    return subprocess.Popen(
        [sys.executable, "-m", "tenure.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_sigkill_leaves_no_partial_batch_and_a_rerun_finishes(db, tenant, tmp_path) -> None:
    path = tmp_path / "big.csv"
    _big_file(path)
    victim = _spawn(db, path)
    deadline = time.monotonic() + 120
    while _state(db, tenant.workspace_id)[0] < 2 * BATCH:
        assert victim.poll() is None, victim.communicate()
        assert time.monotonic() < deadline, "the import made no progress"
        time.sleep(0.02)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    rows_done, contacts, emails, status = _state(db, tenant.workspace_id)
    assert status == "running"
    assert 0 < rows_done < BIG, "killed before the end"
    # Every committed batch is whole, with its cursor: no partial batch.
    assert contacts == rows_done == emails
    assert rows_done % BATCH == 0
    again = _spawn(db, path)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    result = json.loads(out)
    assert result["resumed"] is True
    assert (result["status"], result["rows_done"]) == ("done", BIG)
    assert result["counts"]["created"] == BIG
    assert _state(db, tenant.workspace_id) == (BIG, BIG, BIG, "done")
