"""Interactions and the timeline over HTTP: logging, reading, newest-first order, type filters
and keyset pages that cover every event exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .helpers import (
    create_contact,
    cursor_of,
    get,
    invalid,
    make_client,
    ok,
    problem,
    walk,
)


def at(days_back: float, hour: int = 12) -> str:
    moment = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    return (moment - timedelta(days=days_back)).isoformat()


def log(api, contact_id: int, **fields) -> dict:
    fields.setdefault("channel", "call")
    return ok(api.post(f"/contacts/{contact_id}/interactions", json=fields), 201)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def contact(api):
    return create_contact(api, display_name="Talkative")


# --- interactions ---------------------------------------------------------------------------------


def test_log_an_interaction(api, tenant, contact) -> None:
    r = api.post(
        f"/contacts/{contact['id']}/interactions",
        json={
            "channel": "meeting",
            "direction": "inbound",
            "occurred_at": "2026-03-02T09:30:00+01:00",
            "subject": "  Kick-off  ",
            "body": "<script>alert('x')</script>\nLine two  ",
            "participants": [" Ada ", "", "Charles"],
        },
    )
    body = ok(r, 201)
    assert r.headers["location"] == f"/api/v1/interactions/{body['id']}"
    assert body["contact_id"] == contact["id"]
    assert (body["channel"], body["direction"]) == ("meeting", "inbound")
    assert parse(body["occurred_at"]) == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert body["subject"] == "Kick-off"
    # stored exactly as given: escaping is the job of whoever shows it
    assert body["body"] == "<script>alert('x')</script>\nLine two"
    assert body["participants"] == ["Ada", "Charles"]
    assert body["author_id"] == tenant.owner.user_id
    assert get(api, f"/interactions/{body['id']}") == body
    event = get(api, f"/contacts/{contact['id']}/timeline", type="interaction.logged")["items"][0]
    assert event["subject_type"] == "interaction" and event["subject_id"] == body["id"]
    assert event["summary"] == "Meeting (inbound): Kick-off"
    assert event["data"]["channel"] == "meeting"
    assert event["actor_id"] == tenant.owner.user_id
    assert parse(event["occurred_at"]) == parse(body["occurred_at"])


def test_defaults_are_outbound_and_now(api, contact) -> None:
    before = datetime.now(UTC)
    body = log(api, contact["id"], channel="note")
    assert body["direction"] == "outbound"
    assert before - timedelta(seconds=5) <= parse(body["occurred_at"]) <= datetime.now(UTC)
    assert body["subject"] == "" and body["body"] == "" and body["participants"] == []


def test_last_interaction_at_is_the_latest_whatever_the_logging_order(api, contact) -> None:
    log(api, contact["id"], occurred_at=at(3))
    assert parse(get(api, f"/contacts/{contact['id']}")["last_interaction_at"]) == parse(at(3))
    log(api, contact["id"], occurred_at=at(10))  # older: history entry
    assert parse(get(api, f"/contacts/{contact['id']}")["last_interaction_at"]) == parse(at(3))
    log(api, contact["id"], occurred_at=at(1))
    listed = get(api, "/contacts", q="talkative")["items"][0]
    assert parse(listed["last_interaction_at"]) == parse(at(1))


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"channel": "missing"}),
        ({"channel": "fax"}, {"channel": "enum"}),
        ({"channel": "call", "direction": "sideways"}, {"direction": "enum"}),
        ({"channel": "call", "occurred_at": "2026-01-01T10:00:00"}, {"occurred_at": "value_error"}),
        (
            {"channel": "call", "occurred_at": "yesterday"},
            {"occurred_at": "datetime_from_date_parsing"},
        ),
        ({"channel": "call", "occurred_at": "2999-01-01T00:00:00Z"}, {"occurred_at": "not-future"}),
        (
            {"channel": "call", "occurred_at": "0001-01-01T00:00:00+05:00"},
            {"occurred_at": "date-range"},
        ),
        ({"channel": "call", "subject": "s" * 501}, {"subject": "string_too_long"}),
        ({"channel": "call", "participants": "Ada"}, {"participants": "list_type"}),
        ({"channel": "call", "participants": ["x"] * 101}, {"participants": "too_long"}),
        ({"channel": "call", "author_id": 1}, {"author_id": "extra_forbidden"}),
        ({"channel": "call", "body": "a\x00b"}, {"body": "no-nul"}),
        (
            {"channel": "fax", "direction": "up", "subject": 5},
            {"channel": "enum", "direction": "enum", "subject": "string_type"},
        ),
    ],
)
def test_bad_interactions_are_refused_and_nothing_is_logged(api, contact, body, errors) -> None:
    r = api.post(f"/contacts/{contact['id']}/interactions", json=body)
    assert invalid(r) == errors
    assert get(api, f"/contacts/{contact['id']}/timeline", type="interaction.logged")["items"] == []
    assert get(api, f"/contacts/{contact['id']}")["last_interaction_at"] is None


def test_interaction_404s(api) -> None:
    problem(api.post("/contacts/424242/interactions", json={"channel": "call"}), 404)
    body = problem(api.get("/interactions/424242"), 404, "not-found")
    assert body["details"] == {"resource": "interaction", "id": 424242}


# --- the timeline ---------------------------------------------------------------------------------


def test_newest_first_by_when_it_happened(api) -> None:
    client, _ = make_client(api, display_name="History")
    cid = client["id"]
    log(api, cid, occurred_at=at(400), subject="long ago")
    log(api, cid, subject="just now")
    log(api, cid, occurred_at=at(2), subject="recently")
    items = get(api, f"/contacts/{cid}/timeline")["items"]
    keys = [(parse(e["occurred_at"]), e["id"]) for e in items]
    assert keys == sorted(keys, reverse=True)
    assert items[-1]["data"].get("subject") == "long ago"
    assert {e["type"] for e in items} == {
        "contact.created",
        "agreement.created",
        "agreement.confirmed",
        "contact.converted",
        "interaction.logged",
    }
    for e in items:
        assert e["contact_id"] == cid
        assert e["data"]["source"] == "api"
        assert e["summary"]
        assert parse(e["recorded_at"]) <= datetime.now(UTC)


def test_filter_by_one_or_several_types(api) -> None:
    client, _ = make_client(api)
    cid = client["id"]
    for i in range(3):
        log(api, cid, occurred_at=at(i + 1))
    only = get(api, f"/contacts/{cid}/timeline", type="interaction.logged")["items"]
    assert len(only) == 3 and {e["type"] for e in only} == {"interaction.logged"}
    r = api.get(
        f"/contacts/{cid}/timeline",
        params=[("type", "contact.created"), ("type", "contact.converted")],
    )
    assert sorted(e["type"] for e in ok(r)["items"]) == ["contact.converted", "contact.created"]
    assert get(api, f"/contacts/{cid}/timeline", type="relationship.ended")["items"] == []
    assert invalid(api.get(f"/contacts/{cid}/timeline", params={"type": "contact.deleted"})) == {
        "type": "choice"
    }


def test_keyset_pages_cover_every_event_once(api) -> None:
    c = create_contact(api, display_name="Busy")
    cid = c["id"]
    same_moment = at(5)
    for i in range(30):
        # several interactions share a moment, so the id must break ties between pages
        when = same_moment if i % 3 == 0 else at(i * 0.5 + 0.25)
        log(api, cid, occurred_at=when, subject=f"#{i}")
    full = get(api, f"/contacts/{cid}/timeline", limit=200)
    assert full["next_cursor"] is None
    assert len(full["items"]) == 31
    for limit in (1, 4, 7, 30, 31):
        items, pages = walk(api, f"/contacts/{cid}/timeline", limit=limit)
        ids = [e["id"] for e in items]
        assert len(ids) == len(set(ids)), "no duplicates"
        assert ids == [e["id"] for e in full["items"]], "no gaps, same order"
        assert pages == -(-31 // limit)
    # pages of a filtered timeline
    items, _ = walk(api, f"/contacts/{cid}/timeline", limit=4, type="interaction.logged")
    assert len(items) == 30 and len({e["id"] for e in items}) == 30
    # an event logged between page reads appears on no later page twice
    first = get(api, f"/contacts/{cid}/timeline", limit=10)
    log(api, cid, subject="new")
    rest, _ = walk(api, f"/contacts/{cid}/timeline", limit=10, cursor=first["next_cursor"])
    seen = [e["id"] for e in first["items"]] + [e["id"] for e in rest]
    assert len(seen) == len(set(seen)) == 31


def test_exact_page_size_ends_with_a_null_cursor(api, contact) -> None:
    for i in range(3):
        log(api, contact["id"], occurred_at=at(i + 1))
    page = get(api, f"/contacts/{contact['id']}/timeline", limit=4)
    assert len(page["items"]) == 4 and page["next_cursor"] is None
    page = get(api, f"/contacts/{contact['id']}/timeline", limit=3)
    assert len(page["items"]) == 3 and page["next_cursor"] is not None
    last = get(api, f"/contacts/{contact['id']}/timeline", limit=3, cursor=page["next_cursor"])
    # the contact was created now, the interactions are back-dated: the oldest comes last
    assert [parse(e["occurred_at"]) for e in last["items"]] == [parse(at(3))]
    assert last["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": -5},
        {"limit": "ten"},
        {"cursor": "garbage!"},
        {"cursor": cursor_of(["2026-01-01T00:00:00+00:00"])},
        {"cursor": cursor_of(["2026-01-01T00:00:00+00:00", "7"])},
        {"cursor": cursor_of(["2026-01-01T00:00:00", 7])},
        {"cursor": cursor_of(["not a time", 7])},
        {"cursor": cursor_of([7, 7])},
        {"cursor": cursor_of(["2026-01-01T00:00:00+00:00", 10**20])},
        {"cursor": cursor_of(["0001-01-01T00:00:00+05:00", 1])},
        {"cursor": cursor_of({"a": 1})},
        {"cursor": cursor_of(None)},
        {"cursor": "x" * 501},
    ],
)
def test_bad_paging_parameters_are_422(api, contact, params) -> None:
    errors = invalid(api.get(f"/contacts/{contact['id']}/timeline", params=params))
    assert set(errors) == set(params)


def test_timeline_of_a_missing_contact_is_404(api) -> None:
    problem(api.get("/contacts/424242/timeline"), 404, "not-found")
