"""Contacts over HTTP: create, read, list (filters, sorts, keyset pages), update with If-Match."""

from __future__ import annotations

import pytest

from tenure.domain.access import Role
from tests.conftest import client_for

from .helpers import (
    create_contact,
    etag,
    get,
    invalid,
    make_client,
    ok,
    patch,
    problem,
    timeline_types,
    walk,
)


def test_create_person_normalizes_and_answers_with_location_and_etag(api) -> None:
    r = api.post(
        "/contacts",
        json={
            "given_name": "  Grace ",
            "family_name": "Hopper",
            "emails": [
                {"email": "grace@Navy.MIL", "label": "work"},
                {"email": "GH@Example.org", "label": "home", "primary": True},
            ],
            "phones": [{"number": "+1 (202) 555-0143", "label": "mobile"}],
            "address": {"street": "1 Main St", "locality": "Arlington", "postal_code": ""},
            "timezone": "America/New_York",
            "tags": ["  VIP ", "vip", "Key   Account"],
            "notes": "Prefers <b>phone</b> calls",
        },
    )
    body = ok(r, 201)
    assert r.headers["location"] == f"/api/v1/contacts/{body['id']}"
    assert r.headers["etag"] == '"1"'
    assert body["kind"] == "person"
    assert body["display_name"] == "Grace Hopper"
    assert (body["given_name"], body["family_name"]) == ("Grace", "Hopper")
    # the primary one first, lower-cased
    assert body["emails"] == [
        {"email": "gh@example.org", "label": "home", "primary": True},
        {"email": "grace@navy.mil", "label": "work", "primary": False},
    ]
    assert body["phones"] == [{"number": "+12025550143", "label": "mobile", "primary": True}]
    assert body["address"] == {"street": "1 Main St", "locality": "Arlington"}
    assert body["timezone"] == "America/New_York"
    assert body["tags"] == ["vip", "key account"]
    assert body["notes"] == "Prefers <b>phone</b> calls"
    assert body["stage"] == "contact"
    assert body["client_since"] is None
    assert body["tenure_days"] == 0
    assert body["last_interaction_at"] is None
    assert body["version"] == 1
    assert body["organizations"] == [] and body["people"] == []
    assert get(api, f"/contacts/{body['id']}") == body
    assert timeline_types(api, body["id"]) == ["contact.created"]


def test_phone_without_country_code_uses_the_contacts_time_zone(api) -> None:
    body = create_contact(
        api, display_name="Londoner", timezone="Europe/London", phones=[{"number": "020 7946 0018"}]
    )
    assert body["phones"][0]["number"] == "+442079460018"


def test_organization_and_its_people(api, tenant) -> None:
    org = create_contact(api, kind="organization", display_name="Analytical Engines Ltd")
    assert org["kind"] == "organization"
    person = create_contact(
        api,
        given_name="Ada",
        family_name="Lovelace",
        organizations=[{"organization_id": org["id"], "title": "Chief Analyst"}],
    )
    assert person["organizations"] == [
        {
            "organization_id": org["id"],
            "organization_name": "Analytical Engines Ltd",
            "person_id": person["id"],
            "person_name": "Ada Lovelace",
            "title": "Chief Analyst",
        }
    ]
    people = get(api, f"/contacts/{org['id']}")["people"]
    assert [p["person_id"] for p in people] == [person["id"]]
    # a person is not a client because their organization is one
    make_client_org = api.post(f"/contacts/{org['id']}/agreements", json={"title": "Audit"})
    ok(api.post(f"/agreements/{ok(make_client_org, 201)['id']}/confirm"))
    assert get(api, f"/contacts/{org['id']}")["stage"] == "client"
    assert get(api, f"/contacts/{person['id']}")["stage"] == "contact"


def test_organization_rules(api) -> None:
    org = create_contact(api, kind="organization", display_name="Org")
    other = create_contact(api, display_name="Not an org")
    r = api.post(
        "/contacts",
        json={"kind": "organization", "display_name": "Org 2", "given_name": "Bob"},
    )
    assert invalid(r) == {"given_name": "person-only"}
    r = api.post(
        "/contacts",
        json={
            "kind": "organization",
            "display_name": "Org 3",
            "organizations": [{"organization_id": org["id"]}],
        },
    )
    assert invalid(r) == {"organizations": "person-only"}
    r = api.post(
        "/contacts",
        json={
            "display_name": "P",
            "organizations": [{"organization_id": other["id"]}, {"organization_id": 999999}],
        },
    )
    assert invalid(r) == {
        "organizations[0].organization_id": "organization",
        "organizations[1].organization_id": "organization",
    }


