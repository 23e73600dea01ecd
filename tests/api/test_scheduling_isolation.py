"""Isolation and roles on every scheduling route: another workspace's ids are 404 and leave
its records unchanged; viewers cannot write; the services catalog is for admins."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tenure.domain.access import Role
from tests.conftest import Database, Server, Tenant, client_for, make_tenant

START = (datetime.now(UTC) + timedelta(days=5)).replace(hour=9, minute=0, second=0, microsecond=0)
LOCAL_START = START.replace(tzinfo=None)


@pytest.fixture
def tenant(database: Database) -> Tenant:
    """A fresh workspace (workspaces are isolated, so no emptied database is needed)."""
    return make_tenant(database, f"iso-{uuid4().hex[:12]}")


@pytest.fixture
def other_tenant(database: Database) -> Tenant:
    return make_tenant(database, f"iso-b-{uuid4().hex[:12]}")


def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


@dataclass
class World:
    """One workspace's scheduling records, made through its owner's client."""

    contact: dict[str, Any]
    agreement: dict[str, Any]
    service: dict[str, Any]
    activity: dict[str, Any]
    delivery: dict[str, Any]
    requested: dict[str, Any]
    schedule: dict[str, Any]
    case: dict[str, Any]
    feed: dict[str, Any]

    def snapshot(self, c: httpx.Client) -> dict[str, Any]:
        """Everything a foreign request could have changed, as the owner reads it."""
        cid = self.contact["id"]
        # The embedded worker may recompute a client's health at any time (a daily job): that
        # is not a change a request made, so health and the version it bumps are left out.
        contact = {
            k: v
            for k, v in ok(c.get(f"/contacts/{cid}")).items()
            if not k.startswith("health") and k != "version"
        }
        return {
            "contact": contact,
            "timeline": ok(c.get(f"/contacts/{cid}/timeline", params={"limit": 200})),
            "activities": ok(c.get("/activities", params={"limit": 200})),
            "deliveries": ok(c.get("/deliveries", params={"limit": 200})),
            # the worker's daily extension moves materialized_until (and the version) too
            "schedules": [
                {k: v for k, v in x.items() if k not in ("materialized_until", "version")}
                for x in ok(c.get("/schedules"))["items"]
            ],
            "services": ok(c.get("/services")),
            "cases": ok(c.get("/cases")),
            "feeds": ok(c.get("/calendar-feeds")),
            "agreement": ok(c.get(f"/agreements/{self.agreement['id']}")),
        }


def build(c: httpx.Client, name: str) -> World:
    contact = ok(c.post("/contacts", json={"display_name": name}))
    cid = contact["id"]
    agreement = ok(c.post(f"/contacts/{cid}/agreements", json={"title": "Plan"}))
    service = ok(
        c.post(
            "/services",
            json={"name": f"{name} check", "currency": "GBP", "default_price_minor": 100},
        )
    )
    activity = ok(
        c.post(
            "/activities",
            json={
                "kind": "visit",
                "title": "Visit",
                "contact_id": cid,
                "start_at": START.isoformat(),
                "end_at": (START + timedelta(hours=1)).isoformat(),
            },
        )
    )
    delivery = ok(
        c.post(
            "/deliveries",
            json={
                "contact_id": cid,
                "service_id": service["id"],
                "scheduled_start": (START + timedelta(days=1)).isoformat(),
            },
        )
    )
    requested = ok(c.post("/deliveries", json={"contact_id": cid, "title": "Someday"}))
    schedule = ok(
        c.post(
            "/schedules",
            json={
                "contact_id": cid,
                "produces": "delivery",
                "title": "Weekly",
                "rrule": "FREQ=WEEKLY",
                "dtstart": (LOCAL_START + timedelta(days=2)).isoformat(),
                "timezone": "UTC",
            },
        )
    )
    case = ok(c.post("/cases", json={"contact_id": cid, "subject": "Broken"}))
    feed = ok(c.post("/calendar-feeds", json={"scope": "contact", "contact_id": cid}))
    return World(contact, agreement, service, activity, delivery, requested, schedule, case, feed)


def requests_on(w: World, etags: dict[str, str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, kwargs) of every scheduling route that names one of ``w``'s ids."""
    cid, aid, did, rid = w.contact["id"], w.activity["id"], w.delivery["id"], w.requested["id"]
    sid, case, svc, feed = w.schedule["id"], w.case["id"], w.service["id"], w.feed["id"]
    later = (START + timedelta(days=30)).isoformat()
    yield "GET", f"/contacts/{cid}/activities", {}
    yield "GET", "/activities", {"params": {"contact_id": cid}}
    yield "GET", f"/activities/{aid}", {}
    yield (
        "PATCH",
        f"/activities/{aid}",
        {"json": {"title": "x"}, "headers": {"If-Match": etags["activity"]}},
    )
    yield "POST", f"/activities/{aid}/complete", {}
    yield "POST", f"/activities/{aid}/cancel", {}
    yield (
        "POST",
        "/activities",
        {"json": {"kind": "task", "title": "x", "contact_id": cid, "due_at": later}},
    )
    yield "GET", f"/contacts/{cid}/deliveries", {}
    yield "GET", "/deliveries", {"params": {"contact_id": cid}}
    yield "GET", f"/deliveries/{did}", {}
    yield (
        "PATCH",
        f"/deliveries/{did}",
        {"json": {"title": "x"}, "headers": {"If-Match": etags["delivery"]}},
    )
    yield "POST", f"/deliveries/{rid}/schedule", {"json": {"scheduled_start": later}}
    for action in ("start", "deliver", "cancel", "no-show"):
        yield "POST", f"/deliveries/{did}/{action}", {}
    yield "POST", "/deliveries", {"json": {"contact_id": cid, "title": "x"}}
    yield "GET", f"/contacts/{cid}/schedules", {}
    yield "GET", "/schedules", {"params": {"contact_id": cid}}
    yield "GET", f"/schedules/{sid}", {}
    yield (
        "GET",
        f"/schedules/{sid}/occurrences",
        {"params": {"start": START.isoformat(), "end": later}},
    )
    occurrence = (LOCAL_START + timedelta(days=2)).isoformat()
    yield "POST", f"/schedules/{sid}/occurrences/cancel", {"json": {"local_start": occurrence}}
    yield (
        "POST",
        f"/schedules/{sid}/occurrences/move",
        {"json": {"local_start": occurrence, "new_start": later}},
    )
    yield "POST", f"/schedules/{sid}/split", {"json": {"at": occurrence, "title": "x"}}
    yield "POST", f"/schedules/{sid}/stop", {}
    yield (
        "POST",
        "/schedules",
        {
            "json": {
                "contact_id": cid,
                "produces": "delivery",
                "title": "x",
                "rrule": "FREQ=DAILY",
                "dtstart": occurrence,
            }
        },
    )
    yield "GET", f"/services/{svc}", {}
    yield (
        "PATCH",
        f"/services/{svc}",
        {"json": {"name": "x"}, "headers": {"If-Match": etags["service"]}},
    )
    yield "GET", f"/contacts/{cid}/cases", {}
    yield "GET", "/cases", {"params": {"contact_id": cid}}
    yield "GET", f"/cases/{case}", {}
    yield (
        "PATCH",
        f"/cases/{case}",
        {"json": {"subject": "x"}, "headers": {"If-Match": etags["case"]}},
    )
    yield "POST", f"/cases/{case}/respond", {"json": {"body": "hello"}}
    for action in ("pending", "resume", "resolve", "close", "reopen"):
        yield "POST", f"/cases/{case}/{action}", {}
    yield "POST", "/cases", {"json": {"contact_id": cid, "subject": "x"}}
    yield "POST", f"/calendar-feeds/{feed}/revoke", {}
    yield "POST", "/calendar-feeds", {"json": {"scope": "contact", "contact_id": cid}}


