"""Support cases through HTTP: the transition table, the case clock, the timeline, the stage
that never moves, the queue's filters and its query count."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.cases import CASE_MOVES, CaseAction, CasePriority, CaseStatus
from tenure.domain.contacts import ContactKind
from tenure.services import cases, contacts
from tests.conftest import Database, Tenant, count_statements, make_tenant


@pytest.fixture
def tenant(database: Database) -> Tenant:
    """A fresh workspace (workspaces are isolated, so no emptied database is needed)."""
    return make_tenant(database, f"case-{uuid4().hex[:12]}")


ROUTES = {
    CaseAction.MARK_PENDING: "pending",
    CaseAction.RESUME: "resume",
    CaseAction.RESOLVE: "resolve",
    CaseAction.CLOSE: "close",
    CaseAction.REOPEN: "reopen",
}
EVENTS = {
    CaseAction.MARK_PENDING: "case.pending",
    CaseAction.RESUME: "case.resumed",
    CaseAction.RESOLVE: "case.resolved",
    CaseAction.CLOSE: "case.closed",
    CaseAction.REOPEN: "case.reopened",
}
PATHS = {
    CaseStatus.OPEN: [],
    CaseStatus.PENDING: [CaseAction.MARK_PENDING],
    CaseStatus.RESOLVED: [CaseAction.RESOLVE],
    CaseStatus.CLOSED: [CaseAction.RESOLVE, CaseAction.CLOSE],
}


def ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def make_contact(api: httpx.Client, name: str = "Harbour Dental") -> dict[str, Any]:
    r = api.post("/contacts", json={"display_name": name})
    assert r.status_code == 201, r.text
    return dict(r.json())


def open_case(api: httpx.Client, contact_id: int, **body: Any) -> dict[str, Any]:
    body.setdefault("subject", "Printer offline")
    r = api.post("/cases", json={"contact_id": contact_id, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def move(api: httpx.Client, case_id: int, action: CaseAction, note: str = "") -> httpx.Response:
    return api.post(f"/cases/{case_id}/{ROUTES[action]}", json={"note": note} if note else None)


def case_events(api: httpx.Client, contact_id: int, case_id: int) -> list[str]:
    r = api.get(f"/contacts/{contact_id}/timeline", params={"limit": 200})
    return [
        e["type"]
        for e in r.json()["items"]
        if e["subject_type"] == "case" and e["subject_id"] == case_id
    ]


def test_the_whole_transition_table(api) -> None:
    """Every (status, action): a legal move lands where the table says and is on the timeline
    with its event; an illegal one is 409 invalid-transition and changes nothing."""
    contact = make_contact(api)
    expected_events: dict[int, list[str]] = {}
    legal = illegal = 0
    for status in CaseStatus:
        for action in CaseAction:
            case = open_case(api, contact["id"], subject=f"{status} {action}")
            expected_events[case["id"]] = ["case.opened"]
            for step in PATHS[status]:
                r = move(api, case["id"], step)
                assert r.status_code == 200, r.text
                case = r.json()
                expected_events[case["id"]].insert(0, EVENTS[step])
            assert case["status"] == status.value
            r = move(api, case["id"], action)
            target = CASE_MOVES.get((status, action))
            if target is None:
                illegal += 1
                assert r.status_code == 409, (status, action, r.text)
                assert r.json()["code"] == "invalid-transition"
                assert api.get(f"/cases/{case['id']}").json() == case
            else:
                legal += 1
                assert r.status_code == 200, (status, action, r.text)
                assert r.json()["status"] == target.value
                expected_events[case["id"]].insert(0, EVENTS[action])
    assert legal == len(CASE_MOVES) == 7
    assert illegal == len(CaseStatus) * len(CaseAction) - 7
    r = api.get(f"/contacts/{contact['id']}/timeline", params={"limit": 200})
    recorded: dict[int, list[str]] = {}
    for event in r.json()["items"]:
        if event["subject_type"] == "case":
            recorded.setdefault(event["subject_id"], []).append(event["type"])
    assert recorded == expected_events


def test_the_case_clock(api) -> None:
    contact = make_contact(api)
    case = open_case(api, contact["id"], priority="urgent", description="Nothing prints")
    assert case["status"] == "open" and case["priority"] == "urgent"
    assert case["first_response_at"] is None and case["resolved_at"] is None
    assert case_events(api, contact["id"], case["id"]) == ["case.opened"]

    r = api.post(f"/cases/{case['id']}/respond", json={"body": "Looking into it"})
    assert r.status_code == 200, r.text
    first = ts(r.json()["first_response_at"])
    opened = ts(case["opened_at"])
    assert first is not None and opened is not None and first >= opened
    r = api.post(f"/cases/{case['id']}/respond", json={"body": "Still on it", "channel": "call"})
    assert ts(r.json()["first_response_at"]) == first  # kept once
    timeline = api.get(f"/contacts/{contact['id']}/timeline").json()["items"]
    logged = [e for e in timeline if e["type"] == "interaction.logged"]
    assert len(logged) == 2
    assert api.get(f"/contacts/{contact['id']}").json()["last_interaction_at"] is not None

    r = move(api, case["id"], CaseAction.RESOLVE, "Driver updated")
    resolved = r.json()
    assert resolved["status"] == "resolved" and resolved["resolution"] == "Driver updated"
    assert ts(resolved["resolved_at"]) is not None and resolved["closed_at"] is None
    assert ts(resolved["first_response_at"]) == first
    closed = move(api, case["id"], CaseAction.CLOSE).json()
    assert closed["closed_at"] is not None and closed["resolved_at"] == resolved["resolved_at"]

    reopened = move(api, case["id"], CaseAction.REOPEN).json()
    assert reopened["status"] == "open"
    assert reopened["resolved_at"] is None and reopened["closed_at"] is None
    assert ts(reopened["first_response_at"]) == first  # the response stays

    # resolving without a response counts as the first response
    quiet = open_case(api, contact["id"], subject="Quiet")
    done = move(api, quiet["id"], CaseAction.RESOLVE).json()
    assert done["first_response_at"] == done["resolved_at"]

    r = api.post(f"/cases/{case['id']}/respond", json={"body": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize("stage", ["contact", "client"])
def test_cases_never_change_the_stage(api, stage: str) -> None:
    contact = make_contact(api)
    if stage == "client":
        agreement = api.post(
            f"/contacts/{contact['id']}/agreements", json={"title": "Support plan"}
        ).json()
        assert api.post(f"/agreements/{agreement['id']}/confirm").status_code == 200
    transitions = api.get(f"/contacts/{contact['id']}/transitions").json()
    case = open_case(api, contact["id"])
    for action in (
        CaseAction.MARK_PENDING,
        CaseAction.RESUME,
        CaseAction.RESOLVE,
        CaseAction.CLOSE,
        CaseAction.REOPEN,
        CaseAction.RESOLVE,
    ):
        assert move(api, case["id"], action).status_code == 200
        assert api.get(f"/contacts/{contact['id']}").json()["stage"] == stage
    assert api.get(f"/contacts/{contact['id']}/transitions").json() == transitions
    assert case_events(api, contact["id"], case["id"]) == [
        "case.resolved",
        "case.reopened",
        "case.closed",
        "case.resolved",
        "case.resumed",
        "case.pending",
        "case.opened",
    ]


def test_bad_case_input(api, tenant) -> None:
    contact = make_contact(api)
    r = api.post("/cases", json={"contact_id": contact["id"], "subject": "  "})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "subject"
    r = api.post("/cases", json={"contact_id": contact["id"], "subject": "x", "priority": "asap"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "priority"
    r = api.post(
        "/cases", json={"contact_id": contact["id"], "subject": "x", "assignee_id": 999999}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "assignee_id"
    r = api.post("/cases", json={"contact_id": 999999, "subject": "x"})
    assert r.status_code == 404
    assert api.get("/cases").json()["items"] == []


def test_update_with_if_match(api, tenant) -> None:
    contact = make_contact(api)
    case = open_case(api, contact["id"])
    got = api.get(f"/cases/{case['id']}")
    r = api.patch(f"/cases/{case['id']}", json={"priority": "high"})
    assert r.status_code == 428
    r = api.patch(f"/cases/{case['id']}", json={"priority": "high"}, headers={"If-Match": '"7"'})
    assert r.status_code == 412
    assert api.get(f"/cases/{case['id']}").json() == got.json()
    r = api.patch(
        f"/cases/{case['id']}",
        json={"priority": "high", "assignee_id": tenant.owner.user_id},
        headers={"If-Match": got.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["priority"] == "high" and r.json()["assignee_id"] == tenant.owner.user_id
    assert r.headers["ETag"] == f'"{case["version"] + 1}"'
    r = api.patch(
        f"/cases/{case['id']}", json={"status": "closed"}, headers={"If-Match": r.headers["ETag"]}
    )
    assert r.status_code == 422  # the status moves only through the transition routes
    assert api.get(f"/cases/{case['id']}").json()["status"] == "open"


def test_queue_filters(api, tenant) -> None:
    first = make_contact(api, "First")
    second = make_contact(api, "Second")
    made: dict[tuple[str, str], int] = {}
    for priority in CasePriority:
        for status, path in PATHS.items():
            case = open_case(
                api,
                first["id"] if priority != "low" else second["id"],
                subject=f"{priority} {status}",
                priority=priority.value,
            )
            for step in path:
                assert move(api, case["id"], step).status_code == 200
            made[(priority.value, status.value)] = case["id"]

    def ids(path: str = "/cases", **params: Any) -> set[int]:
        r = api.get(path, params={"limit": 200, **params})
        assert r.status_code == 200, r.text
        return {c["id"] for c in r.json()["items"]}

    for status in CaseStatus:
        assert ids(status=status.value) == {v for (p, s), v in made.items() if s == status}
    for priority in CasePriority:
        assert ids(priority=priority.value) == {v for (p, s), v in made.items() if p == priority}
    assert ids(status="open", priority="urgent") == {made[("urgent", "open")]}
    assert ids(f"/contacts/{second['id']}/cases") == {v for (p, _), v in made.items() if p == "low"}
    assert ids(f"/contacts/{second['id']}/cases", status="closed") == {made[("low", "closed")]}
    assert ids(contact_id=second["id"], priority="urgent") == set()
    r = api.get("/cases", params={"status": "waiting"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"
    # newest first, paginated without gaps
    page = api.get("/cases", params={"limit": 5}).json()
    seen = [c["id"] for c in page["items"]]
    while page["next_cursor"]:
        page = api.get("/cases", params={"limit": 5, "cursor": page["next_cursor"]}).json()
        seen += [c["id"] for c in page["items"]]
    assert seen == sorted(made.values(), reverse=True)


def test_the_queue_takes_a_constant_number_of_queries(api, server, tenant) -> None:
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        contact = contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name="Many")
        for i in range(110):
            cases.open_case(
                ctx, contact.contact.id, subject=f"case {i}", priority=list(CasePriority)[i % 4]
            )
    api.get("/cases", params={"limit": 1})  # the token's last use is written once
    counts = {}
    for limit in (5, 100):
        with count_statements(server.engine) as statements:
            r = api.get("/cases", params={"limit": limit})
        assert r.status_code == 200 and len(r.json()["items"]) == limit
        counts[limit] = len(statements)
    assert counts[5] == counts[100], counts
