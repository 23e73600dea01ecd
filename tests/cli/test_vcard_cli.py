"""`tenure import vcard` and `tenure export vcard` end to end, through the real CLI."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import vobject
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import get_settings
from tests.conftest import Database, Tenant, make_tenant

runner = CliRunner()
FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"


@pytest.fixture
def cli(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    monkeypatch.setenv("TENURE_DATABASE_URL", db.url)
    get_settings.cache_clear()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.output, result.stderr, result.exception)
        return result.stdout if code == 0 else result.stdout + result.stderr

    yield run
    get_settings.cache_clear()


@pytest.fixture
def uk(db: Database) -> Tenant:
    return make_tenant(db, "harbour", timezone="Europe/London")


def fns(text: str) -> list[str]:
    return [c.fn.value for c in vobject.readComponents(text)]


def test_import_export_round_trip(cli: Callable[..., str], uk: Tenant, tmp_path: Path) -> None:
    out = cli("import", "vcard", str(FIXTURES / "apple.vcf"), "--dry-run", "-w", "harbour")
    assert "dry run: would have 2 cards: 2 created" in out
    assert fns(cli("export", "vcard", "-w", "harbour")) == []

    report = json.loads(
        cli("import", "vcard", str(FIXTURES / "apple.vcf"), "--json", "-w", "harbour")
    )
    assert (report["created"], report["organizations_created"], report["problems"]) == (2, 1, [])

    target = tmp_path / "all.vcf"
    cli("export", "vcard", "--version", "4.0", "-o", str(target), "-w", "harbour")
    text = target.read_bytes().decode()
    assert "\r\nVERSION:4.0\r\n" in text
    assert fns(text) == ["Harbour Logistics Ltd", "Margaret Okafor", "Okafor Dental Practice"]
    orgs = fns(cli("export", "vcard", "--kind", "organization", "-w", "harbour"))
    assert orgs == ["Harbour Logistics Ltd", "Okafor Dental Practice"]

    # the export imported again changes nothing and duplicates nothing
    again = json.loads(cli("import", "vcard", str(target), "--json", "-w", "harbour"))
    assert (again["created"], again["unchanged"], again["updated"]) == (0, 3, 0)

    maggie = next(c for c in vobject.readComponents(text) if c.fn.value == "Margaret Okafor")
    listed = json.loads(cli("contacts", "list", "--q", "Margaret", "--json", "-w", "harbour"))
    contact_id = listed["items"][0]["id"]
    one = cli("export", "vcard", "--contact", str(contact_id), "-w", "harbour")
    card = vobject.readOne(one)
    assert card.uid.value == maggie.uid.value
    assert card.title.value == "Practice Manager"


def test_bad_cards_exit_1_with_a_table_and_bad_options_exit_2(
    cli: Callable[..., str], uk: Tenant
) -> None:
    out = cli("import", "vcard", str(FIXTURES / "broken.vcf"), "-w", "harbour", code=1)
    assert "6 cards: 2 created" in out and "4 not imported" in out
    assert "EMAIL" in out and "syntax" in out  # the table (wrapped to the terminal)
    report = json.loads(
        cli("import", "vcard", str(FIXTURES / "broken.vcf"), "--json", "--dry-run", code=1)
    )
    assert {"card": 3, "field": "EMAIL", "value": "chidi at example dot com"}.items() <= next(
        p for p in report["problems"] if p["card"] == 3
    ).items()
    err = cli("import", "vcard", str(FIXTURES / "apple.vcf"), "--on-duplicate", "merge", code=2)
    assert "on_duplicate" in err or "must be one of" in err
    assert "version" in cli("export", "vcard", "--version", "2.1", code=2)
    assert "not found" in cli("export", "vcard", "--contact", "999999", code=3)
    assert "No such file" in cli("import", "vcard", "/nonexistent.vcf", code=2)
