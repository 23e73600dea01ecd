"""Every continuity route through HTTP: knowledge, commitments, the brief, health, settings;
roles and workspace isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tenure.domain.access import Role
from tests.api.helpers import (
    create_contact,
    days_ago,
    get,
    invalid,
    iso,
    make_client,
    ok,
    problem,
    today,
    workspace_rows,
)
from tests.conftest import client_for


@pytest.fixture
def records(api) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A client with an interaction, a knowledge entry and an open commitment."""
    client, _ = make_client(api, display_name="Priya Shah", starts_on=days_ago(60))
    cid = client["id"]
    call = ok(
        api.post(
            f"/contacts/{cid}/interactions",
            json={"channel": "call", "direction": "outbound", "subject": "Kick-off"},
        ),
        201,
    )
    entry = ok(
        api.post(
            f"/contacts/{cid}/knowledge",
            json={"kind": "preference", "text": "Mornings", "key": "best_time"},
        ),
        201,
    )
    commitment = ok(
        api.post(
            f"/contacts/{cid}/commitments",
            json={"text": "Send the plan", "due_on": iso(today() + timedelta(days=5))},
        ),
        201,
    )
    return {"client": cid, "call": call["id"], "entry": entry["id"], "commitment": commitment["id"]}


# --- knowledge -------------------------------------------------------------------------------


def test_knowledge_lifecycle(api, records) -> None:  # type: ignore[no-untyped-def]
    cid = records["client"]
    before_any = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    added = ok(
        api.post(
            f"/contacts/{cid}/knowledge",
            json={
                "kind": "do_not",
                "text": "Never call before 10",
                "pinned": True,
                "source_interaction_id": records["call"],
                "source_person": "Priya",
            },
        ),
        201,
    )
    assert added["kind"] == "do_not" and added["pinned"] is True and added["stale"] is False
    assert added["root_id"] == added["id"] and added["supersedes_id"] is None
    assert added["source_interaction_id"] == records["call"]
    assert get(api, f"/knowledge/{added['id']}")["text"] == "Never call before 10"

    listed = get(api, f"/contacts/{cid}/knowledge")
    assert [k["id"] for k in listed["items"]] == [added["id"], records["entry"]]  # pinned first
    assert listed["as_of"] is None

    after_add = datetime.now(UTC).isoformat()
    edited = ok(api.patch(f"/knowledge/{added['id']}", json={"text": "Never before 11"}))
    assert edited["supersedes_id"] == added["id"] and edited["root_id"] == added["id"]
    assert edited["pinned"] is True and edited["kind"] == "do_not"
    old = problem(api.patch(f"/knowledge/{added['id']}", json={"text": "x"}), 409)
    assert old["code"]
    assert get(api, f"/knowledge/{added['id']}")["superseded_at"] is not None

    confirmed = ok(api.post(f"/knowledge/{edited['id']}/confirm"))
    assert confirmed["last_confirmed_at"] >= edited["last_confirmed_at"]
    assert confirmed["id"] == edited["id"]

    versions = get(api, f"/knowledge/{edited['id']}/versions")["items"]
    assert [v["text"] for v in versions] == ["Never call before 10", "Never before 11"]

    retired = ok(api.post(f"/knowledge/{edited['id']}/retire", json={"reason": "moved"}))
    assert retired["retired_at"] is not None
    problem(api.post(f"/knowledge/{edited['id']}/retire"), 409)
    problem(api.post(f"/knowledge/{edited['id']}/confirm"), 409)
    assert [k["id"] for k in get(api, f"/contacts/{cid}/knowledge")["items"]] == [records["entry"]]

    then = get(api, f"/contacts/{cid}/knowledge", as_of=after_add)
    assert {k["text"] for k in then["items"]} == {"Never call before 10", "Mornings"}
    assert then["as_of"] is not None
    assert get(api, f"/contacts/{cid}/knowledge", as_of=before_any)["items"] == []
    assert "as_of" in invalid(
        api.get(f"/contacts/{cid}/knowledge", params={"as_of": "2025-01-01T00:00:00"})
    )


def test_a_key_replaces_through_the_api(api, records) -> None:  # type: ignore[no-untyped-def]
    cid = records["client"]
    again = ok(
        api.post(
            f"/contacts/{cid}/knowledge",
            json={"kind": "preference", "text": "Afternoons", "key": "best_time"},
        ),
        201,
    )
    assert again["supersedes_id"] == records["entry"]
    items = get(api, f"/contacts/{cid}/knowledge")["items"]
    assert [k["text"] for k in items if k["key"] == "best_time"] == ["Afternoons"]
    other = ok(api.post(f"/contacts/{cid}/knowledge", json={"kind": "fact", "text": "x"}), 201)
    assert invalid(api.patch(f"/knowledge/{other['id']}", json={"key": "best_time"})) == {
        "key": "unique"
    }


