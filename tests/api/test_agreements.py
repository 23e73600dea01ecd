"""Agreements over HTTP: create, list, read, update by status, confirm, end, cancel."""

from __future__ import annotations

import pytest

from .helpers import (
    confirm,
    create_agreement,
    create_contact,
    days_ago,
    get,
    invalid,
    iso,
    make_client,
    ok,
    patch,
    problem,
    timeline_types,
    today,
    walk,
)


@pytest.fixture
def contact(api):
    return create_contact(api, display_name="Agreeable")


def test_create_with_defaults_location_and_etag(api, contact) -> None:
    r = api.post(f"/contacts/{contact['id']}/agreements", json={"title": "  Bookkeeping  "})
    body = ok(r, 201)
    assert r.headers["location"] == f"/api/v1/agreements/{body['id']}"
    assert r.headers["etag"] == '"1"'
    assert body["contact_id"] == contact["id"]
    assert body["title"] == "Bookkeeping"
    assert body["kind"] == "engagement"
    assert body["status"] == "draft"
    assert body["billing_period"] == "one_off"
    assert body["terms"] == ""
    assert body["starts_on"] is None and body["value_minor"] is None
    assert body["confirmed_at"] is None and body["ended_on"] is None
    assert body["version"] == 1
    assert get(api, f"/agreements/{body['id']}") == body
    assert timeline_types(api, contact["id"])[0] == "agreement.created"


def test_create_with_every_field(api, contact) -> None:
    body = create_agreement(
        api,
        contact["id"],
        title="Payroll",
        kind="subscription",
        starts_on="2026-01-01",
        ends_on="2026-12-31",
        renews_on="2026-12-01",
        value_minor=3_000_000_000_00,  # 3 billion in a currency with cents: needs 64 bits
        currency="jpy",
        billing_period="yearly",
        terms="Net 30",
    )
    assert body["currency"] == "JPY"
    assert body["value_minor"] == 3_000_000_000_00
    assert (body["starts_on"], body["ends_on"], body["renews_on"]) == (
        "2026-01-01",
        "2026-12-31",
        "2026-12-01",
    )
    assert body["billing_period"] == "yearly" and body["kind"] == "subscription"
    assert get(api, f"/agreements/{body['id']}")["value_minor"] == 3_000_000_000_00


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"title": "missing"}),
        ({"title": ""}, {"title": "string_too_short"}),
        ({"title": "   "}, {"title": "string_too_short"}),
        ({"title": "T", "currency": "XYZ"}, {"currency": "iso-4217"}),
        ({"title": "T", "currency": "EU"}, {"currency": "string_too_short"}),
        ({"title": "T", "currency": "EURO"}, {"currency": "string_too_long"}),
        ({"title": "T", "value_minor": 100}, {"currency": "required"}),
        (
            {"title": "T", "value_minor": -1, "currency": "EUR"},
            {"value_minor": "greater_than_equal"},
        ),
        (
            {"title": "T", "value_minor": 10**15 + 1, "currency": "EUR"},
            {"value_minor": "less_than_equal"},
        ),
        ({"title": "T", "value_minor": 12.5, "currency": "EUR"}, {"value_minor": "int_from_float"}),
        ({"title": "T", "value_minor": "ten", "currency": "EUR"}, {"value_minor": "int_parsing"}),
        (
            {"title": "T", "starts_on": "2026-05-01", "ends_on": "2026-04-30"},
            {"ends_on": "after-start"},
        ),
        (
            {"title": "T", "starts_on": "2026-05-01", "renews_on": "2026-01-01"},
            {"renews_on": "after-start"},
        ),
        ({"title": "T", "starts_on": "2026-02-30"}, {"starts_on": "date_from_datetime_parsing"}),
        ({"title": "T", "kind": "handshake"}, {"kind": "enum"}),
        ({"title": "T", "billing_period": "weekly"}, {"billing_period": "enum"}),
        ({"title": "T", "status": "active"}, {"status": "extra_forbidden"}),
        ({"title": "T", "starts_on": "1066-10-14"}, {"starts_on": "date-range"}),
        (
            {"title": "", "currency": "EURO", "kind": "x", "price": 1},
            {
                "title": "string_too_short",
                "currency": "string_too_long",
                "kind": "enum",
                "price": "extra_forbidden",
            },
        ),
        (
            {
                "title": "T",
                "value_minor": 5,
                "currency": "ABC",
                "starts_on": "2026-05-01",
                "ends_on": "2026-01-01",
            },
            {"currency": "iso-4217", "ends_on": "after-start"},
        ),
    ],
)
def test_create_refuses_bad_fields_and_creates_nothing(api, contact, body, errors) -> None:
    r = api.post(f"/contacts/{contact['id']}/agreements", json=body)
    assert invalid(r) == errors
    assert get(api, f"/contacts/{contact['id']}/agreements")["items"] == []


def test_create_for_a_missing_contact_is_404(api) -> None:
    problem(api.post("/contacts/424242/agreements", json={"title": "T"}), 404, "not-found")


