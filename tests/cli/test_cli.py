"""The CLI end to end on the test database: scripts can rely on its output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import get_settings

runner = CliRunner()


@pytest.fixture
def cli(db, monkeypatch) -> Iterator[callable]:
    monkeypatch.setenv("TENURE_DATABASE_URL", db.url)
    get_settings.cache_clear()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.output, result.exception)
        return result.stdout

    yield run
    get_settings.cache_clear()


def test_workspace_and_token_for_scripts(cli, db, server) -> None:
    cli(
        "workspace",
        "create",
        "--name",
        "Acme Care",
        "--owner-email",
        "Boss@Acme.Example",
        "--password",
        "long enough",
    )
    # Only the token on stdout, so `TOKEN=$(tenure token create …)` works.
    out = cli(
        "token",
        "create",
        "--workspace",
        "acme-care",
        "--email",
        "boss@acme.example",
        "--name",
        "ci",
    )
    token = out.strip()
    assert token.startswith("tnr_") and "\n" not in token and len(token) > 30
    import httpx

    r = httpx.get(server.base_url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.json()["role"] == "owner"

    listed = json.loads(cli("token", "list", "--json"))
    assert listed[0]["prefix"] == token[:10] and "token_hash" not in listed[0]
    cli("token", "revoke", str(listed[0]["id"]))
    r = httpx.get(server.base_url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_errors_are_one_line_and_an_exit_code(cli) -> None:
    result = runner.invoke(app, ["contacts", "list"])
    assert result.exit_code == 2
    assert "no workspace" in result.stderr
    cli("workspace", "create", "--name", "A", "--owner-email", "a@a.example")
    cli("workspace", "create", "--name", "B", "--owner-email", "b@b.example")
    result = runner.invoke(app, ["contacts", "list"])
    assert result.exit_code == 2 and "--workspace" in result.stderr
    result = runner.invoke(app, ["contacts", "show", "999", "-w", "a"])
    assert result.exit_code == 3 and "not found" in result.stderr
    result = runner.invoke(app, ["workspace", "create", "--name", "C", "--owner-email", "nope"])
    assert result.exit_code == 2 and "owner_email" in result.stderr
    assert "Traceback" not in result.output


def test_contacts_timeline_agenda_and_schedules(cli, tenant, db) -> None:
    from tenure.db.uow import session_factory, unit_of_work
    from tenure.domain.activities import ActivityKind
    from tenure.domain.contacts import ContactKind
    from tenure.services import activities, contacts, interactions, schedules
    from tenure.services.contacts import EmailIn

    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        view = contacts.create_contact(
            ctx,
            kind=ContactKind.PERSON,
            given_name="Grace",
            family_name="Hopper",
            emails=[EmailIn("grace@navy.example")],
            tags=["vip"],
        )
        cid = view.contact.id
        interactions.log_interaction(
            ctx,
            cid,
            channel=interactions.Channel.CALL,
            direction=interactions.Direction.OUTBOUND,
            subject="Intro",
        )
        activities.create_activity(
            ctx,
            kind=ActivityKind.TASK,
            title="Send proposal",
            contact_id=cid,
            due_at=datetime.now(UTC) - timedelta(days=1),
        )
        schedules.create_schedule(
            ctx,
            cid,
            produces=schedules.Produces.ACTIVITY,
            activity_kind=ActivityKind.CALL,
            title="Weekly check-in",
            rrule="FREQ=WEEKLY;BYDAY=MO",
            dtstart=datetime(2026, 1, 5, 9),
            timezone="Europe/London",
            horizon_days=14,
        )

    listed = json.loads(cli("contacts", "list", "--json", "--tag", "VIP"))
    assert [c["display_name"] for c in listed["items"]] == ["Grace Hopper"]
    shown = json.loads(cli("contacts", "show", str(cid), "--json"))
    assert shown["emails"][0]["email"] == "grace@navy.example" and shown["stage"] == "contact"
    events = json.loads(cli("timeline", str(cid), "--json"))["items"]
    assert {"contact.created", "interaction.logged", "schedule.created"} <= {
        e["type"] for e in events
    }
    agenda = json.loads(cli("agenda", "--json"))
    assert [a["title"] for a in agenda["overdue"]["activities"]] == ["Send proposal"]
    upcoming = agenda["today"]["activities"] + agenda["upcoming"]["activities"]
    assert upcoming and all(a["title"] == "Weekly check-in" for a in upcoming)
    first = json.loads(cli("schedules", "extend", "--horizon-days", "60", "--json"))
    again = json.loads(cli("schedules", "extend", "--horizon-days", "60", "--json"))
    assert first["occurrences"] >= 5 and again["occurrences"] == 0
    plans = json.loads(cli("schedules", "list", "--json"))["items"]
    assert plans[0]["rrule"] == "FREQ=WEEKLY;BYDAY=MO"
    acts = json.loads(cli("activities", "list", "--json", "--contact", str(cid), "--limit", "3"))
    assert len(acts["items"]) == 3 and acts["next_cursor"]
    table = cli("contacts", "list")
    assert "Grace Hopper" in table


def test_console_script_is_installed() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tenure.cli", "--help"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and "agenda" in out.stdout


def test_brief_and_health_snapshot(cli, tenant, db) -> None:
    from datetime import date

    from tenure.db.uow import session_factory, unit_of_work
    from tenure.domain.agreements import AgreementKind
    from tenure.domain.contacts import ContactKind
    from tenure.domain.knowledge import KnowledgeKind
    from tenure.services import agreements, contacts, knowledge

    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        cid = contacts.create_contact(
            ctx, kind=ContactKind.PERSON, display_name="Ada <script>"
        ).contact.id
        deal = agreements.create_agreement(
            ctx, cid, title="Retainer", kind=AgreementKind.CONTRACT, starts_on=date(2025, 1, 1)
        )
        agreements.confirm(ctx, deal.id)
        knowledge.add(ctx, cid, kind=KnowledgeKind.DO_NOT, text="Never call before 10")

    md = cli("brief", str(cid), "--markdown")
    assert md.startswith("# Ada \\<script\\>")
    assert "Never call before 10" in md and "Retainer" in md
    data = json.loads(cli("brief", str(cid), "--json"))
    assert data["relationship"]["stage"] == "client"
    assert "1 clients scored" in cli("health", "snapshot")


def test_a_new_workspace_comes_with_the_default_automation_unless_told_not_to(cli) -> None:
    made = json.loads(
        cli("workspace", "create", "--name", "Kept", "--owner-email", "k@k.example", "--json")
    )
    assert made["default_automation"] == [
        "playbook:onboarding",
        "rule:onboarding",
        "rule:renewal_reminder",
        "rule:delivery_follow_up",
        "rule:cadence_check_in",
    ]
    listed = json.loads(cli("rules", "list", "-w", "kept", "--json"))["items"]
    assert len(listed) == 4 and all(rule["enabled"] for rule in listed)
    # running the installer again adds nothing twice
    again = json.loads(cli("rules", "install-defaults", "-w", "kept", "--json"))
    assert again["installed"] == [] and len(again["present"]) == 5

    bare = json.loads(
        cli(
            "workspace",
            "create",
            "--name",
            "Bare",
            "--owner-email",
            "b@b.example",
            "--no-default-automation",
            "--json",
        )
    )
    assert bare["default_automation"] == []
    assert json.loads(cli("rules", "list", "-w", "bare", "--json"))["items"] == []
