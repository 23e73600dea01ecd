"""`tenure contacts personal-data`, `tenure contacts erase` and `tenure audit` on the test
database: the file is the person's data, the erasure asks first and is recorded, exit codes say
what went wrong."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import get_settings
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.contacts import ContactKind
from tenure.services import contacts
from tenure.services.contacts import EmailIn

runner = CliRunner()
NAME = "Zdeněk Quillfeather"


@pytest.fixture
def cli(db, monkeypatch) -> Iterator[Callable[..., str]]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TENURE_DATABASE_URL", db.url)
    get_settings.cache_clear()

    def run(*args: str, code: int = 0, stdin: str | None = None) -> str:
        result = runner.invoke(app, list(args), input=stdin)
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    yield run
    get_settings.cache_clear()


@pytest.fixture
def person(db, tenant) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory(db.engine)) as session:
        return contacts.create_contact(
            tenant.ctx(session),
            kind=ContactKind.PERSON,
            display_name=NAME,
            emails=[EmailIn("zdenek@quillmail.example")],
            notes="<b>[bold]markup[/bold]</b>",
        ).contact.id


def test_personal_data_to_stdout_and_to_a_private_file(cli, person, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(cli("contacts", "personal-data", str(person)))
    assert data["contact"]["display_name"] == NAME
    assert data["records"]["contact_emails"][0]["email"] == "zdenek@quillmail.example"
    target = tmp_path / "zdenek.json"
    cli("contacts", "personal-data", str(person), "-o", str(target))
    assert json.loads(target.read_text(encoding="utf-8")) == {
        **data,
        "generated_at": json.loads(target.read_text(encoding="utf-8"))["generated_at"],
    }
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_erase_asks_then_erases_and_is_audited(cli, person) -> None:  # type: ignore[no-untyped-def]
    cli("contacts", "erase", str(person), stdin="n\n", code=1)  # declined: nothing happened
    assert json.loads(cli("contacts", "personal-data", str(person)))["erased"] is False
    out = json.loads(cli("contacts", "erase", str(person), "--yes", "--json"))
    assert out["contact_id"] == person and out["counts"]["contact_emails.contact_id"] == 1
    data = json.loads(cli("contacts", "personal-data", str(person)))
    assert data["erased"] is True and NAME not in json.dumps(data, ensure_ascii=False)
    cli("contacts", "erase", str(person), "--yes", code=5)  # already erased: a conflict
    cli("contacts", "erase", "999999", "--yes", code=3)  # not found
    log = json.loads(cli("audit", "--action", "contact.erased", "--json"))
    [entry] = log["items"]
    assert entry["details"] == {"contact_id": person}
    assert entry["source"] == "cli" and entry["actor_id"] is None
    table = cli("audit")
    assert "contact.erased" in table


def test_audit_pages_with_a_cursor(cli, db, tenant) -> None:  # type: ignore[no-untyped-def]
    from tenure.services import audit

    with unit_of_work(session_factory(db.engine)) as session:
        for n in range(3):
            audit.log(tenant.ctx(session), "test.event", n=n, note="[red]not markup[/red]")
    first = json.loads(cli("audit", "--action", "test.event", "--limit", "2", "--json"))
    assert [i["details"]["n"] for i in first["items"]] == [2, 1]
    rest = json.loads(
        cli("audit", "--action", "test.event", "--cursor", first["next_cursor"], "--json")
    )
    assert [i["details"]["n"] for i in rest["items"]] == [0] and rest["next_cursor"] is None
    table = cli("audit", "--action", "test.event")  # printed as text, never as markup
    assert "[red]not" in table and "markup[/red]" in table
    cli("audit", "--cursor", "garbage", code=2)
