"""The search, duplicates and merge endpoints over HTTP, and their CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tenure.cli.main import app as cli_app
from tenure.config import get_settings
from tenure.domain.access import Role
from tests.conftest import client_for

from .helpers import create_contact, get, invalid, ok, patch, problem, timeline_types


@pytest.fixture
def world(api) -> dict[str, dict]:
    acme = create_contact(api, kind="organization", display_name="Acme Roofing")
    john = create_contact(
        api,
        given_name="John",
        family_name="Smith",
        emails=[{"email": "john@acme-roofing.io"}],
        phones=[{"number": "+442079460958"}],
        organizations=[{"organization_id": acme["id"]}],
        notes="Asked about a skylight for the loft.",
    )
    jon = create_contact(
        api,
        given_name="Jon",
        family_name="Smith",
        emails=[{"email": "john+crm@acme-roofing.io"}],
        phones=[{"number": "+442079460958"}],
        organizations=[{"organization_id": acme["id"]}],
        tags=["newsletter"],
    )
    jose = create_contact(api, given_name="José", family_name="Núñez")
    ok(
        api.post(
            f"/contacts/{john['id']}/interactions",
            json={
                "channel": "call",
                "direction": "inbound",
                "subject": "Skylight quote",
                "body": "Wants a quote for two skylights before winter.",
            },
        ),
        201,
    )
    return {"acme": acme, "john": john, "jon": jon, "jose": jose}


def test_search_contacts(api, world) -> None:
    body = get(api, "/search/contacts", q="jose nunez")
    assert [i["contact"]["id"] for i in body["items"]] == [world["jose"]["id"]]
    item = body["items"][0]
    assert item["matched"] == "prefix" and 50 <= item["score"] <= 100
    assert item["contact"]["display_name"] == "José Núñez"
    typo = get(api, "/search/contacts", q="jonh smiht")["items"]
    assert {i["contact"]["id"] for i in typo} >= {world["john"]["id"]}
    assert all(i["matched"] == "fuzzy" and i["score"] < 50 for i in typo)
    assert get(api, "/search/contacts", q="+44 20 7946")["items"]


def test_full_text_search(api, world) -> None:
    items = get(api, "/search", q="skylight")["items"]
    assert {(i["kind"], i["contact_id"]) for i in items} == {
        ("interaction", world["john"]["id"]),
        ("note", world["john"]["id"]),
    }
    for item in items:
        assert set(item) == {"kind", "id", "contact_id", "title", "snippet", "score"}
        assert "**skylight" in item["snippet"].lower()
    assert [i["kind"] for i in get(api, "/search", q="skylight", kind="note")["items"]] == ["note"]
    assert get(api, "/search", q="skylight", contact_id=world["jon"]["id"])["items"] == []
    contacts = get(api, "/search", q="smith", kind="contact")["items"]
    assert {i["id"] for i in contacts} == {world["john"]["id"], world["jon"]["id"]}
    assert get(api, "/search", q="skylight", limit=1)["items"][0]["kind"] in {"interaction", "note"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "a", "kind": "meeting"}, "kind"),
        ({"q": "a", "limit": 0}, "limit"),
        ({"q": "a", "limit": 201}, "limit"),
        ({"q": "a", "contact_id": "x"}, "contact_id"),
    ],
)
def test_search_input_is_checked(api, params, field) -> None:
    assert field in invalid(api.get("/search", params=params))


def test_odd_queries_never_fail(api, world) -> None:
    for q in ['jo*"; DROP TABLE contacts; --', "NEAR(a b)", "title:x", "'", "🚀" * 50, "%_"]:
        assert ok(api.get("/search", params={"q": q}))["items"] == []
        ok(api.get("/search/contacts", params={"q": q}))
        ok(api.get("/contacts", params={"q": q}))


def test_the_contact_list_q_is_one_ranked_page(api, world) -> None:
    page = get(api, "/contacts", q="smith", limit=1)
    assert len(page["items"]) == 1 and page["next_cursor"] is None
    page = get(api, "/contacts", q="acme", kind="organization")
    assert [c["id"] for c in page["items"]] == [world["acme"]["id"]]
    cursor = get(api, "/contacts", limit=1)["next_cursor"]
    assert "cursor" in invalid(api.get("/contacts", params={"q": "smith", "cursor": cursor}))


def test_searches_stay_in_their_workspace(api, server, world, other_tenant) -> None:
    with client_for(server, other_tenant.owner.token) as theirs:
        create_contact(theirs, given_name="John", family_name="Smithers")
        assert get(theirs, "/search", q="skylight")["items"] == []
        assert [
            i["contact"]["display_name"] for i in get(theirs, "/search/contacts", q="smi")["items"]
        ] == ["John Smithers"]
        problem(theirs.get("/search", params={"q": "a", "contact_id": world["john"]["id"]}), 404)
        problem(theirs.get(f"/contacts/{world['john']['id']}/duplicates"), 404)
        problem(theirs.post(f"/contacts/{world['john']['id']}/merge", json={"other_id": 1}), 404)
    assert "Smithers" not in {
        i["contact"]["family_name"] for i in get(api, "/search/contacts", q="smi")["items"]
    }


def test_duplicates(api, world) -> None:
    john, jon = world["john"]["id"], world["jon"]["id"]
    items = get(api, f"/contacts/{john}/duplicates")["items"]
    assert [(i["a"]["id"], i["b"]["id"]) for i in items] == [(john, jon)]
    reasons = {r["code"] for r in items[0]["reasons"]}
    assert {"same-email", "same-phone", "similar-name", "same-organization"} <= reasons
    assert items[0]["score"] >= 90
    assert all(r["detail"] and isinstance(r["weight"], int) for r in items[0]["reasons"])
    page = get(api, "/duplicates")
    assert [{p["a"]["id"], p["b"]["id"]} for p in page["items"]] == [{john, jon}]
    assert page["next_cursor"] is None
    assert all(p["score"] == 100 for p in get(api, "/duplicates", min_score=100)["items"])
    assert get(api, f"/contacts/{world['jose']['id']}/duplicates", min_score=0)["items"] == []
    assert "min_score" in invalid(api.get("/duplicates", params={"min_score": 101}))
    assert "cursor" in invalid(api.get("/duplicates", params={"cursor": "nope"}))


def test_merge_and_the_old_id(api, world) -> None:
    john, jon = world["john"]["id"], world["jon"]["id"]
    r = api.post(
        f"/contacts/{john}/merge", json={"other_id": jon, "fields": {"display_name": "other"}}
    )
    body = ok(r)
    assert r.headers["etag"] == f'"{body["survivor"]["version"]}"'
    survivor = body["survivor"]
    assert survivor["id"] == john and survivor["display_name"] == "Jon Smith"
    assert {e["email"] for e in survivor["emails"]} == {
        "john@acme-roofing.io",
        "john+crm@acme-roofing.io",
    }
    assert survivor["tags"] == ["newsletter"]
    assert body["other_id"] == jon and body["fields"]["display_name"] == "other"
    assert body["moved"]["timeline_events.contact_id"] >= 1
    assert "contact.merged" in timeline_types(api, john)
    # the old id answers 410 with a pointer, wherever it is used
    gone = problem(api.get(f"/contacts/{jon}"), 410, "contact-merged")
    assert gone["details"]["merged_into"] == john
    assert str(john) in gone["detail"]
    problem(api.get(f"/contacts/{jon}/timeline"), 410, "contact-merged")
    problem(patch(api, f"/contacts/{john}", {"notes": "x"}, if_match='"1"'), 412)
    problem(api.patch(f"/contacts/{jon}", json={"notes": "x"}, headers={"If-Match": '"1"'}), 410)
    problem(api.post(f"/contacts/{john}/merge", json={"other_id": jon}), 410, "contact-merged")
    # gone from lists, searches and duplicates
    assert jon not in {c["id"] for c in get(api, "/contacts", limit=200)["items"]}
    assert jon not in {i["contact"]["id"] for i in get(api, "/search/contacts", q="smith")["items"]}
    assert get(api, "/duplicates")["items"] == []
    types = get(api, "/problems")
    assert "contact-merged" in json.dumps(types)


def test_merge_input_and_roles(api, server, tenant, world) -> None:
    john, jon, acme = world["john"]["id"], world["jon"]["id"], world["acme"]["id"]
    assert "other_id" in invalid(api.post(f"/contacts/{john}/merge", json={}))
    assert "other_id" in invalid(api.post(f"/contacts/{john}/merge", json={"other_id": john}))
    assert "other_id" in invalid(api.post(f"/contacts/{john}/merge", json={"other_id": acme}))
    fields = invalid(
        api.post(f"/contacts/{john}/merge", json={"other_id": jon, "fields": {"emails": "other"}})
    )
    assert any(f.startswith("fields") for f in fields)
    assert "fields.display_name" in invalid(
        api.post(
            f"/contacts/{john}/merge", json={"other_id": jon, "fields": {"display_name": "both"}}
        )
    )
    problem(api.post(f"/contacts/{john}/merge", json={"other_id": 10**12}), 404)
    viewer = tenant.member(Role.VIEWER)
    with client_for(server, viewer.token) as as_viewer:
        assert get(as_viewer, "/search", q="skylight")["items"]
        assert get(as_viewer, "/duplicates")["items"]
        problem(as_viewer.post(f"/contacts/{john}/merge", json={"other_id": jon}), 403)
    member = tenant.member(Role.MEMBER)
    with client_for(server, member.token) as as_member:
        ok(as_member.post(f"/contacts/{john}/merge", json={"other_id": jon}))


# --- the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def cli(db, monkeypatch):
    monkeypatch.setenv("TENURE_DATABASE_URL", db.url)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli_app, list(args))
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    yield run
    get_settings.cache_clear()


def test_cli_search_reindex_and_merged_contacts(api, world, cli) -> None:
    out = json.loads(cli("search", "skylight", "--json"))
    assert {i["kind"] for i in out["items"]} == {"interaction", "note"}
    out = json.loads(cli("search", "jose", "--kind", "contact", "--json"))
    assert [i["id"] for i in out["items"]] == [world["jose"]["id"]]
    assert "Núñez" in cli("search", "nunez")
    assert "nothing found" in cli("search", "zzzzzz")
    assert "1 documents indexed" in cli("search", "reindex") or "indexed" in cli(
        "search", "reindex"
    )
    assert json.loads(cli("search", "skylight", "--json"))["items"]
    john, jon = world["john"]["id"], world["jon"]["id"]
    ok(api.post(f"/contacts/{john}/merge", json={"other_id": jon}))
    shown = cli("contacts", "show", str(jon), code=3)
    assert f"merged into contact {john}" in shown
