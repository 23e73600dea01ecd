"""Workspaces are isolated: another workspace's id answers exactly like a missing id (404), on
every route that takes one, and nothing of the other workspace changes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

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

MISSING = 987_654_321


@dataclass
class World:
    """One workspace's records, made through its own token."""

    person: dict[str, Any]
    organization: dict[str, Any]
    client: dict[str, Any]
    draft: dict[str, Any]
    active: dict[str, Any]
    ended: dict[str, Any]
    interaction: dict[str, Any]


def build_world(api, label: str) -> World:
    org = create_contact(api, kind="organization", display_name=f"{label} Org")
    person = create_contact(
        api,
        display_name=f"{label} Person",
        emails=[{"email": f"person@{label.lower()}.example"}],
        organizations=[{"organization_id": org["id"], "title": "CEO"}],
    )
    client, active = make_client(api, display_name=f"{label} Client")
    _, ended = make_client(api, display_name=f"{label} Former")
    ok(api.post(f"/agreements/{ended['id']}/end", json={"reason": "completed"}))
    draft = create_agreement(api, client["id"], title=f"{label} Draft")
    interaction = ok(
        api.post(f"/contacts/{person['id']}/interactions", json={"channel": "email"}), 201
    )
    return World(person, org, client, draft, active, ended, interaction)


@pytest.fixture
def worlds(api, server, other_tenant):
    mine = build_world(api, "Mine")
    with client_for(server, other_tenant.owner.token) as theirs_api:
        theirs = build_world(theirs_api, "Theirs")
    return mine, theirs


#: Every route that takes an id: (method, path, what the id is, body, needs If-Match).
ROUTES: list[tuple[str, str, str, Any, bool]] = [
    ("GET", "/contacts/{id}", "person", None, False),
    ("PATCH", "/contacts/{id}", "person", {"notes": "hijacked"}, True),
    ("POST", "/contacts/{id}/convert", "person", {}, False),
    ("POST", "/contacts/{id}/end", "client", {"reason": "price"}, False),
    ("GET", "/contacts/{id}/transitions", "client", None, False),
    ("POST", "/contacts/{id}/agreements", "person", {"title": "Hijack"}, False),
    ("GET", "/contacts/{id}/agreements", "client", None, False),
    ("POST", "/contacts/{id}/interactions", "person", {"channel": "call"}, False),
    ("GET", "/contacts/{id}/timeline", "person", None, False),
    ("GET", "/agreements/{id}", "active", None, False),
    ("PATCH", "/agreements/{id}", "draft", {"title": "Hijacked"}, True),
    ("POST", "/agreements/{id}/confirm", "draft", None, False),
    ("POST", "/agreements/{id}/end", "active", {"reason": "price"}, False),
    ("POST", "/agreements/{id}/cancel", "draft", None, False),
    ("GET", "/interactions/{id}", "interaction", None, False),
]


def call(api, method: str, path: str, body: Any, if_match: bool):
    headers = {"If-Match": '"1"'} if if_match else {}
    return api.request(method, path, json=body, headers=headers)


def normalized(r, id_: int) -> tuple[int, str, dict[str, Any]]:
    """Status, content type and body with the id taken out."""
    body = r.json()
    if isinstance(body.get("detail"), str):
        body["detail"] = re.sub(rf"\b{id_}\b", "{id}", body["detail"])
    if isinstance(body.get("details"), dict) and body["details"].get("id") == id_:
        body["details"]["id"] = "{id}"
    return r.status_code, r.headers["content-type"], body


