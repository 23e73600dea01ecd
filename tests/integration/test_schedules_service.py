"""Recurring schedules on the services with a fixed clock: daylight-saving time, gaps and
folds, a rolling horizon, splits and stops that never rewrite the past, and the lifecycle's
hold on a plan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tenure.db.models import Activity, Contact, Delivery, Schedule, TimelineEvent
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.activities import ActivityKind
from tenure.domain.agreements import AgreementKind
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import InvalidInput, InvalidTransition
from tenure.domain.lifecycle import EndReason
from tenure.services import agreements, contacts, deliveries, lifecycle, schedules
from tenure.services.context import Ctx
from tenure.services.schedules import Produces
from tests.conftest import Database, Tenant, make_tenant

T = TypeVar("T")
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def tenant(database: Database) -> Tenant:
    """A fresh workspace (workspaces are isolated, so no emptied database is needed)."""
    return make_tenant(database, f"plan-{uuid4().hex[:12]}")


def run(tenant: Tenant, now: datetime, work: Callable[[Ctx], T]) -> T:
    """One unit of work at a fixed time, committed as an edge would."""
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        ctx.now = now
        return work(ctx)


def new_contact(tenant: Tenant, now: datetime = T0, name: str = "Harbour Dental") -> int:
    return run(
        tenant,
        now,
        lambda ctx: (
            contacts.create_contact(
                ctx, kind=ContactKind.ORGANIZATION, display_name=name
            ).contact.id
        ),
    )


def plan(
    tenant: Tenant, contact_id: int, *, now: datetime = T0, horizon_days: int = 90, **kwargs: Any
) -> int:
    kwargs.setdefault("produces", Produces.DELIVERY)
    kwargs.setdefault("title", "Plan")
    return run(
        tenant,
        now,
        lambda ctx: (
            schedules.create_schedule(ctx, contact_id, horizon_days=horizon_days, **kwargs).id
        ),
    )


def rows(tenant: Tenant, schedule_id: int) -> list[Any]:
    """The schedule's deliveries or activities, by start."""
    with tenant.db.session() as session:
        produced = session.get_one(Schedule, schedule_id).produces
        if produced == "delivery":
            stmt = select(Delivery).where(Delivery.schedule_id == schedule_id)
            return sorted(session.scalars(stmt).all(), key=lambda d: d.scheduled_start)
        stmt2 = select(Activity).where(Activity.schedule_id == schedule_id)
        return sorted(session.scalars(stmt2).all(), key=lambda a: a.at)


def schedule_row(tenant: Tenant, schedule_id: int) -> Schedule:
    with tenant.db.session() as session:
        return session.get_one(Schedule, schedule_id)


def event_types(tenant: Tenant, contact_id: int) -> list[str]:
    with tenant.db.session() as session:
        stmt = select(TimelineEvent.type).where(TimelineEvent.contact_id == contact_id)
        return list(session.scalars(stmt.order_by(TimelineEvent.id)).all())


def start(row: Any) -> datetime:
    value = row.scheduled_start if isinstance(row, Delivery) else row.at
    assert value is not None
    return value.astimezone(UTC)


# --- daylight-saving time ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "checks"),
    [
        # US: DST from the second Sunday of March to the first Sunday of November 2030.
        (
            "America/New_York",
            {
                date(2030, 3, 4): 14,
                date(2030, 3, 11): 13,
                date(2030, 10, 28): 13,
                date(2030, 11, 4): 14,
            },
        ),
        # EU: from the last Sunday of March to the last Sunday of October 2030.
        (
            "Europe/London",
            {
                date(2030, 3, 25): 9,
                date(2030, 4, 1): 8,
                date(2030, 10, 21): 8,
                date(2030, 10, 28): 9,
            },
        ),
    ],
)
def test_materialized_occurrences_keep_local_time(
    tenant: Tenant, zone: str, checks: dict[date, int]
) -> None:
    cid = new_contact(tenant)
    sid = plan(
        tenant,
        cid,
        rrule="FREQ=WEEKLY;BYDAY=MO",
        dtstart=datetime(2030, 1, 7, 9),
        timezone=zone,
        horizon_days=350,
    )
    made = rows(tenant, sid)
    mondays = (date(2030, 12, 16) - date(2030, 1, 7)).days // 7 + 1
    assert len(made) == mondays  # 1 Jan + 350 days = 17 Dec
    tz = ZoneInfo(zone)
    by_day = {start(r).astimezone(tz).date(): r for r in made}
    for row in made:
        local = start(row).astimezone(tz)
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
        assert row.occurrence_key == f"{sid}@{local:%Y%m%dT090000}"
        assert row.timezone == zone
    for day, utc_hour in checks.items():
        assert start(by_day[day]).hour == utc_hour, day


