"""Roles over HTTP: viewers read everything and write nothing (403); members and admins write."""

from __future__ import annotations

from typing import Any

import pytest

from tenure.domain.access import Role
from tests.conftest import client_for

from .helpers import (
    confirm,
    create_agreement,
    create_contact,
    get,
    make_client,
    ok,
    problem,
    workspace_rows,
)


@pytest.fixture
def records(api) -> dict[str, Any]:
    person = create_contact(api, display_name="Viewed")
    client, active = make_client(api, display_name="Client")
    draft = create_agreement(api, person["id"], title="Draft")
    interaction = ok(
        api.post(f"/contacts/{person['id']}/interactions", json={"channel": "note"}), 201
    )
    return {
        "person": person["id"],
        "client": client["id"],
        "active": active["id"],
        "draft": draft["id"],
        "interaction": interaction["id"],
    }


#: Every write route: (method, path, body).
WRITES: list[tuple[str, str, Any]] = [
    ("POST", "/contacts", {"display_name": "New"}),
    ("PATCH", "/contacts/{person}", {"notes": "edited"}),
    ("POST", "/contacts/{person}/convert", {"evidence": {"kind": "agreement", "id": 1}}),
    ("POST", "/contacts/{client}/end", {"reason": "price"}),
    ("POST", "/contacts/{person}/agreements", {"title": "More"}),
    ("PATCH", "/agreements/{draft}", {"title": "Edited"}),
    ("POST", "/agreements/{draft}/confirm", None),
    ("POST", "/agreements/{active}/end", {"reason": "price"}),
    ("POST", "/agreements/{draft}/cancel", None),
    ("POST", "/contacts/{person}/interactions", {"channel": "call"}),
]

#: Every read route.
READS = [
    "/me",
    "/contacts",
    "/contacts/{person}",
    "/contacts/{client}/transitions",
    "/contacts/{client}/agreements",
    "/agreements/{active}",
    "/interactions/{interaction}",
    "/contacts/{person}/timeline",
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_a_viewer_cannot_write(api, server, tenant, records, method, path, body) -> None:
    viewer = tenant.member(Role.VIEWER)
    before = workspace_rows(server.engine, tenant.workspace_id)
    with client_for(server, viewer.token) as as_viewer:
        version = '"1"'
        if method == "PATCH":
            version = api.get(path.format(**records)).headers["etag"]
        r = as_viewer.request(
            method, path.format(**records), json=body, headers={"If-Match": version}
        )
        answer = problem(r, 403, "forbidden")
        assert answer["details"] == {"role": "viewer", "permission": "write"}
    assert workspace_rows(server.engine, tenant.workspace_id) == before


@pytest.mark.parametrize("path", READS)
def test_a_viewer_reads_everything(api, server, tenant, records, path) -> None:
    viewer = tenant.member(Role.VIEWER)
    with client_for(server, viewer.token) as as_viewer:
        as_viewer_answer = ok(as_viewer.get(path.format(**records)))
    if path != "/me":
        assert as_viewer_answer == get(api, path.format(**records))
    else:
        assert as_viewer_answer["role"] == "viewer"
        assert as_viewer_answer["user_id"] == viewer.user_id


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ADMIN, Role.OWNER])
def test_members_admins_and_owners_write(server, tenant, role) -> None:
    user = tenant.member(role)
    with client_for(server, user.token) as as_user:
        assert get(as_user, "/me")["role"] == role.value
        contact = create_contact(as_user, display_name=f"By {role.value}")
        path = f"/contacts/{contact['id']}"
        r = as_user.patch(path, json={"notes": "mine"}, headers={"If-Match": '"1"'})
        assert ok(r)["notes"] == "mine"
        agreement = create_agreement(as_user, contact["id"])
        ok(
            as_user.patch(
                f"/agreements/{agreement['id']}", json={"terms": "t"}, headers={"If-Match": '"1"'}
            )
        )
        confirm(as_user, agreement["id"])
        ok(as_user.post(f"{path}/interactions", json={"channel": "visit"}), 201)
        ok(as_user.post(f"{path}/end", json={"reason": "completed"}), 201)
        spare = create_agreement(as_user, contact["id"], title="Spare")
        ok(as_user.post(f"/agreements/{spare['id']}/cancel"))
        again = create_agreement(as_user, contact["id"], title="Again")
        confirm(as_user, again["id"])
        ok(as_user.post(f"/agreements/{again['id']}/end", json={"reason": "price"}))
        body = get(as_user, path)
        assert body["stage"] == "former_client"
        history = get(as_user, f"{path}/transitions")["items"]
        assert len(history) == 4
        assert {t["actor_id"] for t in history} == {user.user_id}
        events = get(as_user, f"{path}/timeline", limit=200)["items"]
        assert {e["actor_id"] for e in events} == {user.user_id}