def test_knowledge_validation_names_fields(api, records) -> None:  # type: ignore[no-untyped-def]
    cid = records["client"]
    other = create_contact(api, display_name="Someone Else")
    foreign = ok(
        api.post(
            f"/contacts/{other['id']}/interactions",
            json={"channel": "email", "direction": "inbound"},
        ),
        201,
    )
    assert "key" in invalid(
        api.post(f"/contacts/{cid}/knowledge", json={"kind": "fact", "text": "x", "key": "Bad Key"})
    )
    assert "text" in invalid(
        api.post(f"/contacts/{cid}/knowledge", json={"kind": "fact", "text": ""})
    )
    assert "text" in invalid(
        api.post(f"/contacts/{cid}/knowledge", json={"kind": "fact", "text": "  "})
    )
    assert "kind" in invalid(
        api.post(f"/contacts/{cid}/knowledge", json={"kind": "rumour", "text": "x"})
    )
    assert invalid(
        api.post(
            f"/contacts/{cid}/knowledge",
            json={"kind": "fact", "text": "x", "source_interaction_id": foreign["id"]},
        )
    ) == {"source_interaction_id": "same-contact"}
    assert "root_id" in invalid(api.patch(f"/knowledge/{records['entry']}", json={"root_id": 1}))
    problem(api.post("/contacts/999999/knowledge", json={"kind": "fact", "text": "x"}), 404)
    problem(api.get("/knowledge/999999"), 404)


def test_stale_knowledge_is_flagged_by_the_setting(api, records, server) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with server.engine.begin() as conn:  # confirmed 20 days ago
        conn.execute(
            text("UPDATE knowledge_entries SET last_confirmed_at = :t WHERE id = :id"),
            {"t": datetime.now(UTC) - timedelta(days=20), "id": records["entry"]},
        )
    cid = records["client"]
    assert get(api, f"/knowledge/{records['entry']}")["stale"] is False
    ok(api.patch("/settings", json={"stale_knowledge_days": 10}))
    assert get(api, f"/knowledge/{records['entry']}")["stale"] is True
    assert get(api, f"/contacts/{cid}/knowledge")["items"][0]["stale"] is True
    brief = get(api, f"/contacts/{cid}/brief")
    assert brief["knowledge"][0]["stale"] is True
    assert ok(api.post(f"/knowledge/{records['entry']}/confirm"))["stale"] is False
    assert get(api, f"/knowledge/{records['entry']}")["stale"] is False


# --- commitments -----------------------------------------------------------------------------


def test_commitment_crud_with_if_match(api, tenant, records) -> None:  # type: ignore[no-untyped-def]
    cid, kid = records["client"], records["commitment"]
    r = api.get(f"/commitments/{kid}")
    body = ok(r)
    assert r.headers["etag"] == f'"{body["version"]}"'
    assert body["status"] == "open" and body["overdue"] is False
    assert body["promised_by"] == tenant.owner.user_id

    problem(api.patch(f"/commitments/{kid}", json={"text": "x"}), 428)
    problem(api.patch(f"/commitments/{kid}", json={"text": "x"}, headers={"If-Match": '"99"'}), 412)
    changed = api.patch(
        f"/commitments/{kid}",
        json={
            "text": "Send the revised plan",
            "promised_to": "Priya",
            "due_on": iso(days_ago(1)),
            "interaction_id": records["call"],
        },
        headers={"If-Match": r.headers["etag"]},
    )
    new = ok(changed)
    assert new["text"] == "Send the revised plan" and new["overdue"] is True
    assert new["version"] > body["version"] and changed.headers["etag"] == f'"{new["version"]}"'
    problem(
        api.patch(
            f"/commitments/{kid}", json={"text": "x"}, headers={"If-Match": r.headers["etag"]}
        ),
        412,
    )
    assert "text" in invalid(
        api.patch(
            f"/commitments/{kid}", json={"text": ""}, headers={"If-Match": changed.headers["etag"]}
        )
    )
    assert "status" in invalid(
        api.patch(
            f"/commitments/{kid}",
            json={"status": "kept"},
            headers={"If-Match": changed.headers["etag"]},
        )
    )

    overdue = get(api, "/commitments", overdue="true")["items"]
    assert [c["id"] for c in overdue] == [kid]
    assert [c["id"] for c in get(api, f"/contacts/{cid}/commitments")["items"]] == [kid]
    assert get(api, f"/contacts/{cid}/commitments", status="kept")["items"] == []
    assert "status" in invalid(api.get("/commitments", params={"status": "done"}))

    kept = ok(api.post(f"/commitments/{kid}/keep", json={"note": "sent"}))
    assert kept["status"] == "kept" and kept["overdue"] is False
    assert kept["resolution_note"] == "sent" and kept["resolved_at"] is not None
    assert get(api, "/commitments", overdue="true")["items"] == []
    assert [c["id"] for c in get(api, "/commitments", status="kept")["items"]] == [kid]
    for action in ("keep", "break", "cancel"):
        problem(api.post(f"/commitments/{kid}/{action}"), 409)
    etag = api.get(f"/commitments/{kid}").headers["etag"]
    problem(api.patch(f"/commitments/{kid}", json={"text": "x"}, headers={"If-Match": etag}), 409)


