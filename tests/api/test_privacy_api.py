"""Personal data over HTTP: access and erasure are for owners and admins, scoped to the
workspace, audited, and erasing twice or a merged-away id answers clearly."""

from __future__ import annotations

from typing import Any

import pytest

from tenure.domain.access import Role
from tests.conftest import client_for

from .helpers import create_contact, get, ok, problem, workspace_rows

NAME = "Zdeněk Quillfeather"
EMAIL = "zdenek@quillmail.example"


@pytest.fixture
def person(api) -> dict[str, Any]:
    contact = create_contact(
        api,
        display_name=NAME,
        emails=[{"email": EMAIL}],
        phones=[{"number": "+420 601 234 567"}],
        notes="Call after 9",
    )
    ok(
        api.post(
            f"/contacts/{contact['id']}/interactions",
            json={"channel": "call", "subject": "Call with Zdeněk", "body": "about invoices"},
        ),
        201,
    )
    return contact


def test_personal_data_answers_everything_stored(api, person) -> None:  # type: ignore[no-untyped-def]
    r = api.get(f"/contacts/{person['id']}/personal-data")
    data = ok(r)
    assert r.headers["cache-control"] == "no-store"
    assert data["contact"]["display_name"] == NAME and data["erased"] is False
    records = data["records"]
    assert records["contact_emails"][0]["email"] == EMAIL
    assert records["contact_phones"][0]["number"] == "+420601234567"
    assert records["interactions"][0]["subject"] == "Call with Zdeněk"
    assert {"contact.created", "interaction.logged"} <= {
        e["type"] for e in records["timeline_events"]
    }
    [entry] = get(api, "/audit", action="contact.personal_data_exported")["items"]
    assert entry["details"] == {"contact_id": person["id"]} and entry["ip"] == "127.0.0.1"


def test_erase_over_http(server, api, tenant, person) -> None:  # type: ignore[no-untyped-def]
    body = ok(api.post(f"/contacts/{person['id']}/erase"))
    assert body["contact_id"] == person["id"] and body["merged_ids"] == []
    assert body["counts"]["contact_emails.contact_id"] == 1
    contact = get(api, f"/contacts/{person['id']}")
    assert contact["display_name"] == "Erased contact"
    assert contact["emails"] == [] and contact["phones"] == [] and contact["notes"] == ""
    timeline = get(api, f"/contacts/{person['id']}/timeline")
    assert timeline["items"][0]["type"] == "contact.erased"
    assert all(e["summary"] in ("[erased]", "Personal data erased") for e in timeline["items"])
    # Twice: a clear 409 that changes nothing.
    before = workspace_rows(server.engine, tenant.workspace_id)
    problem(api.post(f"/contacts/{person['id']}/erase"), 409, "conflict")
    assert workspace_rows(server.engine, tenant.workspace_id) == before
    # The audit log says that it happened (and who, from where), never what.
    [entry] = get(api, "/audit", action="contact.erased")["items"]
    assert entry["details"] == {"contact_id": person["id"]}
    assert entry["actor_email"] == tenant.owner.email
    assert entry["source"] == "api" and entry["ip"] == "127.0.0.1"
    assert NAME not in str(get(api, "/audit"))
    data = get(api, f"/contacts/{person['id']}/personal-data")
    assert data["erased"] is True and NAME not in str(data) and EMAIL not in str(data)


def test_a_merged_away_id_answers_with_its_pointer(api) -> None:  # type: ignore[no-untyped-def]
    survivor = create_contact(api, display_name=NAME)
    other = create_contact(api, display_name="Zdenek Quillfeather")
    ok(api.post(f"/contacts/{survivor['id']}/merge", json={"other_id": other["id"]}))
    for r in (
        api.post(f"/contacts/{other['id']}/erase"),
        api.get(f"/contacts/{other['id']}/personal-data"),
    ):
        assert problem(r, 410, "contact-merged")["details"]["merged_into"] == survivor["id"]
    body = ok(api.post(f"/contacts/{survivor['id']}/erase"))
    assert body["merged_ids"] == [other["id"]]


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_may_not(server, api, tenant, person, role) -> None:  # type: ignore[no-untyped-def]
    before = workspace_rows(server.engine, tenant.workspace_id)
    with client_for(server, tenant.member(role).token) as c:
        problem(c.post(f"/contacts/{person['id']}/erase"), 403, "forbidden")
        problem(c.get(f"/contacts/{person['id']}/personal-data"), 403, "forbidden")
    after = workspace_rows(server.engine, tenant.workspace_id)
    assert {k: v for k, v in after.items() if k not in ("memberships", "users", "api_tokens")} == {
        k: v for k, v in before.items() if k not in ("memberships", "users", "api_tokens")
    }


def test_admins_may(server, tenant, person) -> None:  # type: ignore[no-untyped-def]
    with client_for(server, tenant.member(Role.ADMIN).token) as c:
        ok(c.get(f"/contacts/{person['id']}/personal-data"))
        ok(c.post(f"/contacts/{person['id']}/erase"))


def test_another_workspace_gets_404(server, person, other_tenant) -> None:  # type: ignore[no-untyped-def]
    with client_for(server, other_tenant.owner.token) as c:
        problem(c.post(f"/contacts/{person['id']}/erase"), 404, "not-found")
        problem(c.get(f"/contacts/{person['id']}/personal-data"), 404, "not-found")
        for bad in ("0", "99999999999999999999", "x"):
            r = c.post(f"/contacts/{bad}/erase")
            assert r.status_code in (404, 422), r.text
    with client_for(server, None) as c:
        problem(c.post(f"/contacts/{person['id']}/erase"), 401)
