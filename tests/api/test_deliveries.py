"""Service deliveries through HTTP: the whole transition table, conversion by a confirmed
delivery, the relationship held by an upcoming one, last_service_at, recorded times, If-Match
and the query count of the list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.contacts import ContactKind
from tenure.domain.deliveries import DELIVERY_MOVES, DeliveryAction, DeliveryStatus
from tenure.services import contacts, deliveries
from tests.conftest import Database, Tenant, count_statements, make_tenant


@pytest.fixture
def tenant(database: Database) -> Tenant:
    """A fresh workspace (workspaces are isolated, so no emptied database is needed)."""
    return make_tenant(database, f"dlv-{uuid4().hex[:12]}")


@pytest.fixture
def other_tenant(database: Database) -> Tenant:
    return make_tenant(database, f"dlv-other-{uuid4().hex[:12]}")


NOW = datetime.now(UTC).replace(microsecond=0)
_slot = count()


def next_slot() -> datetime:
    """A future start no other delivery of these tests uses (two hours apart)."""
    return NOW + timedelta(days=3, hours=2 * next(_slot))


def ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def make_contact(api: httpx.Client, name: str = "Harbour Dental") -> dict[str, Any]:
    r = api.post("/contacts", json={"display_name": name, "kind": "organization"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def make_delivery(api: httpx.Client, contact_id: int, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "Boiler service")
    r = api.post("/deliveries", json={"contact_id": contact_id, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def timeline(api: httpx.Client, contact_id: int) -> list[dict[str, Any]]:
    r = api.get(f"/contacts/{contact_id}/timeline", params={"limit": 200})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def delivery_events(api: httpx.Client, contact_id: int, delivery_id: int) -> list[str]:
    return [
        e["type"]
        for e in timeline(api, contact_id)
        if e["subject_type"] == "delivery" and e["subject_id"] == delivery_id
    ]


ROUTES = {
    DeliveryAction.SCHEDULE: "schedule",
    DeliveryAction.START: "start",
    DeliveryAction.DELIVER: "deliver",
    DeliveryAction.CANCEL: "cancel",
    DeliveryAction.NO_SHOW: "no-show",
}
EVENTS = {
    DeliveryStatus.REQUESTED: "delivery.requested",
    DeliveryStatus.SCHEDULED: "delivery.scheduled",
    DeliveryStatus.IN_PROGRESS: "delivery.started",
    DeliveryStatus.DELIVERED: "delivery.delivered",
    DeliveryStatus.CANCELLED: "delivery.cancelled",
    DeliveryStatus.NO_SHOW: "delivery.no_show",
}
#: The moves that bring a new (requested) delivery to each status.
PATHS: dict[DeliveryStatus, list[DeliveryAction]] = {
    DeliveryStatus.REQUESTED: [],
    DeliveryStatus.SCHEDULED: [DeliveryAction.SCHEDULE],
    DeliveryStatus.IN_PROGRESS: [DeliveryAction.SCHEDULE, DeliveryAction.START],
    DeliveryStatus.DELIVERED: [DeliveryAction.SCHEDULE, DeliveryAction.DELIVER],
    DeliveryStatus.CANCELLED: [DeliveryAction.CANCEL],
    DeliveryStatus.NO_SHOW: [DeliveryAction.SCHEDULE, DeliveryAction.NO_SHOW],
}


def act(api: httpx.Client, delivery_id: int, action: DeliveryAction) -> httpx.Response:
    body = {"scheduled_start": next_slot().isoformat()} if action is DeliveryAction.SCHEDULE else {}
    return api.post(f"/deliveries/{delivery_id}/{ROUTES[action]}", json=body or None)


def test_the_whole_transition_table(api) -> None:
    """Every (status, action): a legal move lands where the table says and is recorded on the
    timeline with its event; an illegal one is 409 invalid-transition and changes nothing."""
    contact = make_contact(api)
    cid = contact["id"]
    expected_events: dict[int, list[str]] = {}
    legal = illegal = 0
    for status in DeliveryStatus:
        for action in DeliveryAction:
            row = make_delivery(api, cid)
            expected_events[row["id"]] = [EVENTS[DeliveryStatus.REQUESTED]]
            for step in PATHS[status]:
                r = act(api, row["id"], step)
                assert r.status_code == 200, r.text
                row = r.json()
                expected_events[row["id"]].insert(0, EVENTS[DeliveryStatus(row["status"])])
            assert row["status"] == status.value
            r = act(api, row["id"], action)
            target = DELIVERY_MOVES.get((status, action))
            if target is None:
                illegal += 1
                assert r.status_code == 409, (status, action, r.text)
                assert r.json()["code"] == "invalid-transition"
                assert api.get(f"/deliveries/{row['id']}").json() == row
            else:
                legal += 1
                assert r.status_code == 200, (status, action, r.text)
                assert r.json()["status"] == target.value
                assert r.json()["version"] == row["version"] + 1
                expected_events[row["id"]].insert(0, EVENTS[target])
    assert legal == len(DELIVERY_MOVES) == 7
    assert illegal == len(DeliveryStatus) * len(DeliveryAction) - 7
    # every legal move, and only those, is on the timeline with its event type
    recorded: dict[int, list[str]] = {}
    for event in timeline(api, cid):
        if event["subject_type"] == "delivery":
            recorded.setdefault(event["subject_id"], []).append(event["type"])
    assert recorded == expected_events


def test_a_delivery_created_with_a_start_is_scheduled(api) -> None:
    contact = make_contact(api)
    r = api.post(
        "/services",
        json={
            "name": "Audit",
            "default_duration_minutes": 45,
            "default_price_minor": 9900,
            "currency": "eur",
        },
    )
    service = r.json()
    start = next_slot()
    row = make_delivery(
        api, contact["id"], service_id=service["id"], title=None, scheduled_start=start.isoformat()
    )
    assert row["status"] == "scheduled"
    assert row["title"] == "Audit"
    assert ts(row["scheduled_end"]) == start + timedelta(minutes=45)
    assert (row["price_minor"], row["currency"]) == (9900, "EUR")
    assert delivery_events(api, contact["id"], row["id"]) == ["delivery.scheduled"]
    requested = make_delivery(api, contact["id"])
    assert requested["status"] == "requested"
    assert delivery_events(api, contact["id"], requested["id"]) == ["delivery.requested"]


def test_bad_delivery_input_names_the_field(api) -> None:
    contact = make_contact(api)

    def errors(**body: Any) -> dict[str, str]:
        r = api.post("/deliveries", json={"contact_id": contact["id"], **body})
        assert r.status_code == 422, r.text
        return {e["field"]: e["rule"] for e in r.json()["errors"]}

    start = next_slot()
    assert errors(
        title="x",
        scheduled_start=start.isoformat(),
        scheduled_end=(start - timedelta(hours=1)).isoformat(),
    ) == {"scheduled_end": "after-start"}
    assert errors(title="x", scheduled_end=start.isoformat()) == {"scheduled_start": "required"}
    assert errors() == {"title": "required"}
    assert errors(title="x", service_id=999999) == {"service_id": "exists"}
    assert errors(title="x", price_minor=100) == {"currency": "required"}
    assert errors(title="x", timezone="Nowhere/Land") == {"timezone": "timezone"}
    assert errors(title="x", scheduled_start="2031-01-01T09:00:00").keys() == {"scheduled_start"}
    other = make_contact(api, "Other")
    agreement = api.post(f"/contacts/{other['id']}/agreements", json={"title": "Theirs"}).json()
    assert errors(title="x", agreement_id=agreement["id"]) == {"agreement_id": "same-contact"}
    assert api.get(f"/contacts/{contact['id']}/deliveries").json()["items"] == []
    assert api.get(f"/contacts/{contact['id']}").json()["stage"] == "contact"


# --- conversion --------------------------------------------------------------------------------


def test_scheduling_a_delivery_converts_the_contact(api) -> None:
    contact = make_contact(api)
    row = make_delivery(api, contact["id"])
    assert api.get(f"/contacts/{contact['id']}").json()["stage"] == "contact"
    r = api.post(
        f"/contacts/{contact['id']}/convert",
        json={"evidence": {"kind": "delivery", "id": row["id"]}},
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid-evidence"
    assert api.get(f"/contacts/{contact['id']}/transitions").json()["items"] == []

    start = next_slot()
    assert act(api, row["id"], DeliveryAction.SCHEDULE).status_code == 200
    client = api.get(f"/contacts/{contact['id']}").json()
    assert client["stage"] == "client"
    [transition] = api.get(f"/contacts/{contact['id']}/transitions").json()["items"]
    assert (transition["evidence_kind"], transition["evidence_id"]) == ("delivery", row["id"])
    assert transition["from_stage"] == "contact" and transition["to_stage"] == "client"
    # never in the future: the delivery is ahead, so the conversion is dated today
    assert date.fromisoformat(transition["effective_on"]) == datetime.now(UTC).date()
    assert start.date() > date.fromisoformat(transition["effective_on"])
    types = [e["type"] for e in timeline(api, contact["id"])]
    assert "contact.converted" in types and "delivery.scheduled" in types


def test_a_delivered_delivery_converts_with_its_date(api) -> None:
    contact = make_contact(api)
    past = NOW - timedelta(days=20)
    row = make_delivery(api, contact["id"], scheduled_start=past.isoformat())
    [transition] = api.get(f"/contacts/{contact['id']}/transitions").json()["items"]
    assert transition["effective_on"] == past.date().isoformat()
    assert transition["evidence_id"] == row["id"]
    r = api.post(f"/deliveries/{row['id']}/deliver", json={"outcome_notes": "done"})
    assert r.status_code == 200, r.text
    # still one conversion: the delivery was already evidence
    assert len(api.get(f"/contacts/{contact['id']}/transitions").json()["items"]) == 1


def test_convert_with_delivery_evidence(api, tenant) -> None:
    """A schedule's occurrences do not convert by themselves; converting with one does."""
    contact = make_contact(api)
    first = (NOW + timedelta(days=1)).replace(tzinfo=None)
    r = api.post(
        "/schedules",
        json={
            "contact_id": contact["id"],
            "produces": "delivery",
            "title": "Weekly clean",
            "rrule": "FREQ=WEEKLY;COUNT=3",
            "dtstart": first.isoformat(),
            "timezone": "UTC",
        },
    )
    assert r.status_code == 201, r.text
    rows = api.get(f"/contacts/{contact['id']}/deliveries").json()["items"]
    assert len(rows) == 3 and all(d["status"] == "scheduled" for d in rows)
    assert api.get(f"/contacts/{contact['id']}").json()["stage"] == "contact"

    stranger = make_contact(api, "Stranger")
    r = api.post(
        f"/contacts/{stranger['id']}/convert",
        json={"evidence": {"kind": "delivery", "id": rows[0]["id"]}},
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid-evidence"
    r = api.post(
        f"/contacts/{contact['id']}/convert", json={"evidence": {"kind": "delivery", "id": 999999}}
    )
    assert r.status_code == 404

    r = api.post(
        f"/contacts/{contact['id']}/convert",
        json={"evidence": {"kind": "delivery", "id": rows[-1]["id"]}},
    )
    assert r.status_code == 201, r.text
    assert r.json()["evidence_kind"] == "delivery"
    assert api.get(f"/contacts/{contact['id']}").json()["stage"] == "client"


def test_a_former_client_is_reactivated_by_a_new_delivery(api) -> None:
    contact = make_contact(api)
    make_delivery(api, contact["id"], scheduled_start=(NOW - timedelta(days=30)).isoformat())
    r = api.post(f"/contacts/{contact['id']}/end", json={"reason": "moved"})
    assert r.status_code == 201, r.text
    assert api.get(f"/contacts/{contact['id']}").json()["stage"] == "former_client"
    make_delivery(api, contact["id"], scheduled_start=next_slot().isoformat())
    assert api.get(f"/contacts/{contact['id']}").json()["stage"] == "client"
    types = [e["type"] for e in timeline(api, contact["id"])]
    assert "contact.reactivated" in types


# --- the relationship held by an upcoming delivery -------------------------------------------


def _client_with_agreement(api: httpx.Client, name: str) -> tuple[dict[str, Any], int]:
    contact = make_contact(api, name)
    agreement = api.post(
        f"/contacts/{contact['id']}/agreements",
        json={"title": "Care plan", "starts_on": (NOW - timedelta(days=60)).date().isoformat()},
    ).json()
    assert api.post(f"/agreements/{agreement['id']}/confirm").status_code == 200
    assert api.get(f"/contacts/{contact['id']}").json()["stage"] == "client"
    return contact, agreement["id"]


def test_an_upcoming_delivery_keeps_the_relationship(api) -> None:
    contact, agreement_id = _client_with_agreement(api, "Kept")
    upcoming = make_delivery(api, contact["id"], scheduled_start=next_slot().isoformat())
    r = api.post(f"/agreements/{agreement_id}/end", json={"reason": "completed"})
    assert r.status_code == 200, r.text
    after = api.get(f"/contacts/{contact['id']}").json()
    assert after["stage"] == "client"
    assert "relationship.ended" not in [e["type"] for e in timeline(api, contact["id"])]
    assert api.get(f"/deliveries/{upcoming['id']}").json()["status"] == "scheduled"


@pytest.mark.parametrize("other", ["none", "past", "requested", "cancelled", "delivered"])
def test_without_an_upcoming_delivery_the_relationship_ends(api, other: str) -> None:
    contact, agreement_id = _client_with_agreement(api, f"Lost {other}")
    if other == "past":  # scheduled, but its time has passed unrecorded
        make_delivery(api, contact["id"], scheduled_start=(NOW - timedelta(days=2)).isoformat())
    elif other == "requested":
        make_delivery(api, contact["id"])
    elif other == "cancelled":
        row = make_delivery(api, contact["id"], scheduled_start=next_slot().isoformat())
        assert api.post(f"/deliveries/{row['id']}/cancel").status_code == 200
    elif other == "delivered":
        row = make_delivery(
            api, contact["id"], scheduled_start=(NOW - timedelta(days=1)).isoformat()
        )
        assert api.post(f"/deliveries/{row['id']}/deliver").status_code == 200
    r = api.post(f"/agreements/{agreement_id}/end", json={"reason": "completed"})
    assert r.status_code == 200, r.text
    assert api.get(f"/contacts/{contact['id']}").json()["stage"] == "former_client"
    [*_, last] = api.get(f"/contacts/{contact['id']}/transitions").json()["items"]
    assert last["reason"] == "agreement_ended"


def test_work_in_progress_keeps_the_relationship(api) -> None:
    contact, agreement_id = _client_with_agreement(api, "Busy")
    row = make_delivery(api, contact["id"], scheduled_start=(NOW - timedelta(hours=1)).isoformat())
    assert api.post(f"/deliveries/{row['id']}/start").status_code == 200
    assert (
        api.post(f"/agreements/{agreement_id}/end", json={"reason": "completed"}).status_code == 200
    )
    assert api.get(f"/contacts/{contact['id']}").json()["stage"] == "client"


def test_ending_the_relationship_cancels_open_deliveries(api) -> None:
    contact = make_contact(api)
    past = make_delivery(api, contact["id"], scheduled_start=(NOW - timedelta(days=3)).isoformat())
    assert api.post(f"/deliveries/{past['id']}/deliver").status_code == 200
    future = make_delivery(api, contact["id"], scheduled_start=next_slot().isoformat())
    requested = make_delivery(api, contact["id"])
    r = api.post(f"/contacts/{contact['id']}/end", json={"reason": "price"})
    assert r.status_code == 201, r.text
    assert api.get(f"/deliveries/{past['id']}").json()["status"] == "delivered"
    for row in (future, requested):
        got = api.get(f"/deliveries/{row['id']}").json()
        assert got["status"] == "cancelled"
        assert "price" in got["cancel_reason"]
        assert delivery_events(api, contact["id"], row["id"])[0] == "delivery.cancelled"
    assert api.get(f"/contacts/{contact['id']}").json()["next_activity_at"] is None


# --- recorded times ----------------------------------------------------------------------------


def test_deliver_sets_last_service_at(api) -> None:
    contact = make_contact(api)
    row = make_delivery(api, contact["id"], scheduled_start=(NOW - timedelta(hours=5)).isoformat())
    assert api.get(f"/contacts/{contact['id']}").json()["last_service_at"] is None
    end = NOW - timedelta(hours=3)
    r = api.post(
        f"/deliveries/{row['id']}/deliver",
        json={
            "actual_start": (NOW - timedelta(hours=4)).isoformat(),
            "actual_end": end.isoformat(),
            "outcome_notes": "all good",
            "follow_up_due": "2031-02-01",
        },
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert ts(done["actual_end"]) == end
    assert ts(done["actual_start"]) == NOW - timedelta(hours=4)
    assert done["outcome_notes"] == "all good" and done["follow_up_due"] == "2031-02-01"
    assert ts(api.get(f"/contacts/{contact['id']}").json()["last_service_at"]) == end
    delivered = [e for e in timeline(api, contact["id"]) if e["type"] == "delivery.delivered"]
    assert ts(delivered[0]["occurred_at"]) == end

    # an older delivery recorded later does not move it back
    old = make_delivery(api, contact["id"], scheduled_start=(NOW - timedelta(days=9)).isoformat())
    r = api.post(
        f"/deliveries/{old['id']}/deliver",
        json={"actual_end": (NOW - timedelta(days=9, hours=-1)).isoformat()},
    )
    assert r.status_code == 200, r.text
    assert ts(api.get(f"/contacts/{contact['id']}").json()["last_service_at"]) == end


def test_delivering_ahead_of_the_scheduled_time(api) -> None:
    """Scheduled → delivered straight away, before the agreed start: a legal move."""
    contact = make_contact(api)
    row = make_delivery(api, contact["id"], scheduled_start=next_slot().isoformat())
    r = api.post(f"/deliveries/{row['id']}/deliver")
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "delivered"
    end = ts(done["actual_end"])
    assert end is not None and end <= datetime.now(UTC)
    assert done["actual_start"] is None or ts(done["actual_start"]) < end


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("start", {"actual_start": "+1h"}, "actual_start"),
        ("deliver", {"actual_end": "+1h"}, "actual_end"),
        ("deliver", {"actual_start": "+1h"}, "actual_start"),
        ("deliver", {"actual_start": "-1h", "actual_end": "-2h"}, "actual_end"),
    ],
)
def test_recorded_times_are_not_in_the_future(
    api, route: str, body: dict[str, str], field: str
) -> None:
    contact = make_contact(api)
    row = make_delivery(api, contact["id"], scheduled_start=(NOW - timedelta(hours=6)).isoformat())
    now = datetime.now(UTC)
    payload = {k: (now + timedelta(hours=int(v[:-1]))).isoformat() for k, v in body.items()}
    r = api.post(f"/deliveries/{row['id']}/{route}", json=payload)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    after = api.get(f"/deliveries/{row['id']}").json()
    assert after["status"] == "scheduled" and after["actual_start"] is None
    assert api.get(f"/contacts/{contact['id']}").json()["last_service_at"] is None


