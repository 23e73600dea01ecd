"""The agenda through HTTP: overdue, today and upcoming by the viewer's local day, per member
and for the whole workspace, with a constant number of queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest

from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.activities import ActivityKind
from tenure.services import activities
from tests.conftest import Database, Tenant, client_for, count_statements, make_tenant

#: Zones far from UTC, where the local day and the UTC day disagree for half of the day.
ZONES = ("Pacific/Auckland", "America/Los_Angeles")


def _zone_away_from_midnight() -> str:
    """The first zone whose local time is not within 15 minutes of midnight: the test's
    "today" must not change while it runs (the zones are ~20 hours apart, one always fits)."""
    for name in ZONES:
        local = datetime.now(ZoneInfo(name))
        minutes = local.hour * 60 + local.minute
        if 15 <= minutes <= 24 * 60 - 15:
            return name
    raise AssertionError("unreachable")


ZONE = _zone_away_from_midnight()


@pytest.fixture
def tenant(database: Database) -> Tenant:
    """A fresh workspace in a non-UTC zone (no emptied database needed: workspaces are
    isolated)."""
    return make_tenant(database, f"agenda-{uuid4().hex[:12]}", timezone=ZONE)


def local_today(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


def local(day: date, hour: int, minute: int = 0, zone: str = ZONE) -> datetime:
    """The UTC instant of a local wall time in ``zone``."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def bucket_of(moment: datetime, zone: str, days: int = 7) -> str | None:
    day = moment.astimezone(ZoneInfo(zone)).date()
    today = local_today(zone)
    if day < today:
        return "overdue"
    if day == today:
        return "today"
    if day <= today + timedelta(days=days):
        return "upcoming"
    return None