def test_get_answers_etag_and_404_for_missing(api) -> None:
    c = create_contact(api)
    r = api.get(f"/contacts/{c['id']}")
    assert r.headers["etag"] == '"1"'
    body = problem(api.get("/contacts/987654"), 404, "not-found")
    assert "987654" in body["detail"]
    problem(api.get("/contacts/0"), 404, "not-found")
    invalid(api.get("/contacts/abc"))


def test_owner_must_be_a_member(api, tenant) -> None:
    member = tenant.member(Role.MEMBER)
    c = create_contact(api, display_name="Owned", owner_id=member.user_id)
    assert c["owner_id"] == member.user_id
    r = api.post("/contacts", json={"display_name": "X", "owner_id": 424242})
    assert invalid(r) == {"owner_id": "member"}


def test_validation_lists_every_bad_field_and_creates_nothing(api) -> None:
    before = get(api, "/contacts")["items"]
    r = api.post(
        "/contacts",
        json={
            "emails": [{"email": "not-an-email"}, {"email": "ok@example.com"}],
            "phones": [{"number": "12"}, {"number": "hello"}],
            "timezone": "Mars/Olympus_Mons",
            "tags": ["ok", "   ", "x" * 51],
        },
    )
    errors = invalid(r)
    assert errors == {
        "display_name": "required",
        "emails[0].email": "email",
        "phones[0].number": "phone",
        "phones[1].number": "phone",
        "timezone": "timezone",
        "tags[1]": "required",
        "tags[2]": "max-length",
    }
    assert get(api, "/contacts")["items"] == before


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"display_name": "X", "colour": "red"}, "colour", "extra_forbidden"),
        ({"display_name": "X", "emails": [{"email": "a@b.co", "typo": 1}]}, "emails[0].typo", None),
        ({"display_name": "X", "kind": "robot"}, "kind", "enum"),
        ({"display_name": "X" * 301}, "display_name", "string_too_long"),
        ({"display_name": "X", "emails": "a@b.co"}, "emails", "list_type"),
        ({"display_name": "X", "tags": [1, 2]}, "tags[0]", "string_type"),
        ({"display_name": "X", "owner_id": "me"}, "owner_id", "int_parsing"),
        ({"display_name": 12}, "display_name", "string_type"),
        ({"display_name": "X", "emails": [{"email": "a@b.co", "primary": "maybe"}]}, None, None),
        ({"display_name": "X", "timezone": "utc"}, "timezone", "timezone"),
        ({"display_name": "X", "timezone": ""}, None, None),
        ({"display_name": "X", "emails": [{"email": "a@@b.co"}]}, "emails[0].email", "email"),
        ({"display_name": "X", "emails": [{"email": "a@b"}]}, "emails[0].email", "email"),
        (
            {"display_name": "X", "emails": [{"email": "A@b.co"}, {"email": "a@B.co"}]},
            "emails[1].email",
            "unique",
        ),
        (
            {
                "display_name": "X",
                "emails": [
                    {"email": "a@b.co", "primary": True},
                    {"email": "c@b.co", "primary": True},
                ],
            },
            "emails",
            "one-primary",
        ),
        ({"display_name": "X", "phones": [{"number": "+1 555"}]}, "phones[0].number", "phone"),
        ({"display_name": "X", "phones": [{"number": "555-0143"}]}, "phones[0].number", "phone"),
    ],
)
def test_bad_fields_name_the_field_and_rule(api, body, field, rule) -> None:
    r = api.post("/contacts", json=body)
    if field is None and rule is None:
        # accepted (a valid variant) or refused with a field error, never anything else
        assert r.status_code in (201, 422), r.text
        if r.status_code == 422:
            invalid(r)
        return
    errors = invalid(r)
    assert field in errors, errors
    if rule is not None:
        assert errors[field] == rule


