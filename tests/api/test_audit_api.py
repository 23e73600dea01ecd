"""GET /audit: admins read the append-only log newest first, paged and filtered; logins,
tokens, roles, settings, webhooks, rules and erasures are in it."""

from __future__ import annotations

import httpx
import pytest

from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.services import access, audit
from tests.conftest import client_for
from tests.web.conftest import PASSWORD, set_password

from .helpers import create_contact, get, invalid, ok, problem, walk


def test_the_log_pages_newest_first_and_filters(server, api, tenant) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory(server.engine)) as session:
        ctx = tenant.ctx(session)
        for n in range(7):
            audit.log(ctx, "test.event", n=n)
        audit.log(ctx, "other.event")
    items, pages = walk(api, "/audit", limit=3, action="test.event")
    assert [i["details"]["n"] for i in items] == [6, 5, 4, 3, 2, 1, 0] and pages == 3
    assert all(i["action"] == "test.event" and i["source"] == "test" for i in items)
    assert items[0]["actor_id"] == tenant.owner.user_id
    assert items[0]["actor_email"] == tenant.owner.email
    everything, _ = walk(api, "/audit", limit=200)
    ids = [i["id"] for i in everything]
    assert ids == sorted(ids, reverse=True)
    assert {i["action"] for i in everything} == {"other.event", "test.event"}
    assert get(api, "/audit", action="nothing.here")["items"] == []


def test_bad_queries_are_422(api) -> None:  # type: ignore[no-untyped-def]
    assert "limit" in str(invalid(api.get("/audit", params={"limit": 0})))
    assert "limit" in str(invalid(api.get("/audit", params={"limit": 201})))
    invalid(api.get("/audit", params={"cursor": "not-a-cursor"}))
    invalid(api.get("/audit", params={"action": "DROP TABLE"}))


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_only_admins_read_it(server, tenant, role) -> None:  # type: ignore[no-untyped-def]
    with client_for(server, tenant.member(role).token) as c:
        problem(c.get("/audit"), 403, "forbidden")
    with client_for(server, tenant.member(Role.ADMIN).token) as c:
        ok(c.get("/audit"))


def test_workspaces_see_their_own_entries_only(server, api, tenant, other_tenant) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory(server.engine)) as session:
        audit.log(other_tenant.ctx(session), "secret.event")
    items, _ = walk(api, "/audit", limit=200)
    assert "secret.event" not in {i["action"] for i in items}


def test_logins_succeeded_and_failed_are_audited(server, api, tenant, db) -> None:  # type: ignore[no-untyped-def]
    set_password(db, tenant.owner.email)
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=30) as c:
        bad = c.post("/login", data={"email": tenant.owner.email, "password": "nope", "next": "/"})
        assert bad.status_code != 303
        good = c.post("/login", data={"email": tenant.owner.email, "password": PASSWORD})
        assert good.status_code == 303, good.text
    [failed] = get(api, "/audit", action="login.failed")["items"]
    assert failed["ip"] == "127.0.0.1" and failed["details"]["email"] == tenant.owner.email
    assert "nope" not in str(failed)  # never the password
    [succeeded] = get(api, "/audit", action="login.succeeded")["items"]
    assert succeeded["actor_id"] == tenant.owner.user_id and succeeded["source"] == "ui"


def test_administrative_changes_are_audited(server, api, tenant) -> None:  # type: ignore[no-untyped-def]
    member = tenant.member(Role.MEMBER)
    with unit_of_work(session_factory(server.engine)) as session:
        ctx = tenant.ctx(session)
        access.invite_member(ctx, email="newcomer@acme.example", role=Role.MEMBER)
        access.change_role(ctx, member.user_id, Role.VIEWER)
        new = access.issue_token(ctx, name="ci")
        access.revoke_token(ctx, new.token.id)
    ok(api.patch("/settings", json={"default_cadence_days": 45}))
    ok(
        api.put(
            "/settings/email",
            json={"host": "127.0.0.1", "port": 2525, "security": "none",
                  "from_address": "hello@acme.example", "password": "s3cret-pass"},
        )
    )  # fmt: skip
    rule = ok(
        api.post(
            "/rules",
            json={
                "name": "Welcome",
                "trigger": {"type": "event", "event": "contact.converted"},
                "actions": [{"type": "create_activity", "title": "Welcome"}],
            },
        ),
        201,
    )
    ok(api.post(f"/rules/{rule['id']}/disable"))
    contact = create_contact(api, display_name="Someone")
    ok(api.post(f"/contacts/{contact['id']}/erase"))
    actions = [i["action"] for i in walk(api, "/audit", limit=200)[0]]
    for expected in (
        "member.added",
        "member.role_changed",
        "token.created",
        "token.revoked",
        "settings.updated",
        "smtp.updated",
        "rule.disabled",
        "contact.erased",
    ):
        assert expected in actions, (expected, actions)
    smtp = get(api, "/audit", action="smtp.updated")["items"][0]
    assert "s3cret-pass" not in str(smtp)  # never a secret
    assert new.secret not in str(get(api, "/audit", action="token.created"))
    [changed] = get(api, "/audit", action="member.role_changed")["items"]
    assert changed["details"]["user"] == member.user_id and changed["details"]["after"] == "viewer"
