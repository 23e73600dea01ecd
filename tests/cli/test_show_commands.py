"""`show ID` of every record kind, registered by one factory (cli/listing.py): the same
arguments, help, JSON and fields output, exit codes and workspace scoping for each."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import get_settings
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.activities import ActivityKind
from tenure.domain.contacts import ContactKind
from tenure.services import activities, cases, contacts, deliveries, schedules
from tenure.services.contacts import EmailIn

runner = CliRunner()

#: Each show command: its group, its argument and the fields its JSON carries.
SHOWN = {
    "schedules": (
        "schedule_id",
        {
            "id",
            "contact_id",
            "title",
            "produces",
            "rrule",
            "dtstart_local",
            "timezone",
            "exdates",
            "status",
            "assignee_id",
            "materialized_until",
            "version",
        },
    ),
    "activities": (
        "activity_id",
        {
            "id",
            "kind",
            "title",
            "contact_id",
            "assignee_id",
            "at",
            "due_at",
            "start_at",
            "end_at",
            "timezone",
            "status",
            "origin",
            "schedule_id",
            "location",
            "notes",
            "version",
        },
    ),
    "deliveries": (
        "delivery_id",
        {
            "id",
            "title",
            "contact_id",
            "status",
            "service_id",
            "assignee_id",
            "scheduled_start",
            "scheduled_end",
            "actual_start",
            "actual_end",
            "outcome_notes",
            "schedule_id",
            "version",
        },
    ),
    "cases": (
        "case_id",
        {
            "id",
            "contact_id",
            "subject",
            "priority",
            "status",
            "assignee_id",
            "opened_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "version",
        },
    ),
}


@pytest.fixture
def run(db, monkeypatch) -> Iterator[Callable[..., tuple[int, str, str]]]:
    monkeypatch.setenv("TENURE_DATABASE_URL", db.url)
    get_settings.cache_clear()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    yield invoke
    get_settings.cache_clear()


@pytest.fixture
def records(tenant, db) -> dict[str, int]:
    """One record of each kind in the tenant's workspace; their ids by group."""
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        cid = contacts.create_contact(
            ctx,
            kind=ContactKind.PERSON,
            given_name="Ada",
            family_name="Lovelace",
            emails=[EmailIn("ada@engine.example")],
        ).contact.id
        start = datetime.now(UTC) + timedelta(days=2)
        return {
            "contacts": cid,
            "activities": activities.create_activity(
                ctx, kind=ActivityKind.TASK, title="Send the report", contact_id=cid, due_at=start
            ).id,
            "deliveries": deliveries.create_delivery(
                ctx, cid, title="Quarterly audit", scheduled_start=start
            ).id,
            "cases": cases.open_case(ctx, cid, subject="Invoice is wrong").id,
            "schedules": schedules.create_schedule(
                ctx,
                cid,
                produces=schedules.Produces.ACTIVITY,
                activity_kind=ActivityKind.CALL,
                title="Monthly call",
                rrule="FREQ=MONTHLY",
                dtstart=datetime(2026, 1, 5, 9),
                timezone="Europe/London",
                horizon_days=14,
            ).id,
        }


@pytest.mark.parametrize("group", sorted(SHOWN))
def test_show_prints_the_record_as_json_and_as_fields(run, records, group) -> None:
    _, fields = SHOWN[group]
    code, out, _ = run(group, "show", str(records[group]), "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == fields
    assert data["id"] == records[group]
    assert data["contact_id"] == records["contacts"]
    code, out, _ = run(group, "show", str(records[group]))
    assert code == 0
    lines = out.splitlines()
    # One "key: value" line per field, in the JSON's order.
    assert [line.split(":", 1)[0] for line in lines] == list(data)
    assert f"id: {records[group]}" in lines


@pytest.mark.parametrize("group", sorted(SHOWN))
def test_show_of_a_missing_or_other_workspaces_record_is_exit_3(
    run, records, other_tenant, group
) -> None:
    code, out, err = run(group, "show", "999999", "-w", "acme")
    assert (code, out) == (3, "")
    assert "999999 not found" in err
    # The record exists, in another workspace: indistinguishable from a missing one.
    code, out, err = run(group, "show", str(records[group]), "-w", other_tenant.slug)
    assert (code, out) == (3, "")
    assert "not found" in err


@pytest.mark.parametrize("group", sorted(SHOWN))
def test_show_takes_its_named_integer_argument(run, group) -> None:
    argument, _ = SHOWN[group]
    code, out, _ = run(group, "show", "--help")
    assert code == 0
    assert argument in out and "--workspace" in out and "--json" in out
    code, _, err = run(group, "show", "abc")
    assert code == 2
    assert f"Invalid value for '{argument}'" in err
    code, _, err = run(group, "show")
    assert code == 2
    assert argument in err


def test_contacts_show_keeps_its_own_layout(run, records) -> None:
    cid = records["contacts"]
    code, out, _ = run("contacts", "show", str(cid), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["display_name"] == "Ada Lovelace"
    # The scheduled delivery made Ada a client, today.
    [converted] = data["transitions"]
    assert (converted["from"], converted["to"]) == ("contact", "client")
    assert converted["evidence"] == f"delivery {records['deliveries']}"
    assert data["organizations"] == []
    code, out, _ = run("contacts", "show", str(cid))
    assert code == 0
    assert out.splitlines() == [
        f"Ada Lovelace (person, #{cid})",
        f"stage: client  client since: {data['client_since']}  tenure: 0 days",
        "email: ada@engine.example (primary)",
        f"  {data['client_since']}: contact → client delivery {records['deliveries']}",
    ]
    code, out, _ = run("contacts", "--help")
    assert "One contact with its lifecycle history." in out
