"""Activities through HTTP: timing rules per kind, status moves, logging the interaction on
completion, conflicts of appointments and visits, If-Match reschedules, next_activity_at and
the query count of the list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.activities import ActivityKind
from tenure.domain.contacts import ContactKind
from tenure.services import activities, contacts
from tests.conftest import Database, Tenant, client_for, count_statements, make_tenant


@pytest.fixture
def tenant(database: Database) -> Tenant:
    """A fresh workspace in the shared database: workspaces are isolated from each other, so
    these tests need no emptied database (emptying one per test is slow on PostgreSQL)."""
    return make_tenant(database, f"act-{uuid4().hex[:12]}")


@pytest.fixture
def other_tenant(database: Database) -> Tenant:
    return make_tenant(database, f"act-other-{uuid4().hex[:12]}")


BASE = (datetime.now(UTC) + timedelta(days=10)).replace(hour=0, minute=0, second=0, microsecond=0)


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return BASE + timedelta(days=days, hours=hours, minutes=minutes)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def make_contact(api: httpx.Client, name: str = "Ada Lovelace", **extra: Any) -> dict[str, Any]:
    r = api.post("/contacts", json={"display_name": name, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def make_activity(api: httpx.Client, **body: Any) -> dict[str, Any]:
    body.setdefault("title", "Something to do")
    r = api.post("/activities", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def timed(kind: str, start: datetime, minutes: int = 60, **body: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "title": f"{kind} at {start:%H:%M}",
        "start_at": iso(start),
        "end_at": iso(start + timedelta(minutes=minutes)),
        **body,
    }


def fields(response: httpx.Response) -> dict[str, str]:
    """field -> rule of a 422 problem document."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {e["field"]: e["rule"] for e in response.json()["errors"]}


def event_types(api: httpx.Client, contact_id: int) -> list[tuple[str, int | None]]:
    r = api.get(f"/contacts/{contact_id}/timeline", params={"limit": 200})
    assert r.status_code == 200, r.text
    return [(e["type"], e["subject_id"]) for e in r.json()["items"]]


def count_activities(api: httpx.Client) -> int:
    return len(api.get("/activities", params={"limit": 200}).json()["items"])


# --- timing rules ------------------------------------------------------------------------------


GOOD_TIMINGS = [
    ("task", {"due_at": at(1)}),
    ("call", {"due_at": at(1)}),
    ("call", {"start_at": at(1), "end_at": at(1, hours=1)}),
    ("review", {"due_at": at(1)}),
    ("review", {"start_at": at(1), "end_at": at(1, minutes=30)}),
    ("meeting", {"start_at": at(1), "end_at": at(1, hours=1)}),
    ("appointment", {"start_at": at(2), "end_at": at(2, hours=1)}),
    ("visit", {"start_at": at(3), "end_at": at(3, hours=1)}),
]


