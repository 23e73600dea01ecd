"""Calendar feeds through HTTP, parsed back with ``icalendar``: every event, its UID, times and
zone, cancelled items, the member and contact scopes, revocation, bad tokens and roles."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar

from tenure.domain.access import Role
from tests.conftest import Database, Tenant, client_for, make_tenant


@pytest.fixture
def tenant(database: Database) -> Tenant:
    """A fresh workspace (workspaces are isolated, so no emptied database is needed)."""
    return make_tenant(database, f"cal-{uuid4().hex[:12]}")


@pytest.fixture
def other_tenant(database: Database) -> Tenant:
    return make_tenant(database, f"cal-other-{uuid4().hex[:12]}")


DAY = (datetime.now(UTC) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)


def at(days: int, hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(days=days, hours=hour, minutes=minute)


def post(api: httpx.Client, path: str, **body: Any) -> dict[str, Any]:
    r = api.post(path, json=body)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def timed(
    api: httpx.Client, kind: str, start: datetime, minutes: int = 60, **extra: Any
) -> dict[str, Any]:
    return post(
        api,
        "/activities",
        kind=kind,
        title=f"{kind} {start:%d %H:%M}",
        start_at=start.isoformat(),
        end_at=(start + timedelta(minutes=minutes)).isoformat(),
        **extra,
    )


def fetch(url: str) -> Calendar:
    r = httpx.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(r.content)


def events_by_uid(cal: Calendar) -> dict[str, Any]:
    events = list(cal.walk("VEVENT"))
    uids = [str(e["UID"]) for e in events]
    assert len(uids) == len(set(uids)), "UIDs are unique"
    return dict(zip(uids, events, strict=True))


def check_event(event: Any, *, start: str, end: str, zone: str, title: str, status: str) -> None:
    dtstart, dtend = event.decoded("DTSTART"), event.decoded("DTEND")
    assert dtstart == datetime.fromisoformat(start)
    assert dtend == datetime.fromisoformat(end)
    assert str(dtstart.tzinfo) == zone and str(dtend.tzinfo) == zone
    assert event["DTSTART"].params["TZID"] == zone
    # the local wall time in the feed is the instant's local time in that zone
    assert dtstart.replace(tzinfo=None) == datetime.fromisoformat(start).astimezone(
        ZoneInfo(zone)
    ).replace(tzinfo=None)
    assert str(event["SUMMARY"]) == title
    assert str(event["STATUS"]) == status


def test_a_member_feed_shows_that_members_timed_items(server, api, tenant) -> None:
    member = tenant.member(Role.MEMBER)
    home = post(api, "/contacts", display_name="Harbour Dental", timezone="Europe/Paris")
    appointment = timed(api, "appointment", at(0, 9), contact_id=home["id"], location="12 Quai")
    meeting = timed(api, "meeting", at(0, 13), 30, contact_id=home["id"])
    post(api, f"/activities/{meeting['id']}/cancel")
    internal = timed(api, "call", at(1, 8), 15, timezone="Asia/Tokyo")
    post(api, "/activities", kind="task", title="no time", due_at=at(1, 9).isoformat())
    scheduled = post(
        api,
        "/deliveries",
        contact_id=home["id"],
        title="Boiler service",
        scheduled_start=at(2, 15).isoformat(),
        timezone="America/New_York",
    )
    dropped = post(
        api,
        "/deliveries",
        contact_id=home["id"],
        title="Dropped",
        scheduled_start=at(3, 15).isoformat(),
    )
    post(api, f"/deliveries/{dropped['id']}/cancel")
    post(api, "/deliveries", contact_id=home["id"], title="Someday")  # requested: no time
    theirs = timed(api, "appointment", at(0, 9), assignee_id=member.user_id)

    feed = post(api, "/calendar-feeds", scope="member", name="My visits")
    assert feed["user_id"] == tenant.owner.user_id and feed["scope"] == "member"
    cal = fetch(feed["url"])
    assert str(cal["X-WR-CALNAME"]) == "My visits"
    events = events_by_uid(cal)
    expected = {
        f"activity-{appointment['id']}@tenure": (appointment, "Europe/Paris", "CONFIRMED"),
        f"activity-{meeting['id']}@tenure": (meeting, "Europe/Paris", "CANCELLED"),
        f"activity-{internal['id']}@tenure": (internal, "Asia/Tokyo", "CONFIRMED"),
        f"delivery-{scheduled['id']}@tenure": (scheduled, "America/New_York", "CONFIRMED"),
        f"delivery-{dropped['id']}@tenure": (dropped, "Europe/Paris", "CANCELLED"),
    }
    assert set(events) == set(expected)
    assert f"activity-{theirs['id']}@tenure" not in events
    for uid, (item, zone, status) in expected.items():
        start = item.get("start_at") or item["scheduled_start"]
        end = item.get("end_at") or item["scheduled_end"]
        check_event(
            events[uid], start=start, end=end, zone=zone, title=item["title"], status=status
        )
    assert str(events[f"activity-{appointment['id']}@tenure"]["LOCATION"]) == "12 Quai"
    zones = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    assert {"Europe/Paris", "Asia/Tokyo", "America/New_York"} <= zones

    # the same UIDs and times on the next fetch (calendar apps match events by UID)
    again = events_by_uid(fetch(feed["url"]))
    assert set(again) == set(events)
    for uid, event in events.items():
        assert again[uid].decoded("DTSTART") == event.decoded("DTSTART")

    # a moved item keeps its UID and shows its new time
    etag = api.get(f"/activities/{appointment['id']}").headers["ETag"]
    r = api.patch(
        f"/activities/{appointment['id']}",
        json={"start_at": at(0, 10).isoformat(), "end_at": at(0, 11).isoformat()},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200, r.text
    moved = events_by_uid(fetch(feed["url"]))[f"activity-{appointment['id']}@tenure"]
    assert moved.decoded("DTSTART") == at(0, 10)
    assert moved.decoded("SEQUENCE") > events[f"activity-{appointment['id']}@tenure"].decoded(
        "SEQUENCE"
    )

    # the member's own feed holds only their appointment
    with client_for(server, member.token) as as_member:
        mine = post(as_member, "/calendar-feeds", scope="member")
    assert set(events_by_uid(fetch(mine["url"]))) == {f"activity-{theirs['id']}@tenure"}


def test_a_contact_feed_shows_only_that_contacts_items(api, tenant) -> None:
    member = tenant.member(Role.MEMBER)
    mine = post(api, "/contacts", display_name="Mine")
    other = post(api, "/contacts", display_name="Other")
    own = timed(api, "visit", at(0, 9), contact_id=mine["id"])
    by_member = timed(api, "meeting", at(0, 9), contact_id=mine["id"], assignee_id=member.user_id)
    delivery = post(
        api,
        "/deliveries",
        contact_id=mine["id"],
        title="Audit",
        scheduled_start=at(1, 9).isoformat(),
    )
    timed(api, "visit", at(2, 9), contact_id=other["id"])
    post(
        api,
        "/deliveries",
        contact_id=other["id"],
        title="Theirs",
        scheduled_start=at(3, 9).isoformat(),
    )
    timed(api, "meeting", at(4, 9))  # internal

    feed = post(api, "/calendar-feeds", scope="contact", contact_id=mine["id"])
    assert feed["contact_id"] == mine["id"] and feed["user_id"] is None
    assert set(events_by_uid(fetch(feed["url"]))) == {
        f"activity-{own['id']}@tenure",
        f"activity-{by_member['id']}@tenure",
        f"delivery-{delivery['id']}@tenure",
    }


def test_a_recurring_plan_appears_at_local_time(api) -> None:
    contact = post(api, "/contacts", display_name="Plan", timezone="Europe/London")
    first = datetime.combine(DAY.date(), time(9))
    plan = post(
        api,
        "/schedules",
        contact_id=contact["id"],
        produces="delivery",
        title="Weekly clean",
        rrule="FREQ=WEEKLY",
        dtstart=first.isoformat(),
    )
    r = api.post("/schedules/extend", params={"horizon_days": 200})
    assert r.status_code == 200
    r = api.post(
        f"/schedules/{plan['id']}/occurrences/cancel",
        json={"local_start": (first + timedelta(weeks=1)).isoformat()},
    )
    assert r.status_code == 200, r.text
    rows = api.get(f"/contacts/{contact['id']}/deliveries", params={"limit": 200}).json()["items"]
    assert len(rows) >= 28

    feed = post(api, "/calendar-feeds", scope="contact", contact_id=contact["id"])
    events = events_by_uid(fetch(feed["url"]))
    assert set(events) == {f"delivery-{row['id']}@tenure" for row in rows}
    london = ZoneInfo("Europe/London")
    utc_hours = set()
    for row in rows:
        event = events[f"delivery-{row['id']}@tenure"]
        start = event.decoded("DTSTART")
        assert (start.hour, start.minute) == (9, 0) and str(start.tzinfo) == "Europe/London"
        assert start == datetime.fromisoformat(row["scheduled_start"]).astimezone(london)
        utc_hours.add(start.astimezone(UTC).hour)
        expected_status = "CANCELLED" if row["status"] == "cancelled" else "CONFIRMED"
        assert str(event["STATUS"]) == expected_status
    assert utc_hours == {8, 9}  # the plan crosses a daylight-saving change
    assert sum(str(e["STATUS"]) == "CANCELLED" for e in events.values()) == 1


def test_revoked_and_unknown_urls_are_404(api) -> None:
    feed = post(api, "/calendar-feeds", scope="member")
    assert httpx.get(feed["url"]).status_code == 200
    r = api.post(f"/calendar-feeds/{feed['id']}/revoke")
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    r = httpx.get(feed["url"])
    assert r.status_code == 404
    assert r.json()["code"] == "not-found"
    # revoking again is harmless
    assert api.post(f"/calendar-feeds/{feed['id']}/revoke").status_code == 200
    assert httpx.get(feed["url"]).status_code == 404

    base = feed["url"].rsplit("/", 1)[0]
    for secret in (
        "garbage",
        "cal_garbage",
        "cal_" + "A" * 43,
        "cal_%00",
        "cal_%FF%FE",
        "tnr_" + "x" * 40,
        "cal_" + "x" * 5000,
        "%20",
        "cal_..%2F..%2Fhealth",
    ):
        r = httpx.get(f"{base}/{secret}.ics")
        assert r.status_code == 404, (secret, r.status_code, r.text[:200])
    # an API token is not a feed secret, and a feed secret is not an API token
    secret = feed["url"].rsplit("/", 1)[1].removesuffix(".ics")
    with httpx.Client(
        base_url=str(api.base_url), headers={"Authorization": f"Bearer {secret}"}
    ) as c:
        assert c.get("/activities").status_code == 401


def test_feed_roles(server, api, tenant, other_tenant) -> None:
    member, viewer = tenant.member(Role.MEMBER), tenant.member(Role.VIEWER)
    contact = post(api, "/contacts", display_name="Client")
    owners = post(api, "/calendar-feeds", scope="member")
    with client_for(server, viewer.token) as as_viewer:
        r = as_viewer.post("/calendar-feeds", json={"scope": "member"})
        assert r.status_code == 201, r.text
        own = r.json()
        assert own["user_id"] == viewer.user_id
        assert httpx.get(own["url"]).status_code == 200
        r = as_viewer.post(
            "/calendar-feeds", json={"scope": "member", "user_id": tenant.owner.user_id}
        )
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        r = as_viewer.post(
            "/calendar-feeds", json={"scope": "contact", "contact_id": contact["id"]}
        )
        assert r.status_code == 403
        assert as_viewer.post(f"/calendar-feeds/{owners['id']}/revoke").status_code == 403
        assert [f["id"] for f in as_viewer.get("/calendar-feeds").json()["items"]] == [own["id"]]
        assert as_viewer.post(f"/calendar-feeds/{own['id']}/revoke").status_code == 200
    with client_for(server, member.token) as as_member:
        r = as_member.post("/calendar-feeds", json={"scope": "member", "user_id": viewer.user_id})
        assert r.status_code == 403
        r = as_member.post(
            "/calendar-feeds", json={"scope": "contact", "contact_id": contact["id"]}
        )
        assert r.status_code == 201
        assert as_member.post(f"/calendar-feeds/{owners['id']}/revoke").status_code == 403
    assert httpx.get(owners["url"]).status_code == 200
    # owners and admins may make a member's feed for them
    r = api.post("/calendar-feeds", json={"scope": "member", "user_id": member.user_id})
    assert r.status_code == 201 and r.json()["user_id"] == member.user_id
    r = api.post("/calendar-feeds", json={"scope": "member", "user_id": other_tenant.owner.user_id})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "user_id"
    r = api.post("/calendar-feeds", json={"scope": "contact"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "contact_id"
    with client_for(server, other_tenant.owner.token) as stranger:
        r = stranger.post("/calendar-feeds", json={"scope": "contact", "contact_id": contact["id"]})
        assert r.status_code == 404
        assert stranger.post(f"/calendar-feeds/{owners['id']}/revoke").status_code == 404
        assert stranger.get("/calendar-feeds").json()["items"] == []
    assert httpx.get(owners["url"]).status_code == 200