def test_a_gap_moves_forward_and_a_fold_takes_the_first(tenant: Tenant) -> None:
    cid = new_contact(tenant)
    sid = plan(
        tenant,
        cid,
        produces=Produces.ACTIVITY,
        activity_kind=ActivityKind.VISIT,
        rrule="FREQ=DAILY",
        dtstart=datetime(2030, 3, 9, 2, 30),
        timezone="America/New_York",
        horizon_days=80,
    )
    by_key = {r.occurrence_key: r for r in rows(tenant, sid)}
    # 02:30 on 10 March does not exist: it happens at 03:30 EDT (07:30Z), keyed by 02:30
    assert start(by_key[f"{sid}@20300310T023000"]) == datetime(2030, 3, 10, 7, 30, tzinfo=UTC)
    assert start(by_key[f"{sid}@20300309T023000"]) == datetime(2030, 3, 9, 7, 30, tzinfo=UTC)
    assert start(by_key[f"{sid}@20300311T023000"]) == datetime(2030, 3, 11, 6, 30, tzinfo=UTC)

    fold = plan(
        tenant,
        cid,
        produces=Produces.ACTIVITY,
        activity_kind=ActivityKind.CALL,
        rrule="FREQ=DAILY;COUNT=3",
        dtstart=datetime(2030, 11, 2, 1, 30),
        timezone="America/New_York",
        now=datetime(2030, 10, 1, tzinfo=UTC),
    )
    # 01:30 on 3 November happens twice: the first one (EDT, 05:30Z)
    assert [start(r) for r in rows(tenant, fold)] == [
        datetime(2030, 11, 2, 5, 30, tzinfo=UTC),
        datetime(2030, 11, 3, 5, 30, tzinfo=UTC),
        datetime(2030, 11, 4, 6, 30, tzinfo=UTC),
    ]


# --- the rolling horizon ---------------------------------------------------------------------


def test_the_horizon_rolls_forward_idempotently(tenant: Tenant) -> None:
    cid = new_contact(tenant)
    # a plan that began a month ago: past occurrences are never materialized
    sid = plan(
        tenant,
        cid,
        rrule="FREQ=DAILY",
        dtstart=datetime(2029, 12, 1, 9),
        timezone="UTC",
        horizon_days=30,
    )
    first = rows(tenant, sid)
    assert start(first[0]) == datetime(2030, 1, 2, 9, tzinfo=UTC)
    assert start(first[-1]) == datetime(2030, 1, 31, 9, tzinfo=UTC)
    assert len(first) == 30
    assert schedule_row(tenant, sid).materialized_until == T0 + timedelta(days=30)

    def extend(now: datetime, days: int = 30) -> int:
        return run(
            tenant,
            now,
            lambda ctx: schedules.extend(
                ctx, ctx.session.get_one(Schedule, sid), horizon_days=days
            ),
        )

    assert extend(T0) == 0
    assert extend(T0 + timedelta(hours=1)) == 0  # no occurrence in that hour
    assert extend(T0 + timedelta(days=10)) == 10
    assert extend(T0 + timedelta(days=10)) == 0
    assert run(
        tenant, T0 + timedelta(days=10), lambda ctx: schedules.extend_all(ctx, horizon_days=30)
    ) == {"schedules": 0, "occurrences": 0}
    assert run(
        tenant, T0 + timedelta(days=15), lambda ctx: schedules.extend_all(ctx, horizon_days=30)
    ) == {"schedules": 1, "occurrences": 5}
    made = rows(tenant, sid)
    assert len(made) == len({r.occurrence_key for r in made}) == 45
    assert [start(r) for r in made] == [
        datetime(2030, 1, 2, 9, tzinfo=UTC) + timedelta(days=i) for i in range(45)
    ]
    with pytest.raises(InvalidInput):
        extend(T0, 0)


def test_count_counts_excluded_occurrences(tenant: Tenant) -> None:
    cid = new_contact(tenant)
    sid = plan(
        tenant,
        cid,
        rrule="FREQ=WEEKLY;COUNT=4",
        dtstart=datetime(2030, 1, 7, 9),
        timezone="UTC",
        exdates=[datetime(2030, 1, 14, 9)],
    )
    assert [start(r).date() for r in rows(tenant, sid)] == [
        date(2030, 1, 7),
        date(2030, 1, 21),
        date(2030, 1, 28),
    ]