@pytest.mark.parametrize(("kind", "times"), GOOD_TIMINGS)
def test_each_kind_accepts_its_timing(api, kind: str, times: dict[str, datetime]) -> None:
    body = {"kind": kind, "title": "Fine", **{k: iso(v) for k, v in times.items()}}
    r = api.post("/activities", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "open"
    assert created["origin"] == "manual"
    expected_at = times.get("start_at", times.get("due_at"))
    assert ts(created["at"]) == expected_at
    for name in ("due_at", "start_at", "end_at"):
        assert ts(created[name]) == times.get(name)
    assert r.headers["ETag"] == f'"{created["version"]}"'
    assert r.headers["Location"] == f"/api/v1/activities/{created['id']}"


BAD_TIMINGS = [
    # a task has a due time only
    ("task", {}, {"due_at": "required"}),
    ("task", {"start_at": at(1), "end_at": at(1, 1)}, {"due_at": "required"}),
    ("task", {"due_at": at(1), "start_at": at(1)}, {"start_at": "not-allowed"}),
    ("task", {"due_at": at(1), "end_at": at(1, 1)}, {"end_at": "not-allowed"}),
    # meetings, appointments and visits have a start before an end
    ("meeting", {"due_at": at(1)}, {"due_at": "not-allowed", "start_at": "required"}),
    ("meeting", {"start_at": at(1)}, {"end_at": "required"}),
    ("appointment", {"end_at": at(1)}, {"start_at": "required"}),
    ("appointment", {"start_at": at(1), "end_at": at(1)}, {"end_at": "after-start"}),
    ("visit", {"start_at": at(1), "end_at": at(0, 23)}, {"end_at": "after-start"}),
    ("visit", {}, {"start_at": "required", "end_at": "required"}),
    # calls and reviews have either, never both and never neither
    ("call", {}, {"due_at": "required"}),
    ("call", {"start_at": at(1)}, {"end_at": "required"}),
    ("review", {"due_at": at(1), "start_at": at(1), "end_at": at(1, 1)}, {"due_at": "not-allowed"}),
    ("review", {"start_at": at(1), "end_at": at(0, 20)}, {"end_at": "after-start"}),
]


@pytest.mark.parametrize(("kind", "times", "expected"), BAD_TIMINGS)
def test_timing_rules_name_the_field(
    api, kind: str, times: dict[str, datetime], expected: dict[str, str]
) -> None:
    body = {"kind": kind, "title": "Bad", **{k: iso(v) for k, v in times.items()}}
    r = api.post("/activities", json=body)
    errors = fields(r)
    for name, rule in expected.items():
        assert errors.get(name) == rule, (name, errors)
    assert count_activities(api) == 0


def test_times_without_offset_and_bad_fields_are_refused(api, tenant, other_tenant) -> None:
    errors = fields(
        api.post(
            "/activities", json={"kind": "task", "title": "x", "due_at": "2031-01-01T09:00:00"}
        )
    )
    assert "due_at" in errors
    errors = fields(
        api.post(
            "/activities",
            json={"kind": "task", "title": "x", "due_at": iso(at(1)), "timezone": "Mars/Base"},
        )
    )
    assert errors == {"timezone": "timezone"}
    # Another workspace's user is not a member here.
    errors = fields(
        api.post(
            "/activities",
            json={
                "kind": "task",
                "title": "x",
                "due_at": iso(at(1)),
                "assignee_id": other_tenant.owner.user_id,
            },
        )
    )
    assert errors == {"assignee_id": "member"}
    errors = fields(
        api.post("/activities", json={"kind": "dinner", "title": "x", "due_at": iso(at(1))})
    )
    assert "kind" in errors
    assert count_activities(api) == 0


def test_timezone_defaults_to_the_contacts(api) -> None:
    contact = make_contact(api, timezone="Asia/Tokyo")
    act = make_activity(api, kind="task", contact_id=contact["id"], due_at=iso(at(1)))
    assert act["timezone"] == "Asia/Tokyo"
    internal = make_activity(api, kind="task", due_at=iso(at(1)))
    assert internal["timezone"] == "UTC" and internal["contact_id"] is None


# --- status moves ------------------------------------------------------------------------------


def test_complete_and_cancel_follow_the_table(api) -> None:
    contact = make_contact(api)
    done = make_activity(api, kind="task", contact_id=contact["id"], due_at=iso(at(1)))
    cancelled = make_activity(api, kind="task", contact_id=contact["id"], due_at=iso(at(2)))

    r = api.post(f"/activities/{done['id']}/complete", json={"note": "sent the papers"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done"
    assert r.json()["completion_note"] == "sent the papers"
    assert r.json()["completed_at"] is not None
    assert r.json()["version"] == done["version"] + 1

    r = api.post(f"/activities/{cancelled['id']}/cancel", json={"reason": "not needed"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert r.json()["completion_note"] == "not needed"

    before = event_types(api, contact["id"])
    assert ("activity.completed", done["id"]) in before
    assert ("activity.cancelled", cancelled["id"]) in before

    for activity, status in ((done, "done"), (cancelled, "cancelled")):
        for action in ("complete", "cancel"):
            r = api.post(f"/activities/{activity['id']}/{action}")
            assert r.status_code == 409, (status, action, r.text)
            assert r.json()["code"] == "invalid-transition"
        current = api.get(f"/activities/{activity['id']}")
        assert current.json()["status"] == status
        # done and cancelled activities are history: they do not move in time either
        r = api.patch(
            f"/activities/{activity['id']}",
            json={"due_at": iso(at(5))},
            headers={"If-Match": current.headers["ETag"]},
        )
        assert r.status_code == 409 and r.json()["code"] == "invalid-transition"
    assert event_types(api, contact["id"]) == before


def test_moves_of_a_missing_activity_are_404(api) -> None:
    for action in ("complete", "cancel"):
        r = api.post(f"/activities/999999/{action}")
        assert r.status_code == 404 and r.json()["code"] == "not-found"


@pytest.mark.parametrize(
    ("kind", "channel"), [("call", "call"), ("meeting", "meeting"), ("visit", "visit")]
)
def test_completing_logs_the_interaction_in_the_same_step(api, kind: str, channel: str) -> None:
    contact = make_contact(api)
    assert contact["last_interaction_at"] is None
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    act = make_activity(api, **timed(kind, start, contact_id=contact["id"]))

    r = api.post(
        f"/activities/{act['id']}/complete",
        json={"note": "went well", "log_interaction": True, "interaction_body": "Discussed Q3"},
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done"
    assert done["interaction_id"] is not None

    interaction = api.get(f"/interactions/{done['interaction_id']}").json()
    assert interaction["channel"] == channel
    assert interaction["contact_id"] == contact["id"]
    assert interaction["body"] == "Discussed Q3"
    assert interaction["subject"] == act["title"]
    # it happened when the activity started (which is in the past)
    assert ts(interaction["occurred_at"]) == start

    types = event_types(api, contact["id"])
    assert ("activity.completed", act["id"]) in types
    assert ("interaction.logged", done["interaction_id"]) in types
    after = api.get(f"/contacts/{contact['id']}").json()
    assert ts(after["last_interaction_at"]) == start


def test_a_future_meeting_completed_early_logs_it_now(api) -> None:
    contact = make_contact(api)
    act = make_activity(api, **timed("meeting", at(1), contact_id=contact["id"]))
    before = datetime.now(UTC) - timedelta(seconds=5)
    r = api.post(f"/activities/{act['id']}/complete", json={"log_interaction": True})
    assert r.status_code == 200, r.text
    interaction = api.get(f"/interactions/{r.json()['interaction_id']}").json()
    occurred = ts(interaction["occurred_at"])
    assert occurred is not None and before <= occurred <= datetime.now(UTC) + timedelta(seconds=5)


def test_completing_without_log_interaction_logs_nothing(api) -> None:
    contact = make_contact(api)
    act = make_activity(api, **timed("call", at(1), contact_id=contact["id"]))
    r = api.post(f"/activities/{act['id']}/complete")
    assert r.status_code == 200 and r.json()["interaction_id"] is None
    assert "interaction.logged" not in [t for t, _ in event_types(api, contact["id"])]
    assert api.get(f"/contacts/{contact['id']}").json()["last_interaction_at"] is None


@pytest.mark.parametrize("kind", ["task", "appointment", "review"])
def test_only_calls_meetings_and_visits_log_an_interaction(api, kind: str) -> None:
    contact = make_contact(api)
    body = (
        {"kind": kind, "title": "t", "due_at": iso(at(1))} if kind == "task" else timed(kind, at(1))
    )
    act = make_activity(api, contact_id=contact["id"], **body)
    r = api.post(f"/activities/{act['id']}/complete", json={"log_interaction": True})
    assert fields(r) == {"log_interaction": "channel"}
    # nothing was written: still open, no events, no interaction
    assert api.get(f"/activities/{act['id']}").json()["status"] == "open"
    types = [t for t, _ in event_types(api, contact["id"])]
    assert "activity.completed" not in types and "interaction.logged" not in types


def test_an_internal_call_cannot_log_an_interaction(api) -> None:
    act = make_activity(api, **timed("call", at(1)))
    r = api.post(f"/activities/{act['id']}/complete", json={"log_interaction": True})
    assert fields(r) == {"log_interaction": "channel"}
    r = api.post(f"/activities/{act['id']}/complete")
    assert r.status_code == 200 and r.json()["status"] == "done"


# --- conflicts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["appointment", "visit"])
@pytest.mark.parametrize("booked_kind", ["meeting", "appointment", "visit", "call"])
def test_an_overlap_with_another_timed_activity_is_refused(
    api, kind: str, booked_kind: str
) -> None:
    booked = make_activity(api, **timed(booked_kind, at(1, 10), 60))
    r = api.post("/activities", json=timed(kind, at(1, 10, 30), 60))
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["code"] == "conflict"
    assert problem["details"]["conflicting_activity_id"] == booked["id"]
    assert str(booked["id"]) in problem["detail"]
    assert count_activities(api) == 1


def test_overlap_rules(api, tenant) -> None:
    ten = make_activity(api, **timed("appointment", at(1, 10), 60))
    # back to back on either side is not a conflict
    make_activity(api, **timed("visit", at(1, 11), 60))
    make_activity(api, **timed("appointment", at(1, 9), 60))
    # inside, around, and same span all clash
    for start, minutes in ((at(1, 10, 15), 15), (at(1, 9, 30), 180), (at(1, 10), 60)):
        r = api.post("/activities", json=timed("visit", start, minutes))
        assert r.status_code == 409, (start, minutes)
    # allow_overlap books it anyway
    r = api.post("/activities", json=timed("visit", at(1, 10, 30), 30, allow_overlap=True))
    assert r.status_code == 201, r.text
    # meetings (and tasks) are not refused when they overlap
    make_activity(api, **timed("meeting", at(1, 10), 60))
    # another assignee's calendar is theirs
    member = tenant.member(Role.MEMBER)
    make_activity(api, **timed("appointment", at(1, 10), 60, assignee_id=member.user_id))
    # a cancelled or done activity no longer takes the time
    api.post(f"/activities/{ten['id']}/cancel")
    lone = make_activity(api, **timed("appointment", at(2, 10), 60))
    api.post(f"/activities/{lone['id']}/complete")
    make_activity(api, **timed("appointment", at(2, 10), 60))


def test_a_scheduled_delivery_takes_the_assignees_time(api) -> None:
    contact = make_contact(api)
    r = api.post(
        "/deliveries",
        json={
            "contact_id": contact["id"],
            "title": "Boiler service",
            "scheduled_start": iso(at(1, 14)),
            "scheduled_end": iso(at(1, 16)),
        },
    )
    assert r.status_code == 201, r.text
    delivery = r.json()
    r = api.post("/activities", json=timed("visit", at(1, 15), 60))
    assert r.status_code == 409
    assert r.json()["details"]["conflicting_delivery_id"] == delivery["id"]
    assert str(delivery["id"]) in r.json()["detail"]
    make_activity(api, **timed("visit", at(1, 16), 60))  # back to back
    make_activity(api, **timed("visit", at(1, 15), 60, allow_overlap=True))


def test_rescheduling_into_a_booked_slot_is_refused(api) -> None:
    first = make_activity(api, **timed("appointment", at(1, 10), 60))
    second = make_activity(api, **timed("appointment", at(1, 14), 60))
    etag = api.get(f"/activities/{second['id']}").headers["ETag"]
    move = {"start_at": iso(at(1, 10, 30)), "end_at": iso(at(1, 11, 30))}
    r = api.patch(f"/activities/{second['id']}", json=move, headers={"If-Match": etag})
    assert r.status_code == 409
    assert r.json()["details"]["conflicting_activity_id"] == first["id"]
    assert ts(api.get(f"/activities/{second['id']}").json()["start_at"]) == at(1, 14)
    # moving within its own slot does not clash with itself
    r = api.patch(
        f"/activities/{second['id']}",
        json={"end_at": iso(at(1, 15, 30))},
        headers={"If-Match": etag},
    )
    assert r.status_code == 200, r.text
    r = api.patch(
        f"/activities/{second['id']}",
        json={**move, "allow_overlap": True},
        headers={"If-Match": r.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    assert ts(r.json()["start_at"]) == at(1, 10, 30)


# --- reschedule with If-Match ------------------------------------------------------------------


def test_reschedule_needs_the_current_etag(api) -> None:
    contact = make_contact(api)
    act = make_activity(api, **timed("meeting", at(1, 9), contact_id=contact["id"]))
    got = api.get(f"/activities/{act['id']}")
    etag = got.headers["ETag"]
    assert etag == f'"{act["version"]}"'
    move = {"start_at": iso(at(2, 9)), "end_at": iso(at(2, 10))}

    r = api.patch(f"/activities/{act['id']}", json=move)
    assert r.status_code == 428 and r.json()["code"] == "version-required"
    r = api.patch(f"/activities/{act['id']}", json=move, headers={"If-Match": '"999"'})
    assert r.status_code == 412 and r.json()["code"] == "stale-version"
    assert api.get(f"/activities/{act['id']}").json() == got.json()

    r = api.patch(f"/activities/{act['id']}", json=move, headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    moved = r.json()
    assert ts(moved["at"]) == at(2, 9) and ts(moved["end_at"]) == at(2, 10)
    assert moved["version"] == act["version"] + 1
    assert r.headers["ETag"] == f'"{moved["version"]}"'
    assert ("activity.rescheduled", act["id"]) in event_types(api, contact["id"])

    # the ETag read before the move is stale now
    r = api.patch(f"/activities/{act['id']}", json={"title": "x"}, headers={"If-Match": etag})
    assert r.status_code == 412
    assert api.get(f"/activities/{act['id']}").json()["title"] == act["title"]


def test_a_bad_reschedule_changes_nothing(api) -> None:
    act = make_activity(api, **timed("meeting", at(1, 9)))
    etag = api.get(f"/activities/{act['id']}").headers["ETag"]
    r = api.patch(
        f"/activities/{act['id']}", json={"end_at": iso(at(1, 8))}, headers={"If-Match": etag}
    )
    assert fields(r) == {"end_at": "after-start"}
    r = api.patch(
        f"/activities/{act['id']}", json={"due_at": iso(at(1, 8))}, headers={"If-Match": etag}
    )
    assert fields(r)["due_at"] == "not-allowed"
    after = api.get(f"/activities/{act['id']}")
    assert after.headers["ETag"] == etag
    assert ts(after.json()["end_at"]) == at(1, 10)


# --- next_activity_at ----------------------------------------------------------------------------


def test_next_activity_at_is_kept_current(api) -> None:
    contact = make_contact(api)
    cid = contact["id"]

    def next_at() -> datetime | None:
        return ts(api.get(f"/contacts/{cid}").json()["next_activity_at"])

    assert next_at() is None
    task = make_activity(api, kind="task", title="Send invoice", contact_id=cid, due_at=iso(at(5)))
    assert next_at() == at(5)
    visit = make_activity(api, **timed("visit", at(2, 10), contact_id=cid))
    assert next_at() == at(2, 10)
    make_activity(api, kind="task", title="Other client", due_at=iso(at(0, 1)))  # no contact
    assert next_at() == at(2, 10)

    r = api.post(
        "/deliveries",
        json={"contact_id": cid, "title": "Check-up", "scheduled_start": iso(at(1, 8))},
    )
    assert r.status_code == 201, r.text
    delivery = r.json()
    assert next_at() == at(1, 8)
    # a requested delivery (no time) does not count
    api.post("/deliveries", json={"contact_id": cid, "title": "Someday"})
    assert next_at() == at(1, 8)

    assert api.post(f"/deliveries/{delivery['id']}/cancel").status_code == 200
    assert next_at() == at(2, 10)
    assert api.post(f"/activities/{visit['id']}/complete").status_code == 200
    assert next_at() == at(5)

    etag = api.get(f"/activities/{task['id']}").headers["ETag"]
    r = api.patch(
        f"/activities/{task['id']}", json={"due_at": iso(at(3))}, headers={"If-Match": etag}
    )
    assert r.status_code == 200, r.text
    assert next_at() == at(3)
    assert api.post(f"/activities/{task['id']}/cancel").status_code == 200
    assert next_at() is None


# --- lists ---------------------------------------------------------------------------------------


def test_list_filters_and_pagination(api, tenant) -> None:
    contact = make_contact(api)
    member = tenant.member(Role.MEMBER)
    made = [
        make_activity(api, kind="task", due_at=iso(at(i)), contact_id=contact["id"])
        for i in range(5)
    ]
    other = make_activity(api, **timed("meeting", at(0, 12), assignee_id=member.user_id))
    api.post(f"/activities/{made[0]['id']}/complete")

    page = api.get("/activities", params={"limit": 2}).json()
    ids = [a["id"] for a in page["items"]]
    while page["next_cursor"]:
        page = api.get("/activities", params={"limit": 2, "cursor": page["next_cursor"]}).json()
        ids += [a["id"] for a in page["items"]]
    # soonest first, each once
    assert ids == [made[0]["id"], other["id"]] + [a["id"] for a in made[1:]]

    def ids_of(**params: Any) -> set[int]:
        r = api.get("/activities", params={"limit": 200, **params})
        assert r.status_code == 200, r.text
        return {a["id"] for a in r.json()["items"]}

    assert ids_of(assignee_id=member.user_id) == {other["id"]}
    assert ids_of(status="done") == {made[0]["id"]}
    assert ids_of(kind="meeting") == {other["id"]}
    assert ids_of(start=iso(at(1)), end=iso(at(3))) == {made[1]["id"], made[2]["id"]}
    r = api.get(f"/contacts/{contact['id']}/activities", params={"status": "open"})
    assert {a["id"] for a in r.json()["items"]} == {a["id"] for a in made[1:]}
    assert api.get("/contacts/999999/activities").status_code == 404
    assert fields(api.get("/activities", params={"cursor": "garbage"}))


def test_listing_activities_takes_a_constant_number_of_queries(api, server, tenant) -> None:
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        contact = contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name="Many")
        for i in range(110):
            activities.create_activity(
                ctx,
                kind=ActivityKind.TASK,
                title=f"task {i}",
                contact_id=contact.contact.id,
                due_at=at(0, i),
            )
    api.get("/activities", params={"limit": 1})  # the token's last use is written once
    counts = {}
    for limit in (5, 100):
        with count_statements(server.engine) as statements:
            r = api.get("/activities", params={"limit": limit})
        assert r.status_code == 200 and len(r.json()["items"]) == limit
        counts[limit] = len(statements)
    assert counts[5] == counts[100], counts


def test_a_viewer_reads_but_cannot_write(server, tenant, api) -> None:
    act = make_activity(api, kind="task", due_at=iso(at(1)))
    with client_for(server, tenant.member(Role.VIEWER).token) as viewer:
        assert viewer.get(f"/activities/{act['id']}").status_code == 200
        r = viewer.post("/activities", json={"kind": "task", "title": "x", "due_at": iso(at(1))})
        assert r.status_code == 403 and r.json()["code"] == "forbidden"
        assert viewer.post(f"/activities/{act['id']}/complete").status_code == 403
    assert api.get(f"/activities/{act['id']}").json()["status"] == "open"