def etags_of(c: httpx.Client, w: World) -> dict[str, str]:
    return {
        "activity": c.get(f"/activities/{w.activity['id']}").headers["ETag"],
        "delivery": c.get(f"/deliveries/{w.delivery['id']}").headers["ETag"],
        "service": c.get(f"/services/{w.service['id']}").headers["ETag"],
        "case": c.get(f"/cases/{w.case['id']}").headers["ETag"],
    }


@pytest.fixture
def worlds(
    server: Server, tenant: Tenant, other_tenant: Tenant
) -> Iterator[tuple[httpx.Client, httpx.Client, World, World]]:
    with (
        client_for(server, tenant.owner.token) as a,
        client_for(server, other_tenant.owner.token) as b,
    ):
        yield a, b, build(a, "Alpha"), build(b, "Beta")


def test_another_workspaces_ids_are_404_and_change_nothing(worlds) -> None:
    a, b, world_a, world_b = worlds
    before_b = world_b.snapshot(b)
    before_a = world_a.snapshot(a)
    etags = etags_of(b, world_b)
    tried = 0
    for method, path, kwargs in requests_on(world_b, etags):
        r = a.request(method, path, **kwargs)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert r.json()["code"] == "not-found"
        tried += 1
    assert tried >= 40
    assert world_b.snapshot(b) == before_b
    assert world_a.snapshot(a) == before_a
    # B's feed still works
    assert httpx.get(world_b.feed["url"]).status_code == 200