def test_duplicate_email_in_a_workspace_is_a_conflict_but_not_across_workspaces(
    api, server, other_tenant
) -> None:
    first = create_contact(api, display_name="First", emails=[{"email": "shared@example.com"}])
    r = api.post(
        "/contacts", json={"display_name": "Second", "emails": [{"email": "SHARED@example.com"}]}
    )
    body = problem(r, 409, "duplicate-value")
    assert body["details"]["values"] == ["shared@example.com"]
    # another contact may not take it by update either, but its holder may keep it
    second = create_contact(api, display_name="Second")
    r = patch(api, f"/contacts/{second['id']}", {"emails": [{"email": "shared@example.com"}]})
    problem(r, 409, "duplicate-value")
    r = patch(
        api,
        f"/contacts/{first['id']}",
        {"emails": [{"email": "shared@example.com"}, {"email": "first@example.com"}]},
    )
    assert ok(r)["emails"][1]["email"] == "first@example.com"
    with client_for(server, other_tenant.owner.token) as other:
        elsewhere = create_contact(
            other, display_name="Elsewhere", emails=[{"email": "shared@example.com"}]
        )
        assert elsewhere["emails"][0]["email"] == "shared@example.com"
    # a released email can be used again
    ok(patch(api, f"/contacts/{first['id']}", {"emails": []}))
    create_contact(api, display_name="Third", emails=[{"email": "shared@example.com"}])


# --- list --------------------------------------------------------------------------------------


@pytest.fixture
def people(api, tenant):
    member = tenant.member(Role.MEMBER)
    alice = create_contact(
        api,
        display_name="alice Archer",
        emails=[{"email": "alice@archery.example"}],
        tags=["VIP"],
        owner_id=member.user_id,
    )
    bob = create_contact(
        api, display_name="Bob Bowman", phones=[{"number": "+44 20 7946 0958"}], tags=["lead"]
    )
    carol, _ = make_client(api, display_name="Carol Cooper", tags=["vip", "lead"])
    acme = create_contact(api, kind="organization", display_name="ACME 100% Ltd")
    return {"alice": alice, "bob": bob, "carol": carol, "acme": acme, "owner": member}


def names(page) -> list[str]:
    return [c["display_name"] for c in page["items"]]


def test_list_sorts_by_name_case_insensitively(api, people) -> None:
    page = get(api, "/contacts")
    assert names(page) == ["ACME 100% Ltd", "alice Archer", "Bob Bowman", "Carol Cooper"]
    assert page["next_cursor"] is None
    assert names(get(api, "/contacts", sort="-name")) == [
        "Carol Cooper",
        "Bob Bowman",
        "alice Archer",
        "ACME 100% Ltd",
    ]
    ids = [c["id"] for c in get(api, "/contacts", sort="created")["items"]]
    assert ids == sorted(ids)
    assert [c["id"] for c in get(api, "/contacts", sort="-created")["items"]] == ids[::-1]
    # list items are the detail without the affiliation lists
    item = get(api, "/contacts", q="carol")["items"][0]
    detail = get(api, f"/contacts/{item['id']}")
    assert item["organizations"] is None and item["people"] is None
    assert {k: v for k, v in detail.items() if k not in ("organizations", "people")} == {
        k: v for k, v in item.items() if k not in ("organizations", "people")
    }


def test_list_filters(api, people) -> None:
    assert names(get(api, "/contacts", stage="client")) == ["Carol Cooper"]
    assert names(get(api, "/contacts", stage="former_client")) == []
    assert names(get(api, "/contacts", tag="Vip")) == ["alice Archer", "Carol Cooper"]
    assert names(get(api, "/contacts", tag="vip", stage="contact")) == ["alice Archer"]
    assert names(get(api, "/contacts", owner_id=people["owner"].user_id)) == ["alice Archer"]
    assert names(get(api, "/contacts", kind="organization")) == ["ACME 100% Ltd"]
    assert names(get(api, "/contacts", q="COOP")) == ["Carol Cooper"]
    assert names(get(api, "/contacts", q="archery.example")) == ["alice Archer"]
    assert names(get(api, "/contacts", q="7946 0958")) == ["Bob Bowman"]
    assert names(get(api, "/contacts", q="100%")) == ["ACME 100% Ltd"]
    assert names(get(api, "/contacts", q="%")) == ["ACME 100% Ltd"]
    assert names(get(api, "/contacts", q="_")) == []
    assert names(get(api, "/contacts", q="nobody")) == []
    assert names(get(api, "/contacts", tag="nothing")) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"stage": "prospect"}, "stage"),
        ({"kind": "robot"}, "kind"),
        ({"sort": "email"}, "sort"),
        ({"owner_id": "me"}, "owner_id"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "x" * 501}, "cursor"),
        ({"q": "x" * 201}, "q"),
        ({"tag": "x" * 51}, "tag"),
    ],
)
def test_list_refuses_bad_parameters(api, people, params, field) -> None:
    assert field in invalid(api.get("/contacts", params=params))


