"""Issue 3's "done means": plan a monthly service for a client, see the visits in a calendar
feed, deliver them, handle a support case, and see it all on the client's timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from icalendar import Calendar


def test_monthly_service_plan_end_to_end(api, server) -> None:
    contact = api.post(
        "/contacts",
        json={
            "display_name": "Harbour Dental",
            "kind": "organization",
            "timezone": "Europe/London",
        },
    ).json()
    service = api.post(
        "/services",
        json={
            "name": "Monthly IT check",
            "default_duration_minutes": 90,
            "default_price_minor": 25000,
            "currency": "GBP",
        },
    )
    assert service.status_code == 201, service.text
    service = service.json()

    # A requested delivery is not evidence; converting with it is refused.
    requested = api.post(
        "/deliveries", json={"contact_id": contact["id"], "service_id": service["id"]}
    ).json()
    assert requested["status"] == "requested"
    r = api.post(
        f"/contacts/{contact['id']}/convert",
        json={"evidence": {"kind": "delivery", "id": requested["id"]}},
    )
    assert r.status_code == 409 and r.json()["code"] == "invalid-evidence"

    # Scheduling it confirms it: the contact becomes a client with the delivery as evidence.
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    r = api.post(
        f"/deliveries/{requested['id']}/schedule", json={"scheduled_start": start.isoformat()}
    )
    assert r.status_code == 200, r.text
    end = datetime.fromisoformat(r.json()["scheduled_end"].replace("Z", "+00:00"))
    assert end == start + timedelta(minutes=90)  # the service's default duration
    client = api.get(f"/contacts/{contact['id']}").json()
    assert client["stage"] == "client"
    transitions = api.get(f"/contacts/{contact['id']}/transitions").json()["items"]
    assert transitions[-1]["evidence_kind"] == "delivery"

    # A monthly plan on the 5th at 09:00 London time.
    first = datetime.now(UTC).year + 1
    r = api.post(
        "/schedules",
        json={
            "contact_id": contact["id"],
            "produces": "delivery",
            "service_id": service["id"],
            "rrule": "FREQ=MONTHLY;BYMONTHDAY=5",
            "dtstart": f"{first}-01-05T09:00:00",
            "timezone": "Europe/London",
        },
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["rrule"].startswith("FREQ=MONTHLY")

    # Materialization is idempotent.
    r1 = api.post("/schedules/extend", params={"horizon_days": 800}).json()
    r2 = api.post("/schedules/extend", params={"horizon_days": 800}).json()
    assert r1["occurrences"] >= 12
    assert r2["occurrences"] == 0

    occ = api.get(
        f"/schedules/{plan['id']}/occurrences",
        params={"start": f"{first}-01-01T00:00:00Z", "end": f"{first}-12-31T00:00:00Z"},
    ).json()
    assert len(occ) == 12
    # 09:00 local all year: 09:00Z in winter, 08:00Z in summer.
    hours = {o["start"][5:7]: o["start"][11:13] for o in occ}
    assert hours["01"] == "09" and hours["07"] == "08"
    assert all(o["delivery"] is not None for o in occ)

    # A calendar feed of the contact shows them, parsed back with icalendar.
    feed = api.post("/calendar-feeds", json={"scope": "contact", "contact_id": contact["id"]})
    assert feed.status_code == 201, feed.text
    url = feed.json()["url"]
    ics = httpx.get(url)
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(ics.content)
    events = list(cal.walk("VEVENT"))
    uids = {str(e["UID"]) for e in events}
    assert f"delivery-{requested['id']}@tenure" in uids
    july = [
        e for e in events if e.decoded("DTSTART").month == 7 and e.decoded("DTSTART").year == first
    ]
    assert len(july) == 1
    assert july[0].decoded("DTSTART").hour == 9
    assert str(july[0].decoded("DTSTART").tzinfo) == "Europe/London"

    # Deliver the first one; open and resolve a case; the stage never moves for the case.
    r = api.post(f"/deliveries/{requested['id']}/start")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress"
    r = api.post(
        f"/deliveries/{requested['id']}/deliver",
        json={"outcome_notes": "All backups verified", "follow_up_due": "2030-01-01"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "delivered"
    assert api.get(f"/contacts/{contact['id']}").json()["last_service_at"] is not None
    r = api.post(f"/deliveries/{requested['id']}/cancel")
    assert r.status_code == 409 and r.json()["code"] == "invalid-transition"

    case = api.post(
        "/cases",
        json={"contact_id": contact["id"], "subject": "Printer offline", "priority": "high"},
    ).json()
    assert case["status"] == "open"
    r = api.post(f"/cases/{case['id']}/respond", json={"body": "Looking into it"})
    assert r.json()["first_response_at"] is not None
    r = api.post(f"/cases/{case['id']}/resolve", json={"note": "Driver updated"})
    assert r.json()["status"] == "resolved"
    r = api.post(f"/cases/{case['id']}/resolve")
    assert r.status_code == 409
    assert api.get(f"/contacts/{contact['id']}").json()["stage"] == "client"

    types = [
        e["type"]
        for e in api.get(f"/contacts/{contact['id']}/timeline", params={"limit": 200}).json()[
            "items"
        ]
    ]
    for expected in (
        "delivery.requested",
        "delivery.scheduled",
        "contact.converted",
        "schedule.created",
        "delivery.started",
        "delivery.delivered",
        "case.opened",
        "interaction.logged",
        "case.resolved",
    ):
        assert expected in types

    # Ending the relationship stops the plan and cancels the future visits.
    r = api.post(f"/contacts/{contact['id']}/end", json={"reason": "moved"})
    assert r.status_code == 201, r.text
    assert api.get(f"/schedules/{plan['id']}").json()["status"] == "stopped"
    future = api.get(
        f"/contacts/{contact['id']}/deliveries", params={"status": "scheduled", "limit": 200}
    ).json()["items"]
    assert future == []
    assert "schedule.stopped" in [
        e["type"] for e in api.get(f"/contacts/{contact['id']}/timeline").json()["items"]
    ]

    # A revoked feed answers 404.
    api.post(f"/calendar-feeds/{feed.json()['id']}/revoke")
    assert httpx.get(url).status_code == 404