def test_another_workspaces_ids_in_a_body_are_like_missing_ones(worlds, other_tenant) -> None:
    a, b, world_a, world_b = worlds
    before_b = world_b.snapshot(b)
    cid = world_a.contact["id"]
    start = (START + timedelta(days=60)).isoformat()

    def same_as_missing(path: str, body: dict[str, Any], field: str, foreign: int) -> None:
        missing = a.post(path, json={**body, field: 999_999_999})
        theirs = a.post(path, json={**body, field: foreign})
        assert missing.status_code in (404, 422), missing.text
        assert theirs.status_code == missing.status_code, (path, field, theirs.text)
        assert theirs.json()["code"] == missing.json()["code"]
        if missing.status_code == 422:
            assert [e["field"] for e in theirs.json()["errors"]] == [field]

    delivery = {"contact_id": cid, "title": "x"}
    same_as_missing("/deliveries", delivery, "service_id", world_b.service["id"])
    same_as_missing("/deliveries", delivery, "agreement_id", world_b.agreement["id"])
    same_as_missing("/deliveries", delivery, "assignee_id", other_tenant.owner.user_id)
    plan = {
        "contact_id": cid,
        "produces": "delivery",
        "title": "x",
        "rrule": "FREQ=DAILY",
        "dtstart": (LOCAL_START + timedelta(days=3)).isoformat(),
    }
    same_as_missing("/schedules", plan, "service_id", world_b.service["id"])
    same_as_missing("/schedules", plan, "agreement_id", world_b.agreement["id"])
    same_as_missing("/schedules", plan, "assignee_id", other_tenant.owner.user_id)
    task = {"kind": "task", "title": "x", "due_at": start}
    same_as_missing("/activities", task, "contact_id", world_b.contact["id"])
    same_as_missing("/activities", task, "assignee_id", other_tenant.owner.user_id)
    same_as_missing(
        "/cases", {"contact_id": cid, "subject": "x"}, "assignee_id", other_tenant.owner.user_id
    )
    # a delivery of B is not evidence A can use
    r = a.post(
        f"/contacts/{cid}/convert",
        json={"evidence": {"kind": "delivery", "id": world_b.delivery["id"]}},
    )
    assert r.status_code == 404
    assert world_b.snapshot(b) == before_b