@pytest.mark.parametrize(("action", "status"), [("break", "broken"), ("cancel", "cancelled")])
def test_break_and_cancel(api, records, action, status) -> None:  # type: ignore[no-untyped-def]
    done = ok(api.post(f"/commitments/{records['commitment']}/{action}"))
    assert done["status"] == status
    assert ok(api.get(f"/commitments/{records['commitment']}"))["status"] == status


def test_commitment_validation(api, records) -> None:  # type: ignore[no-untyped-def]
    cid = records["client"]
    assert "text" in invalid(api.post(f"/contacts/{cid}/commitments", json={"text": ""}))
    assert invalid(
        api.post(f"/contacts/{cid}/commitments", json={"text": "x", "promised_by": 999999})
    ) == {"promised_by": "member"}
    assert "due_on" in invalid(
        api.post(f"/contacts/{cid}/commitments", json={"text": "x", "due_on": "soon"})
    )
    problem(api.post("/contacts/999999/commitments", json={"text": "x"}), 404)


# --- brief and health ------------------------------------------------------------------------


def test_brief_json_and_markdown(api, records) -> None:  # type: ignore[no-untyped-def]
    cid = records["client"]
    ok(
        api.post(
            f"/contacts/{cid}/knowledge",
            json={"kind": "fact", "text": "Uses *stars* and [links](x)", "pinned": True},
        ),
        201,
    )
    b = get(api, f"/contacts/{cid}/brief")
    assert b["contact_id"] == cid and b["who"]["name"] == "Priya Shah"
    assert b["relationship"]["stage"] == "client"
    assert {k["text"] for k in b["knowledge"]} == {"Mornings", "Uses *stars* and [links](x)"}
    assert [i["subject"] for i in b["recent_interactions"]] == ["Kick-off"]
    assert [i["kind"] for i in b["open_items"]] == ["commitment"]
    assert b["health"]["score"] == 100 and b["cadence"]["overdue_days"] == 0

    md = api.get(f"/contacts/{cid}/brief", headers={"Accept": "text/markdown"})
    assert md.status_code == 200
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# Priya Shah\n")
    assert "Uses \\*stars\\* and \\[links\\](x)" in md.text
    assert "## Open" in md.text and "Send the plan" in md.text
    problem(api.get("/contacts/999999/brief"), 404)


def test_health_current_and_history(api, records) -> None:  # type: ignore[no-untyped-def]
    cid = records["client"]
    h = get(api, f"/contacts/{cid}/health")
    assert h["contact_id"] == cid and h["score"] == 100 and h["band"] == "healthy"
    assert h["contributions"] == []
    assert [s["day"] for s in h["history"]] == [iso(today())]
    ok(api.post("/cases", json={"contact_id": cid, "subject": "Broken", "priority": "urgent"}), 201)
    h = get(api, f"/contacts/{cid}/health")
    assert h["score"] == 80 and h["band"] == "healthy"
    assert h["contributions"] == [{"signal": "cases", "points": -20, "reason": "1 open case(s)"}]
    assert h["history"] == [{"day": iso(today()), "score": 80}]
    assert "days" in invalid(api.get(f"/contacts/{cid}/health", params={"days": 0}))
    lead = create_contact(api, display_name="Just a lead")
    none = get(api, f"/contacts/{lead['id']}/health")
    assert none["score"] is None and none["band"] is None and none["history"] == []