def test_list_newest_first_with_status_filter_and_pages(api, contact) -> None:
    made = [create_agreement(api, contact["id"], title=f"A{i}") for i in range(7)]
    confirm(api, made[2]["id"])
    ok(api.post(f"/agreements/{made[3]['id']}/cancel"))
    page = get(api, f"/contacts/{contact['id']}/agreements")
    assert [a["id"] for a in page["items"]] == [a["id"] for a in reversed(made)]
    assert page["next_cursor"] is None
    active = get(api, f"/contacts/{contact['id']}/agreements", status="active")["items"]
    assert [a["id"] for a in active] == [made[2]["id"]]
    cancelled = get(api, f"/contacts/{contact['id']}/agreements", status="cancelled")["items"]
    assert [a["id"] for a in cancelled] == [made[3]["id"]]
    items, pages = walk(api, f"/contacts/{contact['id']}/agreements", limit=3)
    assert pages == 3
    assert [a["id"] for a in items] == [a["id"] for a in reversed(made)]
    drafts, _ = walk(api, f"/contacts/{contact['id']}/agreements", limit=2, status="draft")
    assert len(drafts) == 5 and all(a["status"] == "draft" for a in drafts)
    # another contact's agreements are not listed
    other = create_contact(api, display_name="Other")
    assert get(api, f"/contacts/{other['id']}/agreements")["items"] == []


@pytest.mark.parametrize(
    "params",
    [{"status": "signed"}, {"limit": 0}, {"limit": 201}, {"cursor": "%%%"}, {"cursor": "bm9wZQ"}],
)
def test_list_refuses_bad_parameters(api, contact, params) -> None:
    invalid(api.get(f"/contacts/{contact['id']}/agreements", params=params))


def test_list_for_a_missing_contact_is_404(api) -> None:
    problem(api.get("/contacts/424242/agreements"), 404, "not-found")


def test_get_missing_agreement_is_404(api) -> None:
    body = problem(api.get("/agreements/424242"), 404, "not-found")
    assert body["details"] == {"resource": "agreement", "id": 424242}


# --- update --------------------------------------------------------------------------------------


def test_patch_a_draft(api, contact) -> None:
    a = create_agreement(api, contact["id"], value_minor=100, currency="EUR")
    path = f"/agreements/{a['id']}"
    r = api.patch(
        path,
        json={
            "title": "Renamed",
            "kind": "contract",
            "starts_on": "2026-02-01",
            "value_minor": 250,
        },
        headers={"If-Match": '"1"'},
    )
    body = ok(r)
    assert r.headers["etag"] == '"2"'
    assert body["version"] == 2
    assert (body["title"], body["kind"], body["starts_on"], body["value_minor"]) == (
        "Renamed",
        "contract",
        "2026-02-01",
        250,
    )
    assert body["currency"] == "EUR"
    event = get(api, f"/contacts/{contact['id']}/timeline", type="agreement.updated")["items"][0]
    assert event["data"]["changed"] == ["kind", "starts_on", "title", "value_minor"]
    # clearing the value leaves the currency; clearing the currency of a value is refused
    assert invalid(patch(api, path, {"currency": None})) == {"currency": "required"}
    assert ok(patch(api, path, {"value_minor": None}))["value_minor"] is None


def test_patch_refuses_empty_required_fields(api, contact) -> None:
    a = create_agreement(api, contact["id"], kind="contract", billing_period="monthly")
    path = f"/agreements/{a['id']}"
    assert invalid(patch(api, path, {"kind": None})) == {"kind": "required"}
    assert invalid(patch(api, path, {"billing_period": None})) == {"billing_period": "required"}
    assert invalid(patch(api, path, {"title": None})) == {"title": "required"}
    assert invalid(patch(api, path, {"ends_on": "2020-01-01", "starts_on": "2021-01-01"})) == {
        "ends_on": "after-start"
    }
    after = get(api, path)
    assert (after["kind"], after["billing_period"], after["version"]) == ("contract", "monthly", 1)


def test_what_may_change_depends_on_the_status(api, contact) -> None:
    a = create_agreement(api, contact["id"], starts_on=iso(days_ago(3)))
    confirm(api, a["id"])
    path = f"/agreements/{a['id']}"
    assert invalid(patch(api, path, {"kind": "contract", "starts_on": iso(days_ago(1))})) == {
        "kind": "read-only",
        "starts_on": "read-only",
    }
    body = ok(patch(api, path, {"renews_on": iso(today()), "terms": "v2"}))
    assert body["renews_on"] == iso(today()) and body["terms"] == "v2"
    ok(api.post(f"{path}/end", json={"reason": "completed"}))
    assert invalid(patch(api, path, {"title": "History"})) == {"title": "read-only"}
    assert ok(patch(api, path, {"terms": "archived"}))["terms"] == "archived"


