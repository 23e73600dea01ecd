"""An erased contact takes no new personal data: every kind of write to it (or of a record
attached to it) answers 409 ``contact-erased`` and changes nothing, while reads still work;
imports and vCard re-imports never write to the tombstone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tenure.worker.runner import Worker, WorkerConfig

from .helpers import (
    create_agreement,
    create_contact,
    get,
    invalid,
    ok,
    patch,
    problem,
    workspace_rows,
)

NAME = "Zdeněk Quillfeather"
EMAIL = "zdenek@quillmail.example"
STEPS = [{"day": 0, "name": "Welcome", "action": {"type": "create_activity", "title": "Hello"}}]


def _soon() -> str:
    return (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()


def _records(api: httpx.Client, contact_id: int) -> dict[str, int]:
    """One record of each kind a contact has, by id."""
    made = {
        "agreement": create_agreement(api, contact_id),
        "activity": api.post(
            "/activities",
            json={"kind": "task", "title": "Call", "contact_id": contact_id, "due_at": _soon()},
        ),
        "case": api.post("/cases", json={"contact_id": contact_id, "subject": "Printer"}),
        "delivery": api.post("/deliveries", json={"contact_id": contact_id, "title": "Visit"}),
        "commitment": api.post(f"/contacts/{contact_id}/commitments", json={"text": "Plan"}),
        "knowledge": api.post(
            f"/contacts/{contact_id}/knowledge", json={"kind": "preference", "text": "Tea"}
        ),
    }
    return {name: (r if isinstance(r, dict) else ok(r, 201))["id"] for name, r in made.items()}


@pytest.fixture
def erased(api) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An erased person with a record of each kind, a live person of the same name with
    their own, and a playbook (all made before erasing)."""
    person = create_contact(
        api, display_name=NAME, emails=[{"email": EMAIL}], tags=["vip"], notes="Call after 9"
    )
    records = _records(api, person["id"])
    live = create_contact(api, display_name="Zdenek Quillfeather")
    book = ok(api.post("/playbooks", json={"name": "Onboarding", "steps": STEPS}), 201)
    ok(api.post(f"/contacts/{person['id']}/erase"))
    return {
        "id": person["id"],
        **records,
        "live": {"id": live["id"], **_records(api, live["id"])},
        "playbook": book["id"],
    }


Write = Callable[[httpx.Client, dict[str, Any]], httpx.Response]

#: Every kind of write that adds data to a contact, through the API.
WRITES: dict[str, Write] = {
    "update name": lambda api, c: patch(api, f"/contacts/{c['id']}", {"display_name": NAME}),
    "update email": lambda api, c: patch(
        api, f"/contacts/{c['id']}", {"emails": [{"email": EMAIL}]}
    ),
    "update phone": lambda api, c: patch(
        api, f"/contacts/{c['id']}", {"phones": [{"number": "+420 601 234 567"}]}
    ),
    "update tags": lambda api, c: patch(api, f"/contacts/{c['id']}", {"tags": ["vip"]}),
    "log interaction": lambda api, c: api.post(
        f"/contacts/{c['id']}/interactions", json={"channel": "call", "subject": "Hello"}
    ),
    "add knowledge": lambda api, c: api.post(
        f"/contacts/{c['id']}/knowledge", json={"kind": "preference", "text": "Mornings"}
    ),
    "make commitment": lambda api, c: api.post(
        f"/contacts/{c['id']}/commitments", json={"text": "Send the plan"}
    ),
    "create activity": lambda api, c: api.post(
        "/activities",
        json={"kind": "task", "title": "Call", "contact_id": c["id"], "due_at": _soon()},
    ),
    "open case": lambda api, c: api.post(
        "/cases", json={"contact_id": c["id"], "subject": "Printer offline"}
    ),
    "create agreement": lambda api, c: api.post(
        f"/contacts/{c['id']}/agreements", json={"title": "Retainer"}
    ),
    "create delivery": lambda api, c: api.post(
        "/deliveries", json={"contact_id": c["id"], "title": "Visit"}
    ),
    "create schedule": lambda api, c: api.post(
        "/schedules",
        json={
            "contact_id": c["id"],
            "produces": "activity",
            "activity_kind": "task",
            "title": "Monthly check",
            "timezone": "UTC",
            "rrule": "FREQ=MONTHLY",
            "dtstart": _soon()[:19],
        },
    ),
    "start playbook": lambda api, c: api.post(
        f"/contacts/{c['id']}/playbooks", json={"playbook_id": c["playbook"]}
    ),
    "merge into it": lambda api, c: api.post(
        f"/contacts/{c['id']}/merge", json={"other_id": c["live"]["id"]}
    ),
    "merge it into another": lambda api, c: api.post(
        f"/contacts/{c['live']['id']}/merge", json={"other_id": c["id"]}
    ),
    # Its records: an edit is new words about the person.
    "edit agreement": lambda api, c: patch(
        api, f"/agreements/{c['agreement']}", {"terms": "Mr Quillfeather pays on the 5th"}
    ),
    "edit activity": lambda api, c: patch(
        api, f"/activities/{c['activity']}", {"notes": "He prefers mornings"}
    ),
    "edit case": lambda api, c: patch(api, f"/cases/{c['case']}", {"description": "His printer"}),
    "respond to case": lambda api, c: api.post(
        f"/cases/{c['case']}/respond", json={"body": "Dear Zdeněk"}
    ),
    "edit delivery": lambda api, c: patch(
        api, f"/deliveries/{c['delivery']}", {"location": "His home"}
    ),
    "edit commitment": lambda api, c: patch(
        api, f"/commitments/{c['commitment']}", {"text": "Call Zdeněk"}
    ),
    "edit knowledge": lambda api, c: api.patch(
        f"/knowledge/{c['knowledge']}", json={"text": "Zdeněk likes tea"}
    ),
}


