"""Recurring schedules through HTTP: validation, materialization within the horizon,
daylight-saving time, COUNT/UNTIL/EXDATE, one-occurrence edits, "this and following" splits,
and the ways a schedule stops."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import Database, Tenant, make_tenant


@pytest.fixture
def tenant(database: Database) -> Tenant:
    """A fresh workspace (workspaces are isolated, so no emptied database is needed)."""
    return make_tenant(database, f"sched-{uuid4().hex[:12]}")


YEAR = datetime.now(UTC).year + 1
#: The first Monday of next year.
FIRST_MONDAY = date(YEAR, 1, 1) + timedelta(days=(7 - date(YEAR, 1, 1).weekday()) % 7)
HORIZON_DAYS = 90  # the default setting


def ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def local_iso(day: date, hour: int = 9, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute)).isoformat()


def soon(days: int = 1, hour: int = 9) -> datetime:
    """A local naive wall time ``days`` from today (UTC) at ``hour``."""
    return datetime.combine(datetime.now(UTC).date() + timedelta(days=days), time(hour))


def make_contact(api: httpx.Client, name: str = "Harbour Dental") -> dict[str, Any]:
    r = api.post("/contacts", json={"display_name": name, "kind": "organization"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def make_schedule(api: httpx.Client, contact_id: int, **body: Any) -> dict[str, Any]:
    body.setdefault("produces", "delivery")
    body.setdefault("title", "Monthly check")
    body.setdefault("timezone", "UTC")
    r = api.post("/schedules", json={"contact_id": contact_id, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def rows_of(api: httpx.Client, schedule: dict[str, Any]) -> list[dict[str, Any]]:
    """The activities or deliveries a schedule made, by start."""
    if schedule["produces"] == "delivery":
        path = f"/contacts/{schedule['contact_id']}/deliveries"
    else:
        path = f"/contacts/{schedule['contact_id']}/activities"
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = api.get(path, params=params).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    mine = [row for row in items if row["schedule_id"] == schedule["id"]]
    return sorted(mine, key=lambda row: row["occurrence_key"])


def start_of(row: dict[str, Any]) -> datetime:
    value = ts(row.get("scheduled_start") or row.get("start_at") or row.get("due_at"))
    assert value is not None
    return value


def occurrences(api: httpx.Client, schedule_id: int, start: str, end: str) -> list[dict[str, Any]]:
    r = api.get(f"/schedules/{schedule_id}/occurrences", params={"start": start, "end": end})
    assert r.status_code == 200, r.text
    return list(r.json())


def extend(api: httpx.Client, horizon_days: int | None = None) -> int:
    params = {"horizon_days": horizon_days} if horizon_days else {}
    r = api.post("/schedules/extend", params=params)
    assert r.status_code == 200, r.text
    return int(r.json()["occurrences"])


def events(api: httpx.Client, contact_id: int) -> list[dict[str, Any]]:
    return list(api.get(f"/contacts/{contact_id}/timeline", params={"limit": 200}).json()["items"])


def key_of(schedule_id: int, local: datetime) -> str:
    return f"{schedule_id}@{local:%Y%m%dT%H%M%S}"


# --- validation --------------------------------------------------------------------------------


BAD = [
    ({"rrule": "FREQ=FORTNIGHTLY"}, "rrule"),
    ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "rrule"),
    ({"rrule": "FREQ=HOURLY"}, "rrule"),
    ({"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "rrule"),
    ({"rrule": "DTSTART:20300101T090000 RRULE:FREQ=DAILY"}, "rrule"),
    ({"rrule": "FREQ=DAILY;COUNT=2;UNTIL=20350101"}, "rrule"),
    ({"rrule": "FREQ=DAILY;INTERVAL=0"}, "rrule"),
    ({"rrule": ""}, "rrule"),
    ({"dtstart": f"{YEAR}-01-05T09:00:00+01:00"}, "dtstart"),
    ({"dtstart": "next tuesday"}, "dtstart"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"rrule": "FREQ=DAILY;COUNT=3", "count": 3}, "count"),
    ({"count": 0}, "count"),
    ({"until": f"{YEAR - 2}-01-01T00:00:00"}, "until"),
    ({"exdates": [f"{YEAR}-01-05T10:00:00"]}, "exdates"),
    ({"produces": "activity"}, "activity_kind"),
    ({"duration_minutes": 0}, "duration_minutes"),
    ({"service_id": 999999}, "service_id"),
]


def test_bad_recurrences_name_the_field(api) -> None:
    contact = make_contact(api)
    for change, field in BAD:
        body = {
            "contact_id": contact["id"],
            "produces": "delivery",
            "title": "Plan",
            "rrule": "FREQ=DAILY",
            "dtstart": f"{YEAR}-01-05T09:00:00",
            "timezone": "Europe/London",
            **change,
        }
        r = api.post("/schedules", json=body)
        assert r.status_code == 422, (change, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in r.json()["errors"]], (change, r.json())
    assert api.get("/schedules").json()["items"] == []
    assert api.get(f"/contacts/{contact['id']}/deliveries").json()["items"] == []
    assert [e["type"] for e in events(api, contact["id"])] == ["contact.created"]
    r = api.post(
        "/schedules",
        json={
            "contact_id": 999999,
            "produces": "delivery",
            "title": "x",
            "rrule": "FREQ=DAILY",
            "dtstart": f"{YEAR}-01-05T09:00:00",
        },
    )
    assert r.status_code == 404


# --- materialization ---------------------------------------------------------------------------


def test_occurrences_are_materialized_within_the_horizon_once(api) -> None:
    contact = make_contact(api)
    before = datetime.now(UTC)
    plan = make_schedule(
        api, contact["id"], rrule="FREQ=WEEKLY", dtstart=soon(1, 9).isoformat(), duration_minutes=30
    )
    after = datetime.now(UTC)
    assert plan["status"] == "active" and plan["rrule"] == "FREQ=WEEKLY"
    assert any(
        e["type"] == "schedule.created" and e["subject_id"] == plan["id"]
        for e in events(api, contact["id"])
    )
    until = ts(plan["materialized_until"])
    assert until is not None
    assert before + timedelta(days=HORIZON_DAYS) <= until <= after + timedelta(days=HORIZON_DAYS)

    rows = rows_of(api, plan)
    starts = [start_of(r) for r in rows]
    assert starts[0] == soon(1, 9).replace(tzinfo=UTC)
    # weekly, no gaps, up to the horizon and no further
    assert all(b - a == timedelta(weeks=1) for a, b in pairwise(starts))
    assert starts[-1] < until <= starts[-1] + timedelta(weeks=1)
    assert len(rows) in (12, 13)
    assert all(r["status"] == "scheduled" and r["origin"] == "schedule" for r in rows)
    assert all(ts(r["scheduled_end"]) == start_of(r) + timedelta(minutes=30) for r in rows)
    # the plan's occurrences do not convert the contact by themselves
    assert api.get(f"/contacts/{contact['id']}").json()["stage"] == "contact"
    assert ts(api.get(f"/contacts/{contact['id']}").json()["next_activity_at"]) == starts[0]

    assert extend(api) == 0
    added = extend(api, 200)
    assert added > 0
    assert extend(api, 200) == 0
    rows = rows_of(api, plan)
    assert len(rows) == len({r["occurrence_key"] for r in rows}) == len(starts) + added
    assert max(start_of(r) for r in rows) < datetime.now(UTC) + timedelta(days=200)


@pytest.mark.parametrize(
    ("zone", "standard_hour", "dst_hour"),
    [("Europe/London", 9, 8), ("America/New_York", 14, 13), ("Pacific/Auckland", 21, 20)],
)
def test_nine_stays_nine_across_daylight_saving(
    api, zone: str, standard_hour: int, dst_hour: int
) -> None:
    contact = make_contact(api)
    plan = make_schedule(
        api,
        contact["id"],
        rrule="FREQ=WEEKLY;BYDAY=MO",
        dtstart=local_iso(FIRST_MONDAY),
        timezone=zone,
    )
    year = occurrences(api, plan["id"], f"{YEAR}-01-01T00:00:00Z", f"{YEAR + 1}-01-01T00:00:00Z")
    assert len(year) in (52, 53)
    tz = ZoneInfo(zone)
    hours = set()
    for occ in year:
        local = ts(occ["local_start"])
        start = ts(occ["start"])
        assert local is not None and start is not None
        assert (local.hour, local.minute, local.weekday()) == (9, 0, 0)
        assert start == datetime.combine(local.date(), time(9), tzinfo=tz).astimezone(UTC)
        assert start.astimezone(tz).hour == 9
        hours.add(start.hour)
        in_dst = bool(local.replace(tzinfo=tz).dst())
        assert start.hour == (dst_hour if in_dst else standard_hour), occ
    assert hours == {standard_hour, dst_hour}
    # both changes are crossed: the first week of each side of each change
    utc_hours = [datetime.fromisoformat(o["start"]).hour for o in year]
    changes = [b for a, b in pairwise(utc_hours) if a != b]
    assert len(changes) == 2

    # materialized rows carry the same instants
    extend(api, (date(YEAR + 1, 1, 1) - datetime.now(UTC).date()).days)
    rows = {r["occurrence_key"]: r for r in rows_of(api, plan)}
    for occ in year:
        assert start_of(rows[occ["key"]]) == ts(occ["start"])
        assert rows[occ["key"]]["timezone"] == zone


def test_a_timed_activity_plan_keeps_local_time(api) -> None:
    contact = make_contact(api)
    plan = make_schedule(
        api,
        contact["id"],
        produces="activity",
        activity_kind="visit",
        rrule="FREQ=MONTHLY;BYDAY=1TU",
        dtstart=local_iso(FIRST_MONDAY, 8, 30),
        timezone="America/New_York",
        duration_minutes=45,
    )
    extend(api, (date(YEAR + 1, 1, 1) - datetime.now(UTC).date()).days)
    rows = [r for r in rows_of(api, plan) if start_of(r).year == YEAR]
    assert len(rows) == 12
    tz = ZoneInfo("America/New_York")
    for row in rows:
        local = start_of(row).astimezone(tz)
        assert (local.hour, local.minute, local.weekday()) == (8, 30, 1) and local.day <= 7
        assert ts(row["end_at"]) == start_of(row) + timedelta(minutes=45)
        assert row["kind"] == "visit" and row["origin"] == "schedule"
    assert {start_of(r).hour for r in rows} == {12, 13}


def test_count_and_until_are_respected(api) -> None:
    contact = make_contact(api)
    counted = make_schedule(
        api, contact["id"], rrule="FREQ=WEEKLY;COUNT=5", dtstart=local_iso(FIRST_MONDAY)
    )
    given = make_schedule(
        api, contact["id"], rrule="FREQ=DAILY", count=3, dtstart=local_iso(FIRST_MONDAY, 15)
    )
    until = make_schedule(
        api,
        contact["id"],
        rrule="FREQ=WEEKLY",
        until=local_iso(FIRST_MONDAY + timedelta(days=21), 11),
        dtstart=local_iso(FIRST_MONDAY, 11),
    )
    in_rule = make_schedule(
        api,
        contact["id"],
        rrule=f"FREQ=DAILY;UNTIL={YEAR}0110T120000Z",
        dtstart=f"{YEAR}-01-08T12:00:00",
        timezone="Europe/Paris",
    )
    extend(api, 3000)
    assert len(rows_of(api, counted)) == 5
    assert len(rows_of(api, given)) == 3
    assert [start_of(r).date() for r in rows_of(api, until)] == [
        FIRST_MONDAY + timedelta(days=d) for d in (0, 7, 14, 21)
    ]
    # 12:00 Paris is 11:00Z, so the 10th at 12:00 local is still before UNTIL
    assert [start_of(r) for r in rows_of(api, in_rule)] == [
        datetime(YEAR, 1, d, 11, tzinfo=UTC) for d in (8, 9, 10)
    ]
    assert "COUNT=5" in counted["rrule"] and "COUNT=3" in given["rrule"]
    assert "UNTIL=" in until["rrule"]


def test_exdates_are_skipped(api) -> None:
    contact = make_contact(api)
    second = datetime.combine(FIRST_MONDAY + timedelta(days=7), time(9))
    plan = make_schedule(
        api,
        contact["id"],
        rrule="FREQ=WEEKLY;COUNT=4",
        dtstart=local_iso(FIRST_MONDAY),
        exdates=[second.isoformat()],
        timezone="Europe/London",
    )
    assert plan["exdates"] == [second.isoformat()]
    occ = occurrences(api, plan["id"], f"{YEAR}-01-01T00:00:00Z", f"{YEAR}-03-01T00:00:00Z")
    # COUNT counts the excluded one too (RFC 5545)
    assert [ts(o["local_start"]) for o in occ] == [
        datetime.combine(FIRST_MONDAY + timedelta(days=d), time(9)) for d in (0, 14, 21)
    ]
    extend(api, 800)
    keys = [r["occurrence_key"] for r in rows_of(api, plan)]
    assert len(keys) == 3 and key_of(plan["id"], second) not in keys


# --- one occurrence ----------------------------------------------------------------------------


def test_cancel_one_occurrence(api) -> None:
    contact = make_contact(api)
    first = soon(2, 10)
    plan = make_schedule(api, contact["id"], rrule="FREQ=WEEKLY", dtstart=first.isoformat())
    second = first + timedelta(weeks=1)
    key = key_of(plan["id"], second)
    row = next(r for r in rows_of(api, plan) if r["occurrence_key"] == key)

    r = api.post(
        f"/schedules/{plan['id']}/occurrences/cancel",
        json={"local_start": second.isoformat(), "reason": "bank holiday"},
    )
    assert r.status_code == 200, r.text
    assert second.isoformat() in r.json()["exdates"]
    cancelled = api.get(f"/deliveries/{row['id']}").json()
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "bank holiday"
    assert any(
        e["type"] == "delivery.cancelled" and e["subject_id"] == row["id"]
        for e in events(api, contact["id"])
    )
    window = occurrences(
        api,
        plan["id"],
        datetime.now(UTC).isoformat(),
        (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    )
    assert key not in [o["key"] for o in window]

    extend(api, 200)
    same = [r for r in rows_of(api, plan) if r["occurrence_key"] == key]
    assert [r["id"] for r in same] == [row["id"]] and same[0]["status"] == "cancelled"

    # beyond the horizon: remembered, and never materialized
    far = first + timedelta(weeks=40)
    r = api.post(
        f"/schedules/{plan['id']}/occurrences/cancel", json={"local_start": far.isoformat()}
    )
    assert r.status_code == 200, r.text
    extend(api, 400)
    keys = [r["occurrence_key"] for r in rows_of(api, plan)]
    assert key_of(plan["id"], far) not in keys
    assert key_of(plan["id"], far + timedelta(weeks=1)) in keys

    r = api.post(
        f"/schedules/{plan['id']}/occurrences/cancel",
        json={"local_start": (first + timedelta(hours=1)).isoformat()},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "exdates"


def test_move_one_occurrence(api) -> None:
    contact = make_contact(api)
    first = soon(2, 10)
    plan = make_schedule(
        api, contact["id"], rrule="FREQ=WEEKLY", dtstart=first.isoformat(), duration_minutes=60
    )
    second = first + timedelta(weeks=1)
    key = key_of(plan["id"], second)
    row = next(r for r in rows_of(api, plan) if r["occurrence_key"] == key)
    count_before = len(rows_of(api, plan))

    new_start = (second + timedelta(days=1, hours=4)).replace(tzinfo=UTC)
    r = api.post(
        f"/schedules/{plan['id']}/occurrences/move",
        json={"local_start": second.isoformat(), "new_start": new_start.isoformat()},
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["key"] == key and moved["delivery"]["id"] == row["id"]
    assert ts(moved["delivery"]["scheduled_start"]) == new_start
    assert ts(moved["delivery"]["scheduled_end"]) == new_start + timedelta(hours=1)
    assert any(
        e["type"] == "delivery.rescheduled" and e["subject_id"] == row["id"]
        for e in events(api, contact["id"])
    )
    extend(api, HORIZON_DAYS)
    assert len(rows_of(api, plan)) == count_before
    assert ts(api.get(f"/deliveries/{row['id']}").json()["scheduled_start"]) == new_start

    # beyond the horizon: the occurrence is materialized first, then moved; extend keeps it
    far = first + timedelta(weeks=30)
    far_start = (far + timedelta(hours=3)).replace(tzinfo=UTC)
    r = api.post(
        f"/schedules/{plan['id']}/occurrences/move",
        json={
            "local_start": far.isoformat(),
            "new_start": far_start.isoformat(),
            "new_end": (far_start + timedelta(minutes=20)).isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    far_row = r.json()["delivery"]
    assert far_row["occurrence_key"] == key_of(plan["id"], far)
    assert ts(far_row["scheduled_end"]) == far_start + timedelta(minutes=20)
    extend(api, 400)
    same = [r for r in rows_of(api, plan) if r["occurrence_key"] == key_of(plan["id"], far)]
    assert [r["id"] for r in same] == [far_row["id"]]
    assert start_of(same[0]) == far_start

    r = api.post(
        f"/schedules/{plan['id']}/occurrences/move",
        json={
            "local_start": (first + timedelta(days=1)).isoformat(),
            "new_start": new_start.isoformat(),
        },
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "local_start"


# --- this and following ------------------------------------------------------------------------


def test_split_this_and_following(api) -> None:
    contact = make_contact(api)
    first = soon(1, 9)
    plan = make_schedule(
        api,
        contact["id"],
        produces="activity",
        activity_kind="meeting",
        title="Weekly review",
        rrule="FREQ=WEEKLY",
        dtstart=first.isoformat(),
        timezone="Europe/London",
    )
    old_rows = rows_of(api, plan)
    assert len(old_rows) >= 10
    # history: the first one happened
    assert api.post(f"/activities/{old_rows[0]['id']}/complete").status_code == 200
    old_rows = rows_of(api, plan)

    cut = first + timedelta(weeks=3)
    r = api.post(
        f"/schedules/{plan['id']}/split",
        json={
            "at": cut.isoformat(),
            "dtstart": (cut + timedelta(hours=1)).isoformat(),
            "title": "Weekly review (10:00)",
        },
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["split_from_id"] == plan["id"]
    assert new["dtstart_local"] == (cut + timedelta(hours=1)).isoformat()
    assert new["title"] == "Weekly review (10:00)" and new["status"] == "active"

    old = api.get(f"/schedules/{plan['id']}").json()
    assert old["status"] == "active"
    assert f"UNTIL={(cut - timedelta(seconds=1)):%Y%m%dT%H%M%S}" in old["rrule"]
    after = {r["id"]: r for r in rows_of(api, plan)}
    london = ZoneInfo("Europe/London")
    replaced = 0
    for row in old_rows:
        now_row = after[row["id"]]
        if start_of(row).astimezone(london).replace(tzinfo=None) < cut:
            assert now_row == row  # earlier occurrences are untouched
        else:
            replaced += 1
            assert now_row["status"] == "cancelled"
    assert replaced == len(old_rows) - 3
    new_rows = rows_of(api, new)
    assert new_rows
    for i, row in enumerate(new_rows):
        local = start_of(row).astimezone(london)
        assert local.replace(tzinfo=None) == cut + timedelta(hours=1, weeks=i)
        assert row["title"] == "Weekly review (10:00)" and row["status"] == "open"
    changed = [e for e in events(api, contact["id"]) if e["type"] == "schedule.changed"]
    assert changed and changed[0]["data"]["new_schedule_id"] == new["id"]

    # the old plan materializes nothing after its UNTIL
    extend(api, 300)
    assert len(rows_of(api, plan)) == len(old_rows)
    assert [r["status"] for r in rows_of(api, plan)][:3] == ["done", "open", "open"]
    r = api.post(
        f"/schedules/{plan['id']}/split", json={"at": (first + timedelta(days=1)).isoformat()}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "at"


def test_split_with_a_new_rule_and_from_the_first_occurrence(api) -> None:
    contact = make_contact(api)
    first = soon(3, 8)
    plan = make_schedule(api, contact["id"], rrule="FREQ=DAILY;COUNT=20", dtstart=first.isoformat())
    r = api.post(
        f"/schedules/{plan['id']}/split",
        json={"at": (first + timedelta(days=10)).isoformat(), "rrule": "FREQ=WEEKLY;COUNT=2"},
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert len([x for x in rows_of(api, plan) if x["status"] == "scheduled"]) == 10
    assert [start_of(x) for x in rows_of(api, new)] == [
        (first + timedelta(days=d)).replace(tzinfo=UTC) for d in (10, 17)
    ]
    # "this and following" from the very first: the old plan stops altogether
    r = api.post(
        f"/schedules/{new['id']}/split",
        json={"at": (first + timedelta(days=10)).isoformat(), "title": "Renamed"},
    )
    assert r.status_code == 201, r.text
    assert api.get(f"/schedules/{new['id']}").json()["status"] == "stopped"
    assert all(x["status"] == "cancelled" for x in rows_of(api, new))
    r = api.post(
        f"/schedules/{new['id']}/split",
        json={"at": (first + timedelta(days=10)).isoformat(), "title": "Again"},
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid-transition"


# --- stopping ----------------------------------------------------------------------------------


def test_stop_cancels_future_open_occurrences(api) -> None:
    contact = make_contact(api)
    plan = make_schedule(
        api,
        contact["id"],
        produces="activity",
        activity_kind="task",
        title="Water the plants",
        rrule="FREQ=DAILY",
        dtstart=soon(1, 7).isoformat(),
    )
    rows = rows_of(api, plan)
    assert rows and all(r["due_at"] and r["start_at"] is None for r in rows)
    assert api.post(f"/activities/{rows[0]['id']}/complete").status_code == 200

    r = api.post(f"/schedules/{plan['id']}/stop", json={"reason": "moved abroad"})
    assert r.status_code == 200, r.text
    stopped = r.json()
    assert stopped["status"] == "stopped" and stopped["stop_reason"] == "moved abroad"
    assert stopped["stopped_at"] is not None
    after = rows_of(api, plan)
    assert after[0]["status"] == "done"
    assert all(r["status"] == "cancelled" for r in after[1:])
    assert len(after) == len(rows)
    [event] = [e for e in events(api, contact["id"]) if e["type"] == "schedule.stopped"]
    assert event["subject_id"] == plan["id"] and event["data"]["cancelled"] == len(rows) - 1
    assert api.get(f"/contacts/{contact['id']}").json()["next_activity_at"] is None

    assert extend(api, 300) == 0
    assert len(rows_of(api, plan)) == len(rows)
    r = api.post(f"/schedules/{plan['id']}/stop")
    assert r.status_code == 409 and r.json()["code"] == "invalid-transition"
    assert (
        api.get("/schedules", params={"status": "stopped"}).json()["items"][0]["id"] == plan["id"]
    )
    assert api.get("/schedules", params={"status": "active"}).json()["items"] == []


def _client(api: httpx.Client, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    contact = make_contact(api, name)
    agreement = api.post(
        f"/contacts/{contact['id']}/agreements",
        json={
            "title": "Care plan",
            "starts_on": (datetime.now(UTC).date() - timedelta(days=30)).isoformat(),
        },
    ).json()
    assert api.post(f"/agreements/{agreement['id']}/confirm").status_code == 200
    return contact, agreement


def test_ending_the_agreement_stops_its_schedule(api) -> None:
    contact, agreement = _client(api, "Linked")
    linked = make_schedule(
        api,
        contact["id"],
        agreement_id=agreement["id"],
        title="Covered",
        rrule="FREQ=WEEKLY",
        dtstart=soon(1, 9).isoformat(),
    )
    free = make_schedule(
        api,
        contact["id"],
        title="Pay as you go",
        rrule="FREQ=MONTHLY",
        dtstart=soon(2, 14).isoformat(),
    )
    r = api.post(f"/agreements/{agreement['id']}/end", json={"reason": "completed"})
    assert r.status_code == 200, r.text

    stopped = api.get(f"/schedules/{linked['id']}").json()
    assert stopped["status"] == "stopped" and "agreement ended" in stopped["stop_reason"]
    assert all(r["status"] == "cancelled" for r in rows_of(api, linked))
    # the other plan's upcoming visits still hold the relationship
    assert api.get(f"/schedules/{free['id']}").json()["status"] == "active"
    assert all(r["status"] == "scheduled" for r in rows_of(api, free))
    assert api.get(f"/contacts/{contact['id']}").json()["stage"] == "client"
    stops = [e for e in events(api, contact["id"]) if e["type"] == "schedule.stopped"]
    assert [e["subject_id"] for e in stops] == [linked["id"]]


def test_ending_the_relationship_stops_every_schedule(api) -> None:
    contact, agreement = _client(api, "Leaving")
    plans = [
        make_schedule(
            api,
            contact["id"],
            agreement_id=agreement["id"],
            rrule="FREQ=WEEKLY",
            dtstart=soon(1, 9).isoformat(),
        ),
        make_schedule(
            api,
            contact["id"],
            produces="activity",
            activity_kind="call",
            title="Check-in call",
            rrule="FREQ=MONTHLY",
            dtstart=soon(3, 16).isoformat(),
        ),
    ]
    other = make_contact(api, "Staying")
    theirs = make_schedule(api, other["id"], rrule="FREQ=WEEKLY", dtstart=soon(1, 11).isoformat())

    r = api.post(f"/contacts/{contact['id']}/end", json={"reason": "competitor"})
    assert r.status_code == 201, r.text
    for plan in plans:
        got = api.get(f"/schedules/{plan['id']}").json()
        assert got["status"] == "stopped" and "competitor" in got["stop_reason"]
        assert rows_of(api, plan) and all(r["status"] == "cancelled" for r in rows_of(api, plan))
    stops = {e["subject_id"] for e in events(api, contact["id"]) if e["type"] == "schedule.stopped"}
    assert stops == {p["id"] for p in plans}
    assert api.get(f"/schedules/{theirs['id']}").json()["status"] == "active"
    assert api.get(f"/contacts/{contact['id']}").json()["next_activity_at"] is None
    assert api.get(f"/agreements/{agreement['id']}").json()["status"] == "ended"
    listed = api.get(f"/contacts/{contact['id']}/schedules", params={"status": "stopped"}).json()
    assert {s["id"] for s in listed["items"]} == {p["id"] for p in plans}