# --- settings --------------------------------------------------------------------------------


def test_settings_read_and_update(api) -> None:  # type: ignore[no-untyped-def]
    s = get(api, "/settings")
    assert s["default_cadence_days"] == 30 and s["stale_knowledge_days"] == 180
    assert s["cadence_by_tag"] == {} and s["health_weights"]["touch"] == 30
    new = ok(
        api.patch(
            "/settings",
            json={
                "default_cadence_days": 14,
                "cadence_by_tag": {"VIP": 7},
                "health_weights": {"touch": 50},
            },
        )
    )
    assert new["default_cadence_days"] == 14 and new["cadence_by_tag"] == {"vip": 7}
    assert new["health_weights"]["touch"] == 50 and new["health_weights"]["cases"] == 20
    assert get(api, "/settings") == new


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"default_cadence_days": 0}, "default_cadence_days"),
        ({"stale_knowledge_days": 4000}, "stale_knowledge_days"),
        ({"schedule_horizon_days": 0}, "schedule_horizon_days"),
        ({"cadence_by_tag": {"vip": 0}}, "cadence_by_tag.vip"),
        ({"health_weights": {"nope": 5}}, "health_weights.nope"),
        ({"health_weights": {"touch": 101}}, "health_weights.touch"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_settings_validation_names_the_field(api, body, field) -> None:  # type: ignore[no-untyped-def]
    before = get(api, "/settings")
    errors = invalid(api.patch("/settings", json=body))
    assert any(name == field or name.endswith(field) for name in errors), errors
    assert get(api, "/settings") == before


def test_a_member_cannot_change_settings(server, tenant) -> None:  # type: ignore[no-untyped-def]
    member = tenant.member(Role.MEMBER)
    with client_for(server, member.token) as as_member:
        assert ok(as_member.get("/settings"))["default_cadence_days"] == 30
        problem(as_member.patch("/settings", json={"default_cadence_days": 7}), 403)


# --- roles and isolation ---------------------------------------------------------------------

WRITES = [
    ("POST", "/contacts/{client}/knowledge", {"kind": "fact", "text": "x"}),
    ("PATCH", "/knowledge/{entry}", {"text": "y"}),
    ("POST", "/knowledge/{entry}/confirm", None),
    ("POST", "/knowledge/{entry}/retire", None),
    ("POST", "/contacts/{client}/commitments", {"text": "x"}),
    ("PATCH", "/commitments/{commitment}", {"text": "y"}),
    ("POST", "/commitments/{commitment}/keep", None),
    ("POST", "/commitments/{commitment}/break", None),
    ("POST", "/commitments/{commitment}/cancel", None),
    ("PATCH", "/settings", {"default_cadence_days": 7}),
]
READS = [
    "/contacts/{client}/knowledge",
    "/knowledge/{entry}",
    "/knowledge/{entry}/versions",
    "/contacts/{client}/commitments",
    "/commitments/{commitment}",
    "/contacts/{client}/brief",
    "/contacts/{client}/health",
]


def test_a_viewer_reads_but_cannot_write(api, server, tenant, records) -> None:  # type: ignore[no-untyped-def]
    viewer = tenant.member(Role.VIEWER)
    before = workspace_rows(server.engine, tenant.workspace_id)
    with client_for(server, viewer.token) as as_viewer:
        for method, path, body in WRITES:
            url = path.format(**records)
            r = as_viewer.request(method, url, json=body, headers={"If-Match": '"1"'})
            problem(r, 403, "forbidden")
        for path in READS:
            ok(as_viewer.get(path.format(**records)))
    assert workspace_rows(server.engine, tenant.workspace_id) == before


def test_another_workspaces_ids_are_not_found(api, server, tenant, other_tenant, records) -> None:  # type: ignore[no-untyped-def]
    mine = workspace_rows(server.engine, tenant.workspace_id)
    theirs_before = workspace_rows(server.engine, other_tenant.workspace_id)
    with client_for(server, other_tenant.owner.token) as theirs:
        for method, path, body in WRITES:
            if path == "/settings":  # their own settings: not a foreign id
                continue
            r = theirs.request(
                method, path.format(**records), json=body, headers={"If-Match": '"1"'}
            )
            problem(r, 404)
        for path in READS:
            problem(theirs.get(path.format(**records)), 404)
        assert ok(theirs.get("/commitments"))["items"] == []
    assert workspace_rows(server.engine, tenant.workspace_id) == mine
    assert workspace_rows(server.engine, other_tenant.workspace_id) == theirs_before