def test_list_pages_cover_everything_once_in_every_sort(api) -> None:
    # duplicate names so that the id breaks ties across page boundaries
    for i in range(23):
        create_contact(api, display_name=f"Person {i % 7:02d}", tags=["bulk"])
    for sort in ("name", "-name", "created", "-created"):
        full = get(api, "/contacts", sort=sort, limit=200)["items"]
        assert len(full) == 23
        items, pages = walk(api, "/contacts", sort=sort, limit=4, tag="bulk")
        assert pages == 6
        assert [c["id"] for c in items] == [c["id"] for c in full]
    # a cursor of one sort is refused by an incompatible one rather than misread
    page = get(api, "/contacts", sort="name", limit=2)
    assert "cursor" in invalid(
        api.get("/contacts", params={"sort": "created", "cursor": page["next_cursor"]})
    )


def test_limit_200_is_allowed(api) -> None:
    create_contact(api)
    assert len(get(api, "/contacts", limit=200)["items"]) == 1


# --- update --------------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(api) -> None:
    c = create_contact(
        api,
        given_name="Jo",
        family_name="March",
        emails=[{"email": "jo@example.com"}],
        tags=["writer"],
        notes="first",
    )
    path = f"/contacts/{c['id']}"
    r = api.patch(path, json={"notes": "second", "tags": ["Author"]}, headers={"If-Match": '"1"'})
    body = ok(r)
    assert r.headers["etag"] == '"2"'
    assert body["version"] == 2
    assert body["notes"] == "second"
    assert body["tags"] == ["author"]
    assert body["emails"] == c["emails"]
    assert body["display_name"] == "Jo March"
    assert body["updated_at"] >= c["updated_at"]
    assert body["created_at"] == c["created_at"]
    event = get(api, f"{path}/timeline", type="contact.updated")["items"][0]
    assert event["data"]["changed"] == ["notes", "tags"]
    # the name trio keeps display_name derived; a weak ETag is accepted too
    body = ok(api.patch(path, json={"family_name": "Bhaer"}, headers={"If-Match": 'W/"2"'}))
    assert body["display_name"] == "Jo Bhaer"
    assert get(api, "/contacts", tag="writer")["items"] == []
    assert [x["id"] for x in get(api, "/contacts", tag="author")["items"]] == [c["id"]]
    # clearing
    body = ok(patch(api, path, {"address": None, "timezone": None, "tags": []}))
    assert body["tags"] == [] and body["address"] is None


def test_patch_with_nothing_to_change_keeps_the_version(api) -> None:
    c = create_contact(api)
    r = api.patch(f"/contacts/{c['id']}", json={}, headers={"If-Match": '"1"'})
    assert ok(r)["version"] == 1


def test_patch_needs_if_match_and_a_stale_one_changes_nothing(api) -> None:
    c = create_contact(api, display_name="Original", notes="keep")
    path = f"/contacts/{c['id']}"
    problem(api.patch(path, json={"notes": "lost"}), 428, "version-required")
    problem(api.patch(path, json={"notes": "lost"}, headers={"If-Match": "*"}), 428)
    problem(api.patch(path, json={"notes": "lost"}, headers={"If-Match": '"abc"'}), 428)
    ok(api.patch(path, json={"notes": "v2"}, headers={"If-Match": '"1"'}))
    before = get(api, path)
    events = timeline_types(api, c["id"])
    body = problem(
        api.patch(
            path, json={"notes": "lost", "display_name": "Lost"}, headers={"If-Match": '"1"'}
        ),
        412,
        "stale-version",
    )
    assert body["details"]["current_version"] == 2
    problem(api.patch(path, json={"notes": "lost"}, headers={"If-Match": '"99"'}), 412)
    assert get(api, path) == before
    assert timeline_types(api, c["id"]) == events
    assert etag(api, path) == '"2"'


def test_patch_refuses_unknown_and_fixed_fields(api) -> None:
    c = create_contact(api)
    path = f"/contacts/{c['id']}"
    assert invalid(patch(api, path, {"kind": "organization"})) == {"kind": "extra_forbidden"}
    assert invalid(patch(api, path, {"stage": "client"})) == {"stage": "extra_forbidden"}
    assert invalid(patch(api, path, {"version": 7})) == {"version": "extra_forbidden"}
    assert invalid(patch(api, path, {"emails": None})) == {"emails": "list_type"}
    assert invalid(patch(api, path, {"display_name": "", "given_name": None})) == {
        "display_name": "required"
    }
    assert invalid(patch(api, path, {"timezone": "Nowhere/Else"})) == {"timezone": "timezone"}
    assert get(api, path)["version"] == 1


def test_patch_missing_contact_is_404(api) -> None:
    problem(api.patch("/contacts/999999", json={}, headers={"If-Match": '"1"'}), 404, "not-found")