# --- edits never rewrite the past ------------------------------------------------------------


def test_a_split_leaves_history_alone(tenant: Tenant) -> None:
    cid = new_contact(tenant)
    sid = plan(
        tenant,
        cid,
        rrule="FREQ=DAILY",
        dtstart=datetime(2030, 1, 2, 9),
        timezone="UTC",
        horizon_days=30,
    )
    made = rows(tenant, sid)
    now = datetime(2030, 1, 5, 12, tzinfo=UTC)
    run(
        tenant,
        now,
        lambda ctx: deliveries.deliver(
            ctx, made[0].id, actual_end=datetime(2030, 1, 2, 10, tzinfo=UTC)
        ),
    )
    before = {r.id: (r.status, r.version, r.scheduled_start) for r in rows(tenant, sid)}

    new_id = run(
        tenant,
        now,
        lambda ctx: (
            schedules.split_schedule(
                ctx,
                sid,
                at_local=datetime(2030, 1, 10, 9),
                changes={"dtstart": datetime(2030, 1, 10, 11), "title": "Later"},
                horizon_days=30,
            ).id
        ),
    )

    old = schedule_row(tenant, sid)
    assert old.rrule == "FREQ=DAILY;UNTIL=20300110T085959" and old.status == "active"
    after = rows(tenant, sid)
    cut = datetime(2030, 1, 10, 9, tzinfo=UTC)
    for row in after:
        if start(row) < cut:  # history (delivered, missed) and the near future stay as they were
            assert (row.status, row.version, row.scheduled_start) == before[row.id]
        else:
            assert row.status == "cancelled" and row.cancel_reason.startswith("replaced")
    assert [r.status for r in after[:4]] == ["delivered", "scheduled", "scheduled", "scheduled"]
    new = schedule_row(tenant, new_id)
    assert new.split_from_id == sid and new.title == "Later"
    new_rows = rows(tenant, new_id)
    assert start(new_rows[0]) == datetime(2030, 1, 10, 11, tzinfo=UTC)
    assert start(new_rows[-1]) < now + timedelta(days=30)
    assert all(r.title == "Later" and r.status == "scheduled" for r in new_rows)
    assert "schedule.changed" in event_types(tenant, cid)


def test_a_split_keeps_the_remaining_count(tenant: Tenant) -> None:
    cid = new_contact(tenant)
    sid = plan(
        tenant, cid, rrule="FREQ=DAILY;COUNT=6", dtstart=datetime(2030, 1, 2, 9), timezone="UTC"
    )
    new_id = run(
        tenant,
        T0,
        lambda ctx: (
            schedules.split_schedule(
                ctx, sid, at_local=datetime(2030, 1, 4, 9), changes={"location": "Annex"}
            ).id
        ),
    )
    live = [r for r in rows(tenant, sid) if r.status == "scheduled"]
    assert [start(r).day for r in live] == [2, 3]
    assert schedule_row(tenant, new_id).rrule == "FREQ=DAILY;COUNT=4"
    assert [(start(r).day, r.location) for r in rows(tenant, new_id)] == [
        (d, "Annex") for d in (4, 5, 6, 7)
    ]
    with pytest.raises(InvalidInput) as info:
        run(
            tenant,
            T0,
            lambda ctx: schedules.split_schedule(
                ctx, new_id, at_local=datetime(2030, 1, 4, 10), changes={}
            ),
        )
    assert info.value.errors[0].field == "at"


def test_a_split_cannot_start_in_the_past(tenant: Tenant) -> None:
    """Past occurrences are history: "this and following" begins at a future one."""
    cid = new_contact(tenant)
    sid = plan(tenant, cid, rrule="FREQ=DAILY", dtstart=datetime(2030, 1, 2, 9), timezone="UTC")
    now = datetime(2030, 1, 5, 12, tzinfo=UTC)
    before = {r.id: (r.status, r.version) for r in rows(tenant, sid)}
    with pytest.raises(InvalidInput) as info:
        run(
            tenant,
            now,
            lambda ctx: schedules.split_schedule(
                ctx, sid, at_local=datetime(2030, 1, 3, 9), changes={"title": "Renamed"}
            ),
        )
    assert info.value.errors[0].field == "at"
    assert {r.id: (r.status, r.version) for r in rows(tenant, sid)} == before


