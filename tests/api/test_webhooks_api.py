"""/webhooks and /webhook-deliveries over HTTP: the secret shown once, versions, refused
addresses, the test ping through a real receiver, the paginated log, retry, isolation, roles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tenure.config import get_settings
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.services import webhooks
from tenure.worker.runner import Worker, WorkerConfig
from tests.conftest import client_for
from tests.factories.webhooks import Receiver, running_receiver

from .helpers import invalid, ok, problem


@pytest.fixture(autouse=True)
def allow_private(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TENURE_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def create(api, url: str, **body: Any) -> dict[str, Any]:
    body.setdefault("event_types", ["contact.created"])
    return dict(ok(api.post("/webhooks", json={"url": url, **body}), 201))


def run_worker(db) -> int:
    return Worker(db.engine, WorkerConfig(worker_id="api-test")).run_until_idle()


def test_the_secret_is_shown_once(api, receiver) -> None:
    r = api.post("/webhooks", json={"url": receiver.url, "event_types": ["*"]})
    created = ok(r, 201)
    assert r.headers["location"] == f"/api/v1/webhooks/{created['id']}"
    assert r.headers["etag"] == '"1"' and r.headers["cache-control"] == "no-store"
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["*"] and created["active"] is True
    read = ok(api.get(f"/webhooks/{created['id']}"))
    assert "secret" not in read and created["secret"] not in json.dumps(read)
    listed = ok(api.get("/webhooks"))
    assert [w["id"] for w in listed["items"]] == [created["id"]]
    assert created["secret"] not in json.dumps(listed)

    rotated = ok(api.post(f"/webhooks/{created['id']}/rotate-secret"))
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert "secret" not in ok(api.get(f"/webhooks/{created['id']}"))


def test_update_needs_the_current_version(api, receiver) -> None:
    hook = create(api, receiver.url)
    path = f"/webhooks/{hook['id']}"
    problem(api.patch(path, json={"active": False}), 428, "version-required")
    r = api.patch(
        path,
        json={"active": False, "event_types": ["case.opened", "case.resolved"]},
        headers={"If-Match": '"1"'},
    )
    changed = ok(r)
    assert changed["active"] is False and changed["event_types"] == ["case.opened", "case.resolved"]
    assert r.headers["etag"] == '"2"'
    stale = api.patch(path, json={"description": "x"}, headers={"If-Match": '"1"'})
    problem(stale, 412, "stale-version")
    assert invalid(api.patch(path, json={"url": "ftp://x"}, headers={"If-Match": '"2"'})) == {
        "url": "scheme"
    }
    assert ok(api.get("/webhooks?active=false"))["items"][0]["id"] == hook["id"]
    assert ok(api.get("/webhooks?active=true"))["items"] == []


def test_bad_input_names_the_field_and_the_rule(api) -> None:
    assert invalid(api.post("/webhooks", json={"url": "gopher://x", "event_types": ["*"]})) == {
        "url": "scheme"
    }
    r = api.post("/webhooks", json={"url": "http://127.0.0.1/", "event_types": ["contact.eaten"]})
    assert invalid(r) == {"event_types.0": "choice"}
    r = api.post("/webhooks", json={"url": "http://127.0.0.1/", "event_types": []})
    assert "event_types" in invalid(r)
    assert ok(api.get("/webhooks"))["items"] == []  # nothing was written


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://localhost/hook",
    ],
)
def test_private_addresses_are_refused_when_not_allowed(api, url, monkeypatch) -> None:
    monkeypatch.setenv("TENURE_WEBHOOK_ALLOW_PRIVATE", "false")
    get_settings.cache_clear()
    assert invalid(api.post("/webhooks", json={"url": url, "event_types": ["*"]})) == {
        "url": "private-address"
    }
    assert ok(api.get("/webhooks"))["items"] == []


def test_the_test_ping_goes_through_the_delivery_path(api, db, receiver) -> None:
    hook = create(api, receiver.url, active=False)  # pings also reach inactive subscriptions
    receiver.secrets.append(hook["secret"])
    queued = ok(api.post(f"/webhooks/{hook['id']}/test"), 202)
    assert queued["status"] == "pending" and queued["event_type"] == "webhook.test"
    assert run_worker(db) >= 1
    [arrival] = receiver.arrivals
    assert arrival.verified and arrival.webhook_id == queued["webhook_id"]
    assert arrival.payload["type"] == "webhook.test"
    assert arrival.payload["data"]["subscription_id"] == hook["id"]
    done = ok(api.get(f"/webhook-deliveries/{queued['id']}"))
    assert done["status"] == "delivered" and done["attempts"] == 1
    assert done["response_status"] == 200 and done["delivered_at"]


def test_the_delivery_log_is_keyset_paginated_newest_first(api, db, tenant, receiver) -> None:
    hook = create(api, receiver.url)
    with unit_of_work(session_factory(db.engine)) as session:
        ids = [
            webhooks.send_to_subscription(
                tenant.ctx(session),
                subscription_id=hook["id"],
                event_type="contact.created",
                payload={"i": i},
                key=f"page:{i}",
            )
            for i in range(5)
        ]
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = ok(api.get(f"/webhooks/{hook['id']}/deliveries", params=params))
        seen += [d["id"] for d in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True) and pages == 3
    first = ok(api.get(f"/webhooks/{hook['id']}/deliveries", params={"limit": 1}))["items"][0]
    assert first["payload"] == {
        "type": "contact.created",
        "timestamp": first["payload"]["timestamp"],
        "data": {"i": 4},
    }
    assert ok(api.get(f"/webhooks/{hook['id']}/deliveries?status=dead"))["items"] == []
    r = api.get(f"/webhooks/{hook['id']}/deliveries", params={"cursor": "garbage!"})
    assert invalid(r) == {"cursor": "cursor"}


def test_a_dead_delivery_can_be_retried_and_nothing_else(api, db, receiver, monkeypatch) -> None:
    monkeypatch.setattr(webhooks, "RETRY_SCHEDULE", ())  # one attempt, then dead
    hook = create(api, receiver.url)
    receiver.secrets.append(hook["secret"])
    receiver.fail(1, status=500)
    queued = ok(api.post(f"/webhooks/{hook['id']}/test"), 202)
    run_worker(db)
    dead = ok(api.get(f"/webhook-deliveries/{queued['id']}"))
    assert dead["status"] == "dead" and dead["attempts"] == 1 and dead["response_status"] == 500
    log = ok(api.get(f"/webhooks/{hook['id']}/deliveries", params={"status": "dead"}))
    assert [d["id"] for d in log["items"]] == [queued["id"]]

    again = ok(api.post(f"/webhook-deliveries/{queued['id']}/retry"))
    assert again["status"] == "pending" and again["webhook_id"] == queued["webhook_id"]
    problem(api.post(f"/webhook-deliveries/{queued['id']}/retry"), 409, "invalid-transition")
    run_worker(db)
    done = ok(api.get(f"/webhook-deliveries/{queued['id']}"))
    assert done["status"] == "delivered" and done["attempts"] == 2
    assert receiver.ids() == [queued["webhook_id"]] * 2
    problem(api.post(f"/webhook-deliveries/{queued['id']}/retry"), 409, "invalid-transition")


def test_delete_removes_the_subscription(api, receiver) -> None:
    hook = create(api, receiver.url)
    assert api.delete(f"/webhooks/{hook['id']}").status_code == 204
    problem(api.get(f"/webhooks/{hook['id']}"), 404, "not-found")
    problem(api.delete(f"/webhooks/{hook['id']}"), 404, "not-found")


def test_another_workspaces_webhooks_answer_like_missing_ones(
    api, db, server, tenant, other_tenant, receiver
) -> None:
    hook = create(api, receiver.url)
    with unit_of_work(session_factory(db.engine)) as session:
        delivery_id = webhooks.send_to_subscription(
            tenant.ctx(session),
            subscription_id=hook["id"],
            event_type="contact.created",
            payload={},
            key="iso",
        )
    mine = ok(api.get(f"/webhooks/{hook['id']}"))
    with client_for(server, other_tenant.owner.token) as theirs:
        for method, path, body in [
            ("GET", f"/webhooks/{hook['id']}", None),
            ("PATCH", f"/webhooks/{hook['id']}", {"active": False}),
            ("DELETE", f"/webhooks/{hook['id']}", None),
            ("POST", f"/webhooks/{hook['id']}/rotate-secret", None),
            ("POST", f"/webhooks/{hook['id']}/test", None),
            ("GET", f"/webhooks/{hook['id']}/deliveries", None),
            ("GET", f"/webhook-deliveries/{delivery_id}", None),
            ("POST", f"/webhook-deliveries/{delivery_id}/retry", None),
        ]:
            r = theirs.request(method, path, json=body, headers={"If-Match": '"1"'})
            problem(r, 404, "not-found")
        assert ok(theirs.get("/webhooks"))["items"] == []
    assert ok(api.get(f"/webhooks/{hook['id']}")) == mine  # nothing of mine changed


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_only_admins_and_owners_manage_webhooks(api, db, server, tenant, role, receiver) -> None:
    hook = create(api, receiver.url)
    with unit_of_work(session_factory(db.engine)) as session:
        delivery_id = webhooks.send_to_subscription(
            tenant.ctx(session),
            subscription_id=hook["id"],
            event_type="contact.created",
            payload={},
            key="roles",
        )
    with client_for(server, tenant.member(role).token) as other:
        for method, path, body in [
            ("POST", "/webhooks", {"url": receiver.url, "event_types": ["*"]}),
            ("PATCH", f"/webhooks/{hook['id']}", {"active": False}),
            ("DELETE", f"/webhooks/{hook['id']}", None),
            ("POST", f"/webhooks/{hook['id']}/rotate-secret", None),
            ("POST", f"/webhooks/{hook['id']}/test", None),
            ("POST", f"/webhook-deliveries/{delivery_id}/retry", None),
            ("GET", "/webhooks", None),
            ("GET", f"/webhooks/{hook['id']}/deliveries", None),
        ]:
            r = other.request(method, path, json=body, headers={"If-Match": '"1"'})
            assert problem(r, 403, "forbidden")["details"]["permission"] == "admin"
    with client_for(server, tenant.member(Role.ADMIN).token) as admin:
        ok(admin.post(f"/webhooks/{hook['id']}/rotate-secret"))
    with client_for(server, None) as anonymous:
        problem(anonymous.get("/webhooks"), 401, "not-authenticated")