# --- updates -----------------------------------------------------------------------------------


def test_reschedule_with_if_match(api) -> None:
    contact = make_contact(api)
    row = make_delivery(api, contact["id"], scheduled_start=next_slot().isoformat())
    got = api.get(f"/deliveries/{row['id']}")
    new_start = next_slot()
    move = {
        "scheduled_start": new_start.isoformat(),
        "scheduled_end": (new_start + timedelta(hours=1)).isoformat(),
    }
    r = api.patch(f"/deliveries/{row['id']}", json=move)
    assert r.status_code == 428 and r.json()["code"] == "version-required"
    r = api.patch(f"/deliveries/{row['id']}", json=move, headers={"If-Match": '"41"'})
    assert r.status_code == 412 and r.json()["code"] == "stale-version"
    assert api.get(f"/deliveries/{row['id']}").json() == got.json()
    r = api.patch(f"/deliveries/{row['id']}", json=move, headers={"If-Match": got.headers["ETag"]})
    assert r.status_code == 200, r.text
    assert ts(r.json()["scheduled_start"]) == new_start
    assert r.headers["ETag"] == f'"{row["version"] + 1}"'
    assert delivery_events(api, contact["id"], row["id"])[0] == "delivery.rescheduled"
    assert ts(api.get(f"/contacts/{contact['id']}").json()["next_activity_at"]) == new_start
    r = api.patch(
        f"/deliveries/{row['id']}",
        json={"title": "late"},
        headers={"If-Match": got.headers["ETag"]},
    )
    assert r.status_code == 412
    # a delivered delivery keeps its time
    assert api.post(f"/deliveries/{row['id']}/deliver").status_code == 200
    current = api.get(f"/deliveries/{row['id']}")
    r = api.patch(
        f"/deliveries/{row['id']}", json=move, headers={"If-Match": current.headers["ETag"]}
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid-transition"


def test_a_delivery_conflicts_with_the_assignees_appointment(api) -> None:
    contact = make_contact(api)
    start = next_slot()
    r = api.post(
        "/activities",
        json={
            "kind": "appointment",
            "title": "Dentist",
            "start_at": start.isoformat(),
            "end_at": (start + timedelta(hours=1)).isoformat(),
        },
    )
    appointment = r.json()
    r = api.post(
        "/deliveries",
        json={
            "contact_id": contact["id"],
            "title": "x",
            "scheduled_start": (start + timedelta(minutes=30)).isoformat(),
        },
    )
    assert r.status_code == 409
    assert r.json()["details"]["conflicting_activity_id"] == appointment["id"]
    first = make_delivery(
        api, contact["id"], scheduled_start=(start + timedelta(hours=1)).isoformat()
    )
    r = api.post(
        "/deliveries",
        json={
            "contact_id": contact["id"],
            "title": "y",
            "scheduled_start": (start + timedelta(minutes=90)).isoformat(),
        },
    )
    assert r.status_code == 409
    assert r.json()["details"]["conflicting_delivery_id"] == first["id"]
    make_delivery(
        api,
        contact["id"],
        scheduled_start=(start + timedelta(minutes=90)).isoformat(),
        allow_overlap=True,
    )


# --- lists -------------------------------------------------------------------------------------


def test_list_filters(api) -> None:
    contact = make_contact(api)
    other = make_contact(api, "Other")
    a = make_delivery(api, contact["id"], scheduled_start=next_slot().isoformat())
    b = make_delivery(api, contact["id"])
    c = make_delivery(api, other["id"], scheduled_start=next_slot().isoformat())

    def ids(path: str = "/deliveries", **params: Any) -> list[int]:
        r = api.get(path, params=params)
        assert r.status_code == 200, r.text
        return [d["id"] for d in r.json()["items"]]

    assert ids() == [c["id"], b["id"], a["id"]]  # newest first
    assert ids(status="requested") == [b["id"]]
    assert ids(contact_id=other["id"]) == [c["id"]]
    assert ids(f"/contacts/{contact['id']}/deliveries") == [b["id"], a["id"]]
    assert ids(f"/contacts/{contact['id']}/deliveries", status="scheduled") == [a["id"]]
    page = api.get("/deliveries", params={"limit": 2}).json()
    rest = api.get("/deliveries", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [d["id"] for d in page["items"] + rest["items"]] == [c["id"], b["id"], a["id"]]
    assert rest["next_cursor"] is None


def test_listing_deliveries_takes_a_constant_number_of_queries(api, server, tenant) -> None:
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        contact = contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name="Many")
        for i in range(110):
            deliveries.create_delivery(
                ctx,
                contact.contact.id,
                title=f"job {i}",
                scheduled_start=NOW + timedelta(days=1, hours=i) if i % 2 else None,
            )
    api.get("/deliveries", params={"limit": 1})  # the token's last use is written once
    counts = {}
    for limit in (5, 100):
        with count_statements(server.engine) as statements:
            r = api.get("/deliveries", params={"limit": limit})
        assert r.status_code == 200 and len(r.json()["items"]) == limit
        counts[limit] = len(statements)
    assert counts[5] == counts[100], counts