@pytest.mark.parametrize(
    ("method", "path", "kind", "body", "if_match"), ROUTES, ids=[f"{m} {p}" for m, p, *_ in ROUTES]
)
def test_another_workspaces_id_answers_like_a_missing_one(
    api, server, other_tenant, worlds, method, path, kind, body, if_match
) -> None:
    mine, theirs = worlds
    their_id = getattr(theirs, kind)["id"]
    my_id = getattr(mine, kind)["id"]
    assert their_id != my_id
    before = workspace_rows(server.engine, other_tenant.workspace_id)

    r = call(api, method, path.format(id=their_id), body, if_match)
    problem(r, 404, "not-found")
    missing = call(api, method, path.format(id=MISSING), body, if_match)
    assert normalized(r, their_id) == normalized(missing, MISSING)
    assert r.headers.get("etag") is None

    assert workspace_rows(server.engine, other_tenant.workspace_id) == before
    # the same request on one's own record is not a 404: the route itself works
    mine_r = call(api, method, path.format(id=my_id), body, if_match)
    assert mine_r.status_code != 404, mine_r.text


def test_their_records_as_references_answer_like_missing_ones(
    api, server, other_tenant, worlds
) -> None:
    mine, theirs = worlds
    before = workspace_rows(server.engine, other_tenant.workspace_id)
    # their agreement as evidence for my contact
    for evidence_id in (theirs.active["id"], MISSING):
        r = api.post(
            f"/contacts/{mine.person['id']}/convert",
            json={"evidence": {"kind": "agreement", "id": evidence_id}},
        )
        problem(r, 404, "not-found")
    # their organization for my person, their owner as my contact's owner
    answers = []
    for org_id, owner_id in (
        (theirs.organization["id"], other_tenant.owner.user_id),
        (MISSING, MISSING),
    ):
        r = api.post(
            "/contacts",
            json={
                "display_name": "Mixed",
                "organizations": [{"organization_id": org_id}],
                "owner_id": owner_id,
            },
        )
        answers.append((r.status_code, r.json()["errors"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 422
    assert workspace_rows(server.engine, other_tenant.workspace_id) == before
    assert get(api, f"/contacts/{mine.person['id']}")["stage"] == "contact"


def test_lists_and_searches_show_only_ones_own_workspace(api, server, other_tenant, worlds) -> None:
    _, theirs = worlds
    names = {c["display_name"] for c in get(api, "/contacts", limit=200)["items"]}
    assert names == {"Mine Org", "Mine Person", "Mine Client", "Mine Former"}
    assert get(api, "/contacts", q="Theirs")["items"] == []
    assert get(api, "/contacts", q="theirs.example")["items"] == []
    assert get(api, "/contacts", owner_id=other_tenant.owner.user_id)["items"] == []
    with client_for(server, other_tenant.owner.token) as theirs_api:
        their_names = {c["display_name"] for c in get(theirs_api, "/contacts")["items"]}
        assert their_names == {"Theirs Org", "Theirs Person", "Theirs Client", "Theirs Former"}
        # their person's organization list shows only their own organization
        detail = get(theirs_api, f"/contacts/{theirs.person['id']}")
        assert [o["organization_id"] for o in detail["organizations"]] == [
            theirs.organization["id"]
        ]
        me = get(theirs_api, "/me")
        assert me["workspace_id"] == other_tenant.workspace_id


def test_a_cursor_from_another_workspace_reveals_nothing(api, server, other_tenant) -> None:
    with client_for(server, other_tenant.owner.token) as theirs_api:
        for i in range(3):
            create_contact(theirs_api, display_name=f"Theirs {i}")
        page = get(theirs_api, "/contacts", limit=1)
    create_contact(api, display_name="Zed")
    items = get(api, "/contacts", cursor=page["next_cursor"], limit=50)["items"]
    assert [c["display_name"] for c in items] == ["Zed"]


def test_nothing_of_theirs_changes_when_i_work(api, server, other_tenant, worlds) -> None:
    mine, _ = worlds
    before = workspace_rows(server.engine, other_tenant.workspace_id)
    agreement = create_agreement(api, mine.person["id"])
    confirm(api, agreement["id"])
    ok(api.post(f"/contacts/{mine.person['id']}/end", json={"reason": "price"}), 201)
    assert workspace_rows(server.engine, other_tenant.workspace_id) == before