def test_stopping_cancels_only_what_is_ahead(tenant: Tenant) -> None:
    cid = new_contact(tenant)
    sid = plan(
        tenant,
        cid,
        produces=Produces.ACTIVITY,
        activity_kind=ActivityKind.TASK,
        rrule="FREQ=DAILY",
        dtstart=datetime(2030, 1, 2, 9),
        timezone="UTC",
    )
    now = datetime(2030, 1, 5, 12, tzinfo=UTC)
    cancelled = run(
        tenant,
        now,
        lambda ctx: schedules.stop_row(ctx, ctx.session.get_one(Schedule, sid), reason="paused"),
    )
    made = rows(tenant, sid)
    past = [r for r in made if r.at < now]
    assert [r.status for r in past] == ["open"] * 4  # overdue, still to be done
    assert all(r.status == "cancelled" for r in made if r.at >= now)
    assert cancelled == len(made) - 4
    with tenant.db.session() as session:
        # the earliest open activity is the overdue one of 2 January
        assert session.get_one(Contact, cid).next_activity_at == datetime(2030, 1, 2, 9, tzinfo=UTC)
    with pytest.raises(InvalidTransition):
        run(tenant, now, lambda ctx: schedules.stop(ctx, sid))


# --- the lifecycle and plans ---------------------------------------------------------------------


def _client(tenant: Tenant, cid: int) -> int:
    def work(ctx: Ctx) -> int:
        agreement = agreements.create_agreement(
            ctx, cid, title="Care", kind=AgreementKind.SUBSCRIPTION, starts_on=date(2029, 12, 1)
        )
        agreements.confirm(ctx, agreement.id)
        return agreement.id

    return run(tenant, T0, work)


def test_a_plan_of_the_ending_agreement_does_not_hold_the_relationship(tenant: Tenant) -> None:
    cid = new_contact(tenant)
    agreement_id = _client(tenant, cid)
    sid = plan(
        tenant,
        cid,
        rrule="FREQ=WEEKLY",
        dtstart=datetime(2030, 1, 3, 9),
        timezone="UTC",
        agreement_id=agreement_id,
    )
    now = datetime(2030, 1, 20, 12, tzinfo=UTC)
    run(tenant, now, lambda ctx: agreements.end(ctx, agreement_id, reason=EndReason.COMPLETED))
    assert schedule_row(tenant, sid).status == "stopped"
    made = rows(tenant, sid)
    assert [r.status for r in made if start(r) < now] == ["scheduled"] * 3  # the past stays
    assert all(r.status == "cancelled" for r in made if start(r) >= now)
    with tenant.db.session() as session:
        assert session.get_one(Contact, cid).stage == "former_client"
    types = event_types(tenant, cid)
    assert types.index("schedule.stopped") < types.index("relationship.ended")


def test_another_plan_holds_the_relationship(tenant: Tenant) -> None:
    cid = new_contact(tenant)
    agreement_id = _client(tenant, cid)
    sid = plan(tenant, cid, rrule="FREQ=MONTHLY", dtstart=datetime(2030, 1, 3, 9), timezone="UTC")
    now = datetime(2030, 1, 20, 12, tzinfo=UTC)
    run(tenant, now, lambda ctx: agreements.end(ctx, agreement_id, reason=EndReason.COMPLETED))
    with tenant.db.session() as session:
        assert session.get_one(Contact, cid).stage == "client"
    assert schedule_row(tenant, sid).status == "active"
    # ending the relationship by hand then stops it
    run(tenant, now, lambda ctx: lifecycle.end(ctx, cid, reason=EndReason.PRICE))
    stopped = schedule_row(tenant, sid)
    assert stopped.status == "stopped" and stopped.stop_reason == "relationship ended: price"
    assert stopped.stopped_at == now
    assert all(r.status == "cancelled" for r in rows(tenant, sid) if start(r) >= now)


def test_cancelling_a_draft_agreement_stops_its_plan(tenant: Tenant) -> None:
    cid = new_contact(tenant)
    agreement_id = run(
        tenant,
        T0,
        lambda ctx: (
            agreements.create_agreement(
                ctx, cid, title="Proposal", kind=AgreementKind.ENGAGEMENT
            ).id
        ),
    )
    sid = plan(
        tenant,
        cid,
        rrule="FREQ=WEEKLY",
        dtstart=datetime(2030, 1, 3, 9),
        timezone="UTC",
        agreement_id=agreement_id,
    )
    run(tenant, T0, lambda ctx: agreements.cancel(ctx, agreement_id))
    assert schedule_row(tenant, sid).status == "stopped"
    assert all(r.status == "cancelled" for r in rows(tenant, sid))
    assert event_types(tenant, cid).count("schedule.stopped") == 1