def test_lists_agenda_and_feeds_show_only_the_own_workspace(worlds) -> None:
    a, _, world_a, world_b = worlds
    assert {x["id"] for x in a.get("/activities").json()["items"]} == {world_a.activity["id"]}
    delivery_ids = {x["id"] for x in a.get("/deliveries", params={"limit": 200}).json()["items"]}
    assert world_a.delivery["id"] in delivery_ids
    assert all(
        x["contact_id"] == world_a.contact["id"]
        for x in a.get("/deliveries", params={"limit": 200}).json()["items"]
    )
    assert [x["id"] for x in a.get("/schedules").json()["items"]] == [world_a.schedule["id"]]
    assert [x["id"] for x in a.get("/cases").json()["items"]] == [world_a.case["id"]]
    assert [x["id"] for x in a.get("/services").json()["items"]] == [world_a.service["id"]]
    assert [x["id"] for x in a.get("/calendar-feeds").json()["items"]] == [world_a.feed["id"]]
    agenda = a.get("/agenda", params={"everyone": "true", "days": 30}).json()
    seen = {
        x["contact_id"]
        for bucket in ("overdue", "today", "upcoming")
        for kind in ("activities", "deliveries")
        for x in agenda[bucket][kind]
    }
    assert seen == {world_a.contact["id"]}
    # extending materializes only the own workspace's plans
    before = len(a.get("/deliveries", params={"limit": 200}).json()["items"])
    assert a.post("/schedules/extend", params={"horizon_days": 120}).json()["schedules"] == 1
    assert len(a.get("/deliveries", params={"limit": 200}).json()["items"]) > before
    assert world_b.schedule["id"] not in {
        x["schedule_id"] for x in a.get("/deliveries", params={"limit": 200}).json()["items"]
    }


def test_a_viewer_cannot_write(server, tenant, worlds) -> None:
    a, _, world, _ = worlds
    before = world.snapshot(a)
    etags = etags_of(a, world)
    writes = [(m, p, kw) for m, p, kw in requests_on(world, etags) if m != "GET"]
    writes.append(("POST", "/schedules/extend", {}))
    writes.append(("POST", "/services", {"json": {"name": "new"}}))
    with client_for(server, tenant.member(Role.VIEWER).token) as viewer:
        for method, path, kwargs in writes:
            if path.endswith("/revoke"):
                continue  # checked below: a viewer may revoke its own feed, not others'
            r = viewer.request(method, path, **kwargs)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert r.json()["code"] == "forbidden"
        r = viewer.post(f"/calendar-feeds/{world.feed['id']}/revoke")
        assert r.status_code == 403
        # and it can read everything
        for method, path, kwargs in requests_on(world, etags):
            if method == "GET":
                assert viewer.get(path, **kwargs).status_code == 200, path
        assert viewer.get("/agenda").status_code == 200
    assert len(writes) >= 29
    assert world.snapshot(a) == before


def test_the_services_catalog_is_for_admins(server, tenant, worlds) -> None:
    a, _, world, _ = worlds
    svc = world.service
    etag = a.get(f"/services/{svc['id']}").headers["ETag"]
    with client_for(server, tenant.member(Role.MEMBER).token) as member:
        r = member.post("/services", json={"name": "Member's"})
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        r = member.patch(
            f"/services/{svc['id']}", json={"name": "Renamed"}, headers={"If-Match": etag}
        )
        assert r.status_code == 403
        assert member.get(f"/services/{svc['id']}").json()["name"] == svc["name"]
        assert [s["id"] for s in member.get("/services").json()["items"]] == [svc["id"]]
        # members still use the catalog
        r = member.post(
            "/deliveries", json={"contact_id": world.contact["id"], "service_id": svc["id"]}
        )
        assert r.status_code == 201 and r.json()["title"] == svc["name"]
    with client_for(server, tenant.member(Role.ADMIN).token) as admin:
        r = admin.post("/services", json={"name": "Admin's", "default_duration_minutes": 30})
        assert r.status_code == 201, r.text
        r = admin.patch(
            f"/services/{svc['id']}", json={"active": False}, headers={"If-Match": etag}
        )
        assert r.status_code == 200 and r.json()["active"] is False
        r = admin.post("/services", json={"name": "Admin's"})
        assert r.status_code == 409 and r.json()["code"] == "duplicate-value"
    active = a.get("/services", params={"active": "true"}).json()["items"]
    assert [s["name"] for s in active] == ["Admin's"]