def test_patch_needs_if_match_and_a_stale_one_changes_nothing(api, contact) -> None:
    a = create_agreement(api, contact["id"], title="Keep")
    path = f"/agreements/{a['id']}"
    problem(api.patch(path, json={"title": "Lost"}), 428, "version-required")
    ok(api.patch(path, json={"title": "Kept"}, headers={"If-Match": '"1"'}))
    before = get(api, path)
    events = timeline_types(api, contact["id"])
    body = problem(
        api.patch(path, json={"title": "Lost"}, headers={"If-Match": '"1"'}), 412, "stale-version"
    )
    assert body["details"]["current_version"] == 2
    assert get(api, path) == before
    assert timeline_types(api, contact["id"]) == events
    problem(api.patch("/agreements/424242", json={}, headers={"If-Match": '"1"'}), 404)


def test_actions_bump_the_version_so_an_older_etag_is_stale(api, contact) -> None:
    a = create_agreement(api, contact["id"])
    path = f"/agreements/{a['id']}"
    old = api.get(path).headers["etag"]
    confirmed = confirm(api, a["id"])
    assert confirmed["version"] > a["version"]
    problem(api.patch(path, json={"terms": "x"}, headers={"If-Match": old}), 412)


# --- confirm / end / cancel -----------------------------------------------------------------------


def test_confirm(api, contact) -> None:
    a = create_agreement(api, contact["id"], starts_on=iso(days_ago(1)))
    r = api.post(f"/agreements/{a['id']}/confirm")
    body = ok(r)
    assert r.headers["etag"] == f'"{body["version"]}"'
    assert body["status"] == "active"
    assert body["confirmed_at"] is not None
    event = get(api, f"/contacts/{contact['id']}/timeline", type="agreement.confirmed")
    assert event["items"][0]["subject_id"] == a["id"]
    # an active agreement cannot be confirmed again
    body = problem(api.post(f"/agreements/{a['id']}/confirm"), 409, "invalid-transition")
    assert body["details"] == {"status": "active", "action": "confirm"}


def test_confirm_refuses_bad_bodies_and_changes_nothing(api, contact) -> None:
    a = create_agreement(api, contact["id"], ends_on="2026-03-01")
    path = f"/agreements/{a['id']}/confirm"
    assert invalid(api.post(path, json={"starts_on": "2026-04-01"})) == {"ends_on": "after-start"}
    assert invalid(api.post(path, json={"starts_on": "someday"})) == {
        "starts_on": "date_from_datetime_parsing"
    }
    assert invalid(api.post(path, json={"start": "2026-01-01"})) == {"start": "extra_forbidden"}
    assert get(api, f"/agreements/{a['id']}")["status"] == "draft"
    assert get(api, f"/contacts/{contact['id']}")["stage"] == "contact"
    problem(api.post("/agreements/424242/confirm"), 404, "not-found")


def test_end(api) -> None:
    client, a = make_client(api, starts_on=days_ago(20))
    path = f"/agreements/{a['id']}/end"
    assert invalid(api.post(path, json={})) == {"reason": "missing"}
    assert invalid(api.post(path, json={"reason": "agreement_ended"})) == {"reason": "choice"}
    assert invalid(api.post(path, json={"reason": "price", "ended_on": iso(days_ago(-1))})) == {
        "ended_on": "not-future"
    }
    assert invalid(api.post(path, json={"reason": "price", "ended_on": iso(days_ago(21))})) == {
        "ended_on": "after-start"
    }
    assert get(api, f"/agreements/{a['id']}")["status"] == "active"
    assert get(api, f"/contacts/{client['id']}")["stage"] == "client"
    ended = ok(api.post(path, json={"reason": "completed", "note": "done"}))
    assert ended["status"] == "ended" and ended["ended_on"] == iso(today())
    body = problem(api.post(path, json={"reason": "completed"}), 409, "invalid-transition")
    assert body["details"]["status"] == "ended"
    problem(api.post("/agreements/424242/end", json={"reason": "price"}), 404)


def test_end_a_draft_is_an_invalid_transition(api, contact) -> None:
    a = create_agreement(api, contact["id"])
    problem(api.post(f"/agreements/{a['id']}/end", json={"reason": "price"}), 409)
    assert get(api, f"/agreements/{a['id']}")["status"] == "draft"


def test_cancel(api, contact) -> None:
    a = create_agreement(api, contact["id"])
    body = ok(api.post(f"/agreements/{a['id']}/cancel", json={"note": "changed their mind"}))
    assert body["status"] == "cancelled"
    assert body["end_note"] == "changed their mind"
    assert "agreement.cancelled" in timeline_types(api, contact["id"])
    # cancelled is final
    problem(api.post(f"/agreements/{a['id']}/confirm"), 409, "invalid-transition")
    problem(api.post(f"/agreements/{a['id']}/cancel"), 409, "invalid-transition")
    assert get(api, f"/contacts/{contact['id']}")["stage"] == "contact"
    problem(api.post("/agreements/424242/cancel"), 404)


def test_cancel_an_active_agreement_is_an_invalid_transition(api) -> None:
    client, a = make_client(api)
    body = problem(api.post(f"/agreements/{a['id']}/cancel"), 409, "invalid-transition")
    assert body["details"] == {"status": "active", "action": "cancel"}
    assert get(api, f"/agreements/{a['id']}")["status"] == "active"
    assert get(api, f"/contacts/{client['id']}")["stage"] == "client"