def task(api: httpx.Client, title: str, due: datetime, **extra: Any) -> dict[str, Any]:
    r = api.post(
        "/activities", json={"kind": "task", "title": title, "due_at": due.isoformat(), **extra}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def ids(agenda: dict[str, Any], bucket: str, what: str = "activities") -> list[int]:
    return [item["id"] for item in agenda[bucket][what]]


def get_agenda(client: httpx.Client, **params: Any) -> dict[str, Any]:
    r = client.get("/agenda", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_buckets_follow_the_viewers_local_day(api, tenant) -> None:
    today = local_today(ZONE)
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    old = task(api, "old", local(today - timedelta(days=30), 12))
    late_yesterday = task(api, "late yesterday", local(yesterday, 23, 30))
    early_today = task(api, "early today", local(today, 0, 30))
    late_today = task(api, "late today", local(today, 23, 30))
    early_tomorrow = task(api, "early tomorrow", local(tomorrow, 0, 30))
    last_day = task(api, "last upcoming day", local(today + timedelta(days=7), 23, 30))
    task(api, "too far", local(today + timedelta(days=8), 0, 30))
    done = task(api, "done", local(yesterday, 12))
    assert api.post(f"/activities/{done['id']}/complete").status_code == 200
    gone = task(api, "cancelled", local(today, 12))
    assert api.post(f"/activities/{gone['id']}/cancel").status_code == 200

    # Around local midnight the UTC date is another one: the buckets prove the local day.
    assert local(today, 0, 30).date() != today or local(yesterday, 23, 30).date() != yesterday

    agenda = get_agenda(api)
    assert agenda["timezone"] == ZONE
    assert agenda["assignee_id"] == tenant.owner.user_id
    assert ids(agenda, "overdue") == [old["id"], late_yesterday["id"]]
    # today includes what is already past today (00:30), in time order
    assert ids(agenda, "today") == [early_today["id"], late_today["id"]]
    assert ids(agenda, "upcoming") == [early_tomorrow["id"], last_day["id"]]

    short = get_agenda(api, days=0)
    assert ids(short, "upcoming") == []
    assert ids(short, "today") == [early_today["id"], late_today["id"]]
    one = get_agenda(api, days=1)
    assert ids(one, "upcoming") == [early_tomorrow["id"]]


@pytest.mark.parametrize("other_zone", ["UTC", "Asia/Kolkata"])
def test_the_timezone_parameter_moves_the_day(api, other_zone: str) -> None:
    """The same items split by another zone's local day (the viewer's, when it is given)."""
    today = local_today(ZONE)
    made = [task(api, f"t{h}", local(today, 0, 0) + timedelta(hours=h)) for h in range(-36, 60, 5)]
    now_local = datetime.now(ZoneInfo(other_zone))
    if not 15 <= now_local.hour * 60 + now_local.minute <= 24 * 60 - 15:
        pytest.skip("too close to midnight in the other zone: its today could change")
    agenda = get_agenda(api, timezone=other_zone)
    assert agenda["timezone"] == other_zone
    for bucket in ("overdue", "today", "upcoming"):
        expected = [
            a["id"]
            for a in made
            if bucket_of(datetime.fromisoformat(a["due_at"]), other_zone) == bucket
        ]
        assert ids(agenda, bucket) == expected, bucket
    # and it differs from the workspace's own split for at least one item
    own = get_agenda(api)
    assert any(ids(own, b) != ids(agenda, b) for b in ("overdue", "today", "upcoming"))


def test_scheduled_deliveries_are_on_the_agenda(api) -> None:
    today = local_today(ZONE)
    r = api.post("/contacts", json={"display_name": "Harbour Dental"})
    contact = r.json()

    def delivery(title: str, start: datetime) -> dict[str, Any]:
        r = api.post(
            "/deliveries",
            json={
                "contact_id": contact["id"],
                "title": title,
                "scheduled_start": start.isoformat(),
            },
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    missed = delivery("missed yesterday", local(today - timedelta(days=1), 10))
    tonight = delivery("tonight", local(today, 22))
    tomorrow = delivery("tomorrow", local(today + timedelta(days=1), 0, 30))
    done = delivery("done today", local(today, 0, 5))
    assert api.post(f"/deliveries/{done['id']}/deliver").status_code == 200
    requested = api.post("/deliveries", json={"contact_id": contact["id"], "title": "undated"})
    assert requested.status_code == 201

    agenda = get_agenda(api)
    # a scheduled delivery whose day has passed without being recorded is overdue
    assert ids(agenda, "overdue", "deliveries") == [missed["id"]]
    assert ids(agenda, "today", "deliveries") == [tonight["id"]]
    assert ids(agenda, "upcoming", "deliveries") == [tomorrow["id"]]


def test_per_member_and_everyone(server, api, tenant) -> None:
    today = local_today(ZONE)
    member = tenant.member(Role.MEMBER)
    mine = task(api, "mine", local(today, 12))
    theirs = task(api, "theirs", local(today, 13), assignee_id=member.user_id)
    theirs_later = task(
        api, "theirs later", local(today + timedelta(days=2), 9), assignee_id=member.user_id
    )

    assert ids(get_agenda(api), "today") == [mine["id"]]
    of_member = get_agenda(api, assignee_id=member.user_id)
    assert of_member["assignee_id"] == member.user_id
    assert ids(of_member, "today") == [theirs["id"]]
    assert ids(of_member, "upcoming") == [theirs_later["id"]]

    everyone = get_agenda(api, everyone="true")
    assert everyone["assignee_id"] is None
    assert ids(everyone, "today") == [mine["id"], theirs["id"]]
    assert ids(everyone, "upcoming") == [theirs_later["id"]]

    # a member's own agenda defaults to them; a viewer may read it too
    with client_for(server, member.token) as as_member:
        assert ids(get_agenda(as_member), "today") == [theirs["id"]]
    with client_for(server, tenant.member(Role.VIEWER).token) as viewer:
        assert ids(get_agenda(viewer), "today") == []
        assert ids(get_agenda(viewer, everyone="true"), "today") == [mine["id"], theirs["id"]]


def test_bad_agenda_parameters_name_the_field(api) -> None:
    r = api.get("/agenda", params={"timezone": "Mars/Olympus"})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["timezone"]
    r = api.get("/agenda", params={"days": 367})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["days"]
    r = api.get("/agenda", params={"days": -1})
    assert r.status_code == 422


def test_the_agenda_takes_a_constant_number_of_queries(api, server, tenant) -> None:
    today = local_today(ZONE)

    def add(n: int) -> None:
        with unit_of_work(session_factory(tenant.db.engine)) as session:
            ctx = tenant.ctx(session)
            for i in range(n):
                activities.create_activity(
                    ctx,
                    kind=ActivityKind.TASK,
                    title=f"task {i}",
                    due_at=local(today, 0) + timedelta(hours=(i % 200) - 48),
                )

    def statements() -> int:
        api.get("/agenda")  # the token's last use is written once
        with count_statements(server.engine) as seen:
            r = api.get("/agenda", params={"everyone": "true"})
        assert r.status_code == 200
        return len(seen)

    add(5)
    few = statements()
    add(150)
    agenda = get_agenda(api, everyone="true")
    assert sum(len(agenda[b]["activities"]) for b in ("overdue", "today", "upcoming")) > 100
    assert statements() == few
