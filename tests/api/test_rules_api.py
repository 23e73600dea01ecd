"""Rules and playbooks over HTTP: CRUD with versions, roles, validation problems, dry runs that
change nothing, runs, defaults, starting and cancelling playbooks, workspace isolation."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from tenure.domain.access import Role
from tenure.worker.runner import Worker, WorkerConfig
from tests.conftest import client_for

from .helpers import (
    days_ago,
    get,
    invalid,
    iso,
    make_client,
    ok,
    patch,
    problem,
    workspace_rows,
)

RULE: dict[str, Any] = {
    "name": "Welcome new clients",
    "trigger": {"type": "event", "event": "contact.converted"},
    "conditions": {"all": [{"field": "contact.stage", "op": "eq", "value": "client"}]},
    "actions": [
        {"type": "create_activity", "title": "Welcome {contact.display_name}", "due_in_days": 1}
    ],
}
STEPS = [
    {"day": 0, "name": "Welcome", "action": {"type": "create_activity", "title": "Hello"}},
    {
        "day": 3,
        "name": "Kickoff",
        "action": {"type": "create_activity", "kind": "call", "title": "Kickoff"},
    },
]


def run_worker(server: Any) -> None:
    worker = Worker(server.engine, WorkerConfig(worker_id="api-tests"))
    worker.tick()
    worker.run_until_idle()


@pytest.fixture
def as_role(server, tenant):  # type: ignore[no-untyped-def]
    """HTTP clients acting as a member of the given role."""
    with ExitStack() as stack:

        def make(role: Role) -> httpx.Client:
            return stack.enter_context(client_for(server, tenant.member(role).token))

        yield make


def test_rule_crud_with_versions(api) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/rules", json=RULE)
    rule = ok(r, 201)
    assert r.headers["location"] == f"/api/v1/rules/{rule['id']}"
    assert r.headers["etag"] == '"1"'
    assert rule["event_type"] == "contact.converted" and rule["enabled"] is True
    assert rule["actions"][0]["assignee"] == "owner"  # normalized with defaults
    path = f"/rules/{rule['id']}"
    assert get(api, path)["name"] == "Welcome new clients"
    changed = ok(
        patch(
            api,
            path,
            {"trigger": {"type": "date", "field": "agreement.renews_on", "offset_days": -14}},
        )
    )
    assert changed["version"] == 2 and changed["event_type"] is None
    assert changed["evaluated_until"] is not None  # a new trigger starts from now
    problem(api.patch(path, json={"name": "x"}, headers={"If-Match": '"1"'}), 412, "stale-version")
    problem(api.patch(path, json={"name": "x"}), 428, "version-required")
    off = ok(api.post(f"{path}/disable"))
    assert off["enabled"] is False and off["version"] == 3
    assert ok(api.post(f"{path}/enable"))["enabled"] is True
    listed = get(api, "/rules", enabled="true", trigger_type="date")
    assert [x["id"] for x in listed["items"]] == [rule["id"]]
    assert get(api, "/rules", trigger_type="event")["items"] == []


def test_bad_rules_get_a_problem_naming_each_field(api) -> None:  # type: ignore[no-untyped-def]
    body = {
        "name": "Broken",
        "trigger": {"type": "date", "field": "agreement.renews_on", "offset_days": "soon"},
        "conditions": {"all": [{"field": "contact.mood", "op": "eq", "value": "happy"}]},
        "actions": [{"type": "create_activity"}, {"type": "start_playbook", "playbook_id": 9}],
    }
    fields = invalid(api.post("/rules", json=body))
    assert fields == {
        "trigger.offset_days": "range",
        "conditions.all[0].field": "contact-field",
        "actions[0].title": "required",
    }
    body["trigger"]["offset_days"] = -3
    body["conditions"] = {}
    body["actions"] = [{"type": "start_playbook", "playbook_id": 9}]
    assert invalid(api.post("/rules", json=body)) == {"actions[0].playbook_id": "exists"}
    assert get(api, "/rules")["items"] == []


def test_roles_admins_write_members_run_playbooks_viewers_read(api, as_role) -> None:  # type: ignore[no-untyped-def]
    member, viewer = as_role(Role.MEMBER), as_role(Role.VIEWER)
    problem(member.post("/rules", json=RULE), 403, "forbidden")
    problem(member.post("/playbooks", json={"name": "P", "steps": STEPS}), 403, "forbidden")
    admin = as_role(Role.ADMIN)
    rule = ok(admin.post("/rules", json=RULE), 201)
    book = ok(admin.post("/playbooks", json={"name": "P", "steps": STEPS}), 201)
    problem(member.post(f"/rules/{rule['id']}/disable"), 403, "forbidden")
    problem(viewer.post("/rules/install-defaults"), 403, "forbidden")
    assert get(viewer, f"/rules/{rule['id']}")["id"] == rule["id"]
    assert ok(viewer.post(f"/rules/{rule['id']}/simulate"))["rule_id"] == rule["id"]
    client, _ = make_client(api, display_name="Ada")
    problem(
        viewer.post(f"/contacts/{client['id']}/playbooks", json={"playbook_id": book["id"]}),
        403,
        "forbidden",
    )
    r = member.post(f"/contacts/{client['id']}/playbooks", json={"playbook_id": book["id"]})
    run = ok(r, 201)
    assert r.headers["location"] == f"/api/v1/playbook-runs/{run['id']}"
    problem(viewer.post(f"/playbook-runs/{run['id']}/cancel"), 403, "forbidden")
    cancelled = ok(member.post(f"/playbook-runs/{run['id']}/cancel", json={"reason": "no"}))
    assert cancelled["status"] == "cancelled" and cancelled["stop_reason"] == "no"
    problem(member.post(f"/playbook-runs/{run['id']}/cancel"), 409, "invalid-transition")


def test_simulate_saved_and_unsaved_rules_changes_nothing(api, server, tenant) -> None:  # type: ignore[no-untyped-def]
    soon, _ = make_client(api, display_name="Soon")
    agreement = ok(
        api.post(
            f"/contacts/{soon['id']}/agreements",
            json={
                "title": "Renewing",
                "kind": "subscription",
                "starts_on": iso(days_ago(300)),
                "renews_on": iso(days_ago(-10)),  # in ten days
            },
        ),
        201,
    )
    ok(api.post(f"/agreements/{agreement['id']}/confirm"))
    rule = ok(
        api.post(
            "/rules",
            json={
                "name": "Renewal",
                "trigger": {"type": "date", "field": "agreement.renews_on", "offset_days": -30},
                "actions": [
                    {"type": "create_activity", "title": "Renew {record.title}"},
                    {"type": "add_tag", "tag": "renewing"},
                ],
            },
        ),
        201,
    )
    before = workspace_rows(server.engine, tenant.workspace_id)
    saved = ok(api.post(f"/rules/{rule['id']}/simulate"))
    draft = ok(
        api.post(
            "/rules/simulate",
            json={
                "trigger": {"type": "event", "event": "contact.converted"},
                "actions": [{"type": "add_tag", "tag": "new"}],
            },
            params={"limit": 1},
        )
    )
    assert workspace_rows(server.engine, tenant.workspace_id) == before
    assert saved["would_fire"] == 1 and saved["description"] == "30 days before agreement.renews_on"
    [item] = saved["items"]
    assert item["record_type"] == "agreement" and item["record_id"] == agreement["id"]
    assert [a["type"] for a in item["actions"]] == ["create_activity", "add_tag"]
    assert item["actions"][0]["title"] == "Renew Renewing"
    assert draft["rule_id"] is None and draft["would_fire"] == 1 and draft["truncated"] is False
    assert invalid(api.post("/rules/simulate", json={"trigger": {"type": "x"}, "actions": [{}]}))


def test_runs_are_listed_per_rule_and_overall(api, server) -> None:  # type: ignore[no-untyped-def]
    rule = ok(api.post("/rules", json=RULE), 201)
    ada, _ = make_client(api, display_name="Ada")
    run_worker(server)
    runs = get(api, f"/rules/{rule['id']}/runs")["items"]
    assert [(r["outcome"], r["contact_id"]) for r in runs] == [("done", ada["id"])]
    assert runs[0]["effects"][0]["title"] == "Welcome Ada"
    assert get(api, "/rule-runs", contact_id=ada["id"])["items"] == runs
    assert get(api, "/rule-runs", outcome="failed")["items"] == []
    problem(api.get("/rule-runs", params={"outcome": "maybe"}), 422)


def test_install_defaults_once_over_http(api) -> None:  # type: ignore[no-untyped-def]
    first = ok(api.post("/rules/install-defaults"))
    assert len(first["installed"]) == 5
    second = ok(api.post("/rules/install-defaults"))
    assert second["installed"] == [] and len(second["present"]) == 5
    rules = get(api, "/rules")["items"]
    assert sorted(r["builtin"] for r in rules) == sorted(
        ["onboarding", "renewal_reminder", "delivery_follow_up", "cadence_check_in"]
    )
    [book] = get(api, "/playbooks")["items"]
    assert book["builtin"] == "onboarding" and [s["day"] for s in book["steps"]] == [0, 3, 30]


def test_playbook_crud_and_progress(api, server) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/playbooks", json={"name": "Onboarding", "steps": STEPS})
    book = ok(r, 201)
    assert r.headers["etag"] == '"1"'
    path = f"/playbooks/{book['id']}"
    renamed = ok(patch(api, path, {"description": "First month"}))
    assert renamed["version"] == 2
    problem(
        api.post("/playbooks", json={"name": "Onboarding", "steps": STEPS}), 409, "duplicate-value"
    )
    fields = invalid(
        api.post("/playbooks", json={"name": "Bad", "steps": [{"day": -2, "action": {}}]})
    )
    assert fields == {"steps[0].day": "range", "steps[0].action.type": "choice"}
    ada, _ = make_client(api, display_name="Ada")
    run = ok(api.post(f"/contacts/{ada['id']}/playbooks", json={"playbook_id": book["id"]}), 201)
    assert [s["state"] for s in run["steps"]] == ["pending", "pending"]
    problem(
        api.post(f"/contacts/{ada['id']}/playbooks", json={"playbook_id": book["id"]}),
        409,
        "conflict",
    )
    run_worker(server)
    [progress] = get(api, f"/contacts/{ada['id']}/playbooks")["items"]
    assert progress["playbook_name"] == "Onboarding" and progress["status"] == "running"
    assert [(s["name"], s["state"]) for s in progress["steps"]] == [
        ("Welcome", "done"),
        ("Kickoff", "pending"),
    ]
    assert get(api, f"/playbook-runs/{run['id']}")["steps"] == progress["steps"]
    problem(api.delete(path), 409, "conflict")  # it ran: disable instead
    unused = ok(api.post("/playbooks", json={"name": "Unused", "steps": STEPS}), 201)
    assert api.delete(f"/playbooks/{unused['id']}").status_code == 204
    problem(api.get(f"/playbooks/{unused['id']}"), 404, "not-found")


def test_another_workspace_sees_nothing(api, server, other_tenant) -> None:  # type: ignore[no-untyped-def]
    rule = ok(api.post("/rules", json=RULE), 201)
    book = ok(api.post("/playbooks", json={"name": "P", "steps": STEPS}), 201)
    ada, _ = make_client(api, display_name="Ada")
    run = ok(api.post(f"/contacts/{ada['id']}/playbooks", json={"playbook_id": book["id"]}), 201)
    with client_for(server, other_tenant.owner.token) as other:
        problem(other.get(f"/rules/{rule['id']}"), 404, "not-found")
        problem(other.post(f"/rules/{rule['id']}/simulate"), 404, "not-found")
        problem(other.get(f"/rules/{rule['id']}/runs"), 404, "not-found")
        problem(other.get(f"/playbooks/{book['id']}"), 404, "not-found")
        problem(other.get(f"/playbook-runs/{run['id']}"), 404, "not-found")
        problem(other.post(f"/playbook-runs/{run['id']}/cancel"), 404, "not-found")
        problem(other.get(f"/contacts/{ada['id']}/playbooks"), 404, "not-found")
        assert get(other, "/rules")["items"] == [] and get(other, "/rule-runs")["items"] == []
        # naming another workspace's playbook in a rule is naming nothing
        body = {**RULE, "actions": [{"type": "start_playbook", "playbook_id": book["id"]}]}
        assert invalid(other.post("/rules", json=body)) == {"actions[0].playbook_id": "exists"}