@pytest.mark.parametrize("write", list(WRITES), ids=list(WRITES))
def test_every_write_to_an_erased_contact_is_refused_and_changes_nothing(  # type: ignore[no-untyped-def]
    server, api, tenant, erased, write
) -> None:
    before = workspace_rows(server.engine, tenant.workspace_id)
    body = problem(WRITES[write](api, erased), 409, "contact-erased")
    assert f"contact {erased['id']} was erased" in body["detail"]
    assert "takes no new personal data" in body["detail"]
    assert body["details"]["contact_id"] == erased["id"]
    assert workspace_rows(server.engine, tenant.workspace_id) == before


def test_the_same_writes_still_work_on_a_live_contact(api, erased) -> None:  # type: ignore[no-untyped-def]
    """The guard refuses tombstones only: the live contact takes each write (a control for
    the test above, so a broken request shape cannot pass as a refusal)."""
    live = {**erased["live"], "playbook": erased["playbook"]}
    for name, write in WRITES.items():
        if name.startswith("merge"):
            continue
        r = write(api, live)
        assert r.status_code in (200, 201), (name, r.text)


def test_reads_of_an_erased_contact_still_work(api, erased) -> None:  # type: ignore[no-untyped-def]
    cid = erased["id"]
    assert get(api, f"/contacts/{cid}")["display_name"] == "Erased contact"
    assert get(api, f"/contacts/{cid}/timeline")["items"][0]["type"] == "contact.erased"
    [agreement] = get(api, f"/contacts/{cid}/agreements")["items"]
    assert agreement["title"] == "[erased]"
    assert get(api, f"/contacts/{cid}/personal-data")["erased"] is True


def test_its_work_can_still_be_closed_out(api, erased) -> None:  # type: ignore[no-untyped-def]
    """Status moves are business, not new words: an erased client's case is resolved and its
    draft agreement cancelled as anyone's (erasure leaves the stage and the work to people)."""
    assert ok(api.post(f"/cases/{erased['case']}/resolve"))["status"] == "resolved"
    assert ok(api.post(f"/agreements/{erased['agreement']}/cancel"))["status"] == "cancelled"


def test_a_csv_import_never_updates_the_tombstone(server, api, tenant, erased) -> None:  # type: ignore[no-untyped-def]
    """Its email went with the erasure, so the row is a new contact, and the tombstone
    stays as it was."""
    cid = erased["id"]
    before = get(api, f"/contacts/{cid}")
    content = f"name,email,tags\n{NAME},{EMAIL},vip\n".encode()
    started = ok(
        api.post(
            "/imports",
            files={"file": ("people.csv", content, "text/csv")},
            data={"on_duplicate": "update"},
        ),
        202,
    )
    Worker(server.engine, WorkerConfig(worker_id="w-erased")).run_until_idle()
    done = get(api, f"/imports/{started['id']}")
    assert (done["status"], done["counts"].get("created"), done["counts"].get("updated")) == (
        "done",
        1,
        None,
    )
    assert get(api, f"/contacts/{cid}") == before


def test_a_vcard_reimport_never_writes_to_the_tombstone(api, erased) -> None:  # type: ignore[no-untyped-def]
    """Neither the card again (its UID and email went with the erasure) nor a card, or an
    ORG, that names a tombstone by its placeholder name."""
    org = create_contact(api, display_name="Quill Ltd", kind="organization")
    ok(api.post(f"/contacts/{org['id']}/erase"))
    before = [get(api, f"/contacts/{erased['id']}"), get(api, f"/contacts/{org['id']}")]
    cards = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nKIND:org\r\nFN:Erased contact\r\n"
        "NOTE:new words\r\nX-ABShowAs:COMPANY\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:urn:uuid:0d6f4c6e-3f7e-4c55-9d0e-2f4f1b1c8a11\r\n"
        f"FN:{NAME}\r\nEMAIL:{EMAIL}\r\nORG:Erased contact\r\nEND:VCARD\r\n"
    )
    report = ok(api.post("/contacts/vcard", content=cards.encode()))
    # Two new contacts (the person joins the new organization of that name), nothing updated.
    assert (report["created"], report["updated"], report["failed"]) == (2, 0, 0), report
    assert report["organizations_created"] == 0
    assert [get(api, f"/contacts/{erased['id']}"), get(api, f"/contacts/{org['id']}")] == before


def test_no_one_joins_an_erased_organization(server, api, tenant) -> None:  # type: ignore[no-untyped-def]
    """Its people were personal data of it: a new link is refused like a missing one."""
    org = create_contact(api, display_name="Quill Ltd", kind="organization")
    ok(api.post(f"/contacts/{org['id']}/erase"))
    person = create_contact(api, display_name="Ada")
    before = workspace_rows(server.engine, tenant.workspace_id)
    body = {"organizations": [{"organization_id": org["id"]}]}
    assert invalid(patch(api, f"/contacts/{person['id']}", body)) == {
        "organizations[0].organization_id": "organization"
    }
    assert invalid(api.post("/contacts", json={"display_name": "Bo", **body})) == {
        "organizations[0].organization_id": "organization"
    }
    assert workspace_rows(server.engine, tenant.workspace_id) == before
