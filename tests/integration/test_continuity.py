"""Continuity on the real database, through the services, with ``ctx.now`` moved: knowledge
versioning and "as of", commitments, cadence resets, health and its snapshots, the brief."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tenure.db.models import Contact, HealthSnapshot, Interaction, TimelineEvent
from tenure.db.repositories.timeline import InteractionRepository, TimelineRepository
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.activities import ActivityKind
from tenure.domain.agreements import AgreementKind, BillingPeriod
from tenure.domain.brief import render_markdown
from tenure.domain.cases import CasePriority
from tenure.domain.commitments import CommitmentAction, CommitmentStatus
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import InvalidInput, InvalidTransition, PreconditionFailed
from tenure.domain.events import EventType
from tenure.domain.knowledge import KnowledgeKind
from tenure.services import (
    activities,
    agreements,
    brief,
    cases,
    commitments,
    contacts,
    deliveries,
    health,
    interactions,
    knowledge,
    timeline,
    workspace_settings,
)
from tenure.services.context import Ctx
from tenure.services.interactions import Channel, Direction
from tests.conftest import count_statements

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
R = TypeVar("R")


def act(tenant, now: datetime, fn: Callable[[Ctx], R]) -> R:  # type: ignore[no-untyped-def]
    """Run ``fn`` in its own unit of work at ``now`` (as one request would)."""
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        ctx.now = now
        return fn(ctx)


def person(tenant, now: datetime = T0, **kw: Any) -> int:  # type: ignore[no-untyped-def]
    kw.setdefault("display_name", "Priya Shah")
    return act(
        tenant,
        now,
        lambda ctx: contacts.create_contact(ctx, kind=ContactKind.PERSON, **kw).contact.id,
    )


def client(tenant, now: datetime = T0, since: date | None = None, **kw: Any) -> int:  # type: ignore[no-untyped-def]
    """A contact who became a client on ``since`` (default: the day of ``now``)."""
    cid = person(tenant, now, **kw)

    def make(ctx: Ctx) -> None:
        a = agreements.create_agreement(
            ctx,
            cid,
            title="Retainer",
            kind=AgreementKind.SUBSCRIPTION,
            value_minor=30000,
            currency="GBP",
            billing_period=BillingPeriod.MONTHLY,
            renews_on=(now + timedelta(days=300)).date(),
        )
        agreements.confirm(ctx, a.id, starts_on=since or now.date())

    act(tenant, now, make)
    return cid


def contact_row(tenant, cid: int) -> Contact:  # type: ignore[no-untyped-def]
    with tenant.db.session() as session:
        row = session.get_one(Contact, cid)
        session.expunge(row)
        return row


# --- knowledge -------------------------------------------------------------------------------


def test_edit_supersedes_and_keeps_old_versions(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = person(tenant)
    first = act(
        tenant,
        T0,
        lambda ctx: knowledge.add(ctx, cid, kind=KnowledgeKind.PREFERENCE, text="Mornings").id,
    )
    t1 = T0 + timedelta(days=1)
    second = act(
        tenant, t1, lambda ctx: knowledge.edit(ctx, first, changes={"text": "Evenings"}).id
    )
    t2 = T0 + timedelta(days=2)
    third = act(tenant, t2, lambda ctx: knowledge.edit(ctx, second, changes={"pinned": True}).id)

    def check(ctx: Ctx) -> None:
        versions = knowledge.versions(ctx, first)
        assert [v.id for v in versions] == [first, second, third]
        assert [v.text for v in versions] == ["Mornings", "Evenings", "Evenings"]
        assert versions[0].superseded_at == t1 and versions[1].superseded_at == t2
        assert versions[2].superseded_at is None and versions[2].supersedes_id == second
        assert {v.root_id for v in versions} == {first}
        assert [v.id for v in knowledge.versions(ctx, third)] == [first, second, third]
        assert [v.entry.id for v in knowledge.current(ctx, cid)] == [third]
        with pytest.raises(InvalidTransition):
            knowledge.edit(ctx, first, changes={"text": "x"})
        with pytest.raises(InvalidTransition):
            knowledge.confirm(ctx, second)
        with pytest.raises(InvalidTransition):
            knowledge.retire(ctx, first)
        with pytest.raises(InvalidInput) as exc:
            knowledge.edit(ctx, third, changes={"recorded_at": T0})
        assert exc.value.errors[0].field == "recorded_at"
        with pytest.raises(InvalidInput):
            knowledge.as_of(ctx, cid, datetime(2025, 1, 1))  # naive

    act(tenant, t2 + timedelta(hours=1), check)


def test_knowledge_changes_appear_on_the_timeline(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = person(tenant)
    eid = act(
        tenant,
        T0,
        lambda ctx: knowledge.add(ctx, cid, kind=KnowledgeKind.FACT, text="Two sites").id,
    )
    act(tenant, T0 + timedelta(minutes=1), lambda ctx: knowledge.confirm(ctx, eid))
    act(tenant, T0 + timedelta(minutes=2), lambda ctx: knowledge.retire(ctx, eid, reason="moved"))

    def types(ctx: Ctx) -> list[str]:
        return [e.type for e in timeline.page(ctx, contact_id=cid, limit=50).items]

    seen = act(tenant, T0 + timedelta(minutes=3), types)
    assert seen.count(EventType.KNOWLEDGE_CHANGED.value) == 2
    assert EventType.KNOWLEDGE_CONFIRMED.value in seen


def test_a_key_keeps_one_current_value(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = person(tenant)
    a = act(
        tenant,
        T0,
        lambda ctx: (
            knowledge.add(
                ctx, cid, kind=KnowledgeKind.PREFERENCE, key="preferred_channel", text="Email"
            ).id
        ),
    )
    b = act(
        tenant,
        T0 + timedelta(hours=1),
        lambda ctx: (
            knowledge.add(
                ctx, cid, kind=KnowledgeKind.PREFERENCE, key="preferred_channel", text="Phone"
            ).id
        ),
    )
    other = act(
        tenant,
        T0 + timedelta(hours=2),
        lambda ctx: knowledge.add(ctx, cid, kind=KnowledgeKind.FACT, key="sites", text="Leeds").id,
    )

    def check(ctx: Ctx) -> None:
        now = knowledge.current(ctx, cid)
        by_key = [v.entry for v in now if v.entry.key == "preferred_channel"]
        assert [e.id for e in by_key] == [b] and by_key[0].supersedes_id == a
        assert [v.text for v in knowledge.versions(ctx, a)] == ["Email", "Phone"]
        with pytest.raises(InvalidInput) as exc:
            knowledge.edit(ctx, other, changes={"key": "preferred_channel"})
        assert exc.value.errors[0].field == "key"
        with pytest.raises(InvalidInput) as exc:
            knowledge.add(ctx, cid, kind=KnowledgeKind.FACT, key="Bad Key", text=" ")
        assert {e.field for e in exc.value.errors} == {"key", "text"}

    act(tenant, T0 + timedelta(hours=3), check)


def test_stale_after_the_configured_days_and_confirm_refreshes(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = person(tenant)
    eid = act(
        tenant,
        T0,
        lambda ctx: knowledge.add(ctx, cid, kind=KnowledgeKind.FACT, text="Two sites").id,
    )

    def stale_at(now: datetime) -> bool:
        return act(tenant, now, lambda ctx: knowledge.get(ctx, eid).stale)

    assert not stale_at(T0 + timedelta(days=180))
    assert stale_at(T0 + timedelta(days=181))
    act(tenant, T0, lambda ctx: workspace_settings.update(ctx, {"stale_knowledge_days": 10}))
    assert not stale_at(T0 + timedelta(days=10))
    assert stale_at(T0 + timedelta(days=11))
    assert act(tenant, T0 + timedelta(days=11), lambda ctx: knowledge.current(ctx, cid)[0].stale)
    act(tenant, T0 + timedelta(days=11), lambda ctx: knowledge.confirm(ctx, eid))
    assert not stale_at(T0 + timedelta(days=20))
    assert stale_at(T0 + timedelta(days=22))
    # Confirming keeps the same version.
    assert act(tenant, T0 + timedelta(days=22), lambda ctx: len(knowledge.versions(ctx, eid))) == 1


@dataclass
class Version:
    id: int
    root: int
    key: str | None
    text: str
    recorded_at: datetime
    ended_at: datetime | None = None  # superseded or retired


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "edit", "retire"]),
        st.integers(0, 10),  # which current entry to edit or retire
        st.sampled_from([None, None, "preferred_channel", "budget"]),
        st.integers(1, 5000),  # minutes after the previous step
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=ops, probes=st.lists(st.floats(0, 1), min_size=1, max_size=6))
def test_as_of_matches_a_brute_force_model(tenant, steps, probes) -> None:  # type: ignore[no-untyped-def]
    cid = person(tenant)
    model: list[Version] = []
    now = T0
    times: list[datetime] = []

    def live() -> list[Version]:
        return [v for v in model if v.ended_at is None]

    for n, (op, pick, key, gap) in enumerate(steps):
        now = now + timedelta(minutes=gap)
        text = f"v{n}"
        current = live()
        if op == "add" or not current:
            entry = act(
                tenant,
                now,
                lambda ctx, key=key, text=text: knowledge.add(
                    ctx, cid, kind=KnowledgeKind.PREFERENCE, key=key, text=text
                ),
            )
            old = next((v for v in current if key and v.key == key), None)
            if old is not None:
                old.ended_at = now
            model.append(Version(entry.id, old.root if old else entry.id, key, text, now))
        elif op == "edit":
            old = current[pick % len(current)]
            entry = act(
                tenant,
                now,
                lambda ctx, old=old, text=text: knowledge.edit(ctx, old.id, changes={"text": text}),
            )
            old.ended_at = now
            model.append(Version(entry.id, old.root, old.key, text, now))
        else:
            old = current[pick % len(current)]
            act(tenant, now, lambda ctx, old=old: knowledge.retire(ctx, old.id))
            old.ended_at = now
        times.append(now)
        # a key never has two current values
        keys = [v.key for v in live() if v.key]
        assert len(keys) == len(set(keys))

    start, end = T0 - timedelta(minutes=1), now + timedelta(minutes=1)
    moments = times + [start, end] + [start + (end - start) * p for p in probes]

    def check(ctx: Ctx) -> None:
        for moment in moments:
            expected = {
                (v.id, v.text)
                for v in model
                if v.recorded_at <= moment and (v.ended_at is None or v.ended_at > moment)
            }
            got = {(e.id, e.text) for e in knowledge.as_of(ctx, cid, moment)}
            assert got == expected, moment
        assert {v.entry.id for v in knowledge.current(ctx, cid)} == {v.id for v in live()}
        for v in model:
            assert [x.id for x in knowledge.versions(ctx, v.id)] == [
                m.id for m in model if m.root == v.root
            ]

    act(tenant, now + timedelta(minutes=2), check)


# --- commitments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (CommitmentAction.KEEP, CommitmentStatus.KEPT),
        (CommitmentAction.BREAK, CommitmentStatus.BROKEN),
        (CommitmentAction.CANCEL, CommitmentStatus.CANCELLED),
    ],
)
def test_commitment_moves(tenant, action, status) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant)
    kid = act(
        tenant,
        T0,
        lambda ctx: (
            commitments.make(
                ctx, cid, text="Send the VAT summary", due_on=T0.date() + timedelta(days=3)
            ).id
        ),
    )
    later = T0 + timedelta(days=1)
    row = act(tenant, later, lambda ctx: commitments.resolve(ctx, kid, action, note="done"))
    assert row.status == status.value and row.resolved_at == later
    assert row.resolution_note == "done"

    def check(ctx: Ctx) -> None:
        for again in CommitmentAction:
            with pytest.raises(InvalidTransition):
                commitments.resolve(ctx, kid, again)
        c = commitments.get(ctx, kid)
        with pytest.raises(InvalidTransition):
            commitments.update(ctx, kid, expected_version=c.version, changes={"text": "x"})

    act(tenant, later, check)


def test_commitment_update_checks_version_and_fields(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant)
    other = person(tenant, display_name="Other")

    def run(ctx: Ctx) -> None:
        c = commitments.make(ctx, cid, text="Call back")
        assert c.promised_by == ctx.user_id and c.status == "open"
        v = c.version
        with pytest.raises(PreconditionFailed):
            commitments.update(ctx, c.id, expected_version=v + 1, changes={"text": "x"})
        with pytest.raises(InvalidInput) as exc:
            commitments.update(ctx, c.id, expected_version=v, changes={"status": "kept"})
        assert exc.value.errors[0].field == "status"
        foreign = interactions.log_interaction(
            ctx, other, channel=Channel.CALL, direction=Direction.OUTBOUND
        )
        with pytest.raises(InvalidInput) as exc:
            commitments.update(
                ctx, c.id, expected_version=v, changes={"interaction_id": foreign.id}
            )
        assert exc.value.errors[0].field == "interaction_id"
        with pytest.raises(InvalidInput) as exc:
            commitments.make(ctx, cid, text=" ", promised_by=987654)
        assert {e.field for e in exc.value.errors} == {"text", "promised_by"}
        done = commitments.update(
            ctx, c.id, expected_version=v, changes={"text": " Call back Monday "}
        )
        assert done.text == "Call back Monday" and done.version > v

    act(tenant, T0, run)


def test_overdue_commitments_are_flagged(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant)
    due = T0.date() + timedelta(days=2)
    kid = act(tenant, T0, lambda ctx: commitments.make(ctx, cid, text="Report", due_on=due).id)
    act(tenant, T0, lambda ctx: commitments.make(ctx, cid, text="Someday"))

    def overdue_ids(now: datetime) -> list[int]:
        return act(
            tenant,
            now,
            lambda ctx: [c.id for c in commitments.list_commitments(ctx, overdue=True).items],
        )

    assert overdue_ids(T0 + timedelta(days=2)) == []
    assert overdue_ids(T0 + timedelta(days=3)) == [kid]
    act(
        tenant,
        T0 + timedelta(days=3),
        lambda ctx: commitments.resolve(ctx, kid, CommitmentAction.KEEP),
    )
    assert overdue_ids(T0 + timedelta(days=4)) == []


# --- cadence ---------------------------------------------------------------------------------


def _touch_state(tenant, cid: int) -> tuple[datetime | None, date | None]:  # type: ignore[no-untyped-def]
    row = contact_row(tenant, cid)
    return row.last_touch_at, row.next_touch_due


@pytest.mark.parametrize("channel", [c for c in Channel if c is not Channel.NOTE])
@pytest.mark.parametrize("direction", [Direction.INBOUND, Direction.OUTBOUND])
def test_each_channel_resets_the_cadence(tenant, channel, direction) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant, since=T0.date() - timedelta(days=100))
    assert _touch_state(tenant, cid) == (None, T0.date() - timedelta(days=70))
    when = T0 + timedelta(days=1)
    act(
        tenant,
        when,
        lambda ctx: interactions.log_interaction(ctx, cid, channel=channel, direction=direction),
    )
    assert _touch_state(tenant, cid) == (when, when.date() + timedelta(days=30))


def test_an_internal_note_does_not_reset(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant, since=T0.date() - timedelta(days=100))
    before = _touch_state(tenant, cid)
    act(
        tenant,
        T0,
        lambda ctx: interactions.log_interaction(
            ctx, cid, channel=Channel.NOTE, direction=Direction.INTERNAL, subject="thinking"
        ),
    )
    assert _touch_state(tenant, cid) == before
    assert contact_row(tenant, cid).last_interaction_at == T0


def test_a_back_dated_touch_does_not_move_back(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant, since=T0.date() - timedelta(days=100))
    act(
        tenant,
        T0,
        lambda ctx: interactions.log_interaction(
            ctx, cid, channel=Channel.CALL, direction=Direction.OUTBOUND
        ),
    )
    act(
        tenant,
        T0,
        lambda ctx: interactions.log_interaction(
            ctx,
            cid,
            channel=Channel.CALL,
            direction=Direction.OUTBOUND,
            occurred_at=T0 - timedelta(days=20),
        ),
    )
    assert _touch_state(tenant, cid) == (T0, T0.date() + timedelta(days=30))


def test_a_delivered_delivery_resets(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant, since=T0.date() - timedelta(days=100))
    start = T0 - timedelta(hours=3)

    def run(ctx: Ctx) -> None:
        d = deliveries.create_delivery(
            ctx, cid, title="Clean", scheduled_start=start, scheduled_end=start + timedelta(hours=1)
        )
        deliveries.deliver(ctx, d.id, actual_end=T0 - timedelta(hours=1))

    act(tenant, T0, run)
    assert _touch_state(tenant, cid) == (T0 - timedelta(hours=1), T0.date() + timedelta(days=30))


def test_a_cancelled_delivery_does_not_reset(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant, since=T0.date() - timedelta(days=100))
    before = _touch_state(tenant, cid)

    def run(ctx: Ctx) -> None:
        start = T0 + timedelta(days=1)
        d = deliveries.create_delivery(
            ctx, cid, title="Clean", scheduled_start=start, scheduled_end=start + timedelta(hours=1)
        )
        deliveries.cancel(ctx, d.id, reason="rain")

    act(tenant, T0, run)
    assert _touch_state(tenant, cid) == before


@pytest.mark.parametrize("kind", [ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.VISIT])
def test_completing_a_call_meeting_or_visit_resets(tenant, kind) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant, since=T0.date() - timedelta(days=100))
    start = T0 + timedelta(hours=1)
    aid = act(
        tenant,
        T0,
        lambda ctx: (
            activities.create_activity(
                ctx,
                kind=kind,
                title="Catch up",
                contact_id=cid,
                start_at=start,
                end_at=start + timedelta(minutes=30),
            ).id
        ),
    )
    assert _touch_state(tenant, cid)[0] is None
    done = T0 + timedelta(hours=2)
    act(tenant, done, lambda ctx: activities.complete_activity(ctx, aid))
    assert _touch_state(tenant, cid) == (done, done.date() + timedelta(days=30))


def test_completing_a_task_does_not_reset(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant, since=T0.date() - timedelta(days=100))
    before = _touch_state(tenant, cid)
    aid = act(
        tenant,
        T0,
        lambda ctx: (
            activities.create_activity(
                ctx, kind=ActivityKind.TASK, title="Prepare", contact_id=cid, due_at=T0
            ).id
        ),
    )
    act(tenant, T0, lambda ctx: activities.complete_activity(ctx, aid))
    assert _touch_state(tenant, cid) == before


def test_next_touch_due_follows_cadence_changes(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant, since=T0.date() - timedelta(days=100), tags=["vip"])
    act(
        tenant,
        T0,
        lambda ctx: interactions.log_interaction(
            ctx, cid, channel=Channel.EMAIL, direction=Direction.OUTBOUND
        ),
    )
    assert _touch_state(tenant, cid)[1] == T0.date() + timedelta(days=30)

    def tighten(ctx: Ctx) -> None:
        view = contacts.get_contact(ctx, cid)
        contacts.update_contact(
            ctx, cid, expected_version=view.contact.version, changes={"cadence_days": 7}
        )

    act(tenant, T0, tighten)
    assert _touch_state(tenant, cid)[1] == T0.date() + timedelta(days=7)

    def untighten(ctx: Ctx) -> None:
        view = contacts.get_contact(ctx, cid)
        contacts.update_contact(
            ctx, cid, expected_version=view.contact.version, changes={"cadence_days": None}
        )

    act(tenant, T0, lambda ctx: workspace_settings.update(ctx, {"cadence_by_tag": {"vip": 14}}))
    act(tenant, T0, untighten)
    assert _touch_state(tenant, cid)[1] == T0.date() + timedelta(days=14)


def test_non_clients_have_no_next_touch(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = person(tenant)
    act(
        tenant,
        T0,
        lambda ctx: interactions.log_interaction(
            ctx, cid, channel=Channel.CALL, direction=Direction.OUTBOUND
        ),
    )
    assert _touch_state(tenant, cid) == (T0, None)


# --- health ----------------------------------------------------------------------------------


def _signals(tenant, now: datetime, cid: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    def run(ctx: Ctx) -> dict[str, int]:
        _, h = health.current(ctx, cid)
        assert h is not None
        return {c.signal: c.points for c in h.contributions}

    return act(tenant, now, run)


def test_health_contributions_follow_what_happens(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant)
    assert contact_row(tenant, cid).health_score == 100
    assert _signals(tenant, T0, cid) == {}

    act(
        tenant,
        T0,
        lambda ctx: commitments.make(ctx, cid, text="Report", due_on=T0.date() + timedelta(days=1)),
    )
    assert _signals(tenant, T0 + timedelta(days=1), cid) == {}
    assert _signals(tenant, T0 + timedelta(days=2), cid) == {"commitments": -10}

    day5 = T0 + timedelta(days=5)
    act(
        tenant,
        day5,
        lambda ctx: cases.open_case(
            ctx, cid, subject="Broken import", priority=CasePriority.URGENT
        ),
    )
    row = contact_row(tenant, cid)
    assert row.health_score == 70
    assert {c["signal"]: c["points"] for c in row.health_contributions} == {
        "commitments": -10,
        "cases": -20,
    }

    # 30 days of cadence run out on day 30; by day 45 the touch signal has taken 15.
    day45 = T0 + timedelta(days=45)
    got = _signals(tenant, day45, cid)
    assert got["touch"] == -15
    assert got["cases"] == -20  # aged: 1.5 * urgent, capped at the weight
    act(
        tenant,
        day45,
        lambda ctx: interactions.log_interaction(
            ctx, cid, channel=Channel.CALL, direction=Direction.OUTBOUND
        ),
    )
    row = contact_row(tenant, cid)
    assert "touch" not in {c["signal"] for c in row.health_contributions}
    assert row.health_score == 70
    reasons = [c["reason"] for c in row.health_contributions]
    assert "1 overdue commitment(s)" in reasons
    assert "1 open case(s), 1 older than 14 days" in reasons


def test_non_clients_have_no_health(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = person(tenant)
    act(tenant, T0, lambda ctx: commitments.make(ctx, cid, text="x", due_on=T0.date()))
    assert contact_row(tenant, cid).health_score is None
    assert act(tenant, T0, lambda ctx: health.current(ctx, cid)[1]) is None


def test_one_snapshot_row_per_day(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = client(tenant)
    days = [T0 + timedelta(days=n, hours=h) for n, h in ((40, 1), (40, 5), (41, 2), (45, 0))]
    for now in days:
        act(tenant, now, health.snapshot_all)

    with tenant.db.session() as session:
        rows = session.execute(
            select(HealthSnapshot.day, HealthSnapshot.score)
            .where(HealthSnapshot.contact_id == cid)
            .order_by(HealthSnapshot.day)
        ).all()
    # T0's own row (written when becoming a client) and one per later day.
    assert [r.day for r in rows] == [T0.date()] + [
        (T0 + timedelta(days=n)).date() for n in (40, 41, 45)
    ]
    assert [r.score for r in rows] == [100, 90, 89, 85]
    history = act(
        tenant,
        T0 + timedelta(days=45),
        lambda ctx: [(h.day, h.score) for h in health.history(ctx, cid, days=10)],
    )
    assert history == [(r.day, r.score) for r in rows[1:]]


# --- the brief -------------------------------------------------------------------------------


def _rich(tenant, extra: int = 0, email: str = "priya@example.com") -> int:  # type: ignore[no-untyped-def]
    """A client with something in every section; ``extra`` more interactions and events."""
    org = act(
        tenant,
        T0,
        lambda ctx: (
            contacts.create_contact(
                ctx, kind=ContactKind.ORGANIZATION, display_name="Leeds Bakery"
            ).contact.id
        ),
    )
    cid = client(
        tenant,
        since=T0.date() - timedelta(days=400),
        given_name="Priya",
        family_name="Shah",
        display_name=None,
        timezone="Asia/Tokyo",
        tags=["vip"],
        emails=[contacts.EmailIn(email)],
        organizations=[contacts.OrganizationLink(org, "Owner")],
    )

    def history(ctx: Ctx) -> None:
        # Old history, written in bulk (the brief must not care how long it is).
        for n in range(extra):
            when = T0 - timedelta(days=60, minutes=n)
            InteractionRepository(ctx.session, ctx.workspace_id).add(
                Interaction(
                    contact_id=cid,
                    channel="email",
                    direction="inbound",
                    occurred_at=when,
                    subject=f"old {n}",
                    body="",
                    participants=[],
                    author_id=ctx.user_id,
                    created_at=when,
                )
            )
            TimelineRepository(ctx.session, ctx.workspace_id).add(
                TimelineEvent(
                    contact_id=cid,
                    type=EventType.INTERACTION_LOGGED.value,
                    occurred_at=when,
                    recorded_at=when,
                    actor_id=ctx.user_id,
                    subject_type="interaction",
                    subject_id=None,
                    summary=f"Email (inbound): old {n}",
                    data={},
                )
            )
        ctx.session.flush()
        call = interactions.log_interaction(
            ctx,
            cid,
            channel=Channel.CALL,
            direction=Direction.OUTBOUND,
            occurred_at=T0 - timedelta(days=40),
            subject="Year-end planning",
        )
        knowledge.add(
            ctx,
            cid,
            kind=KnowledgeKind.PREFERENCE,
            key="preferred_channel",
            text="WhatsApp",
            source_interaction_id=call.id,
            pinned=True,
        )
        knowledge.add(ctx, cid, kind=KnowledgeKind.DO_NOT, text="Never call before 10")
        commitments.make(
            ctx,
            cid,
            text="Send the VAT summary",
            promised_to="Priya",
            due_on=T0.date() - timedelta(days=2),
            interaction_id=call.id,
        )
        cases.open_case(ctx, cid, subject="Payroll import failed", priority=CasePriority.HIGH)
        activities.create_activity(
            ctx,
            kind=ActivityKind.TASK,
            title="Prepare pack",
            contact_id=cid,
            due_at=T0 + timedelta(days=1),
        )
        start = T0 + timedelta(days=3)
        deliveries.create_delivery(
            ctx,
            cid,
            title="Quarterly review",
            scheduled_start=start,
            scheduled_end=start + timedelta(hours=1),
            allow_overlap=True,
        )
        for n in range(extra):  # and much since the last interaction
            when = T0 - timedelta(days=1, minutes=n)
            TimelineRepository(ctx.session, ctx.workspace_id).add(
                TimelineEvent(
                    contact_id=cid,
                    type=EventType.COMMITMENT_CHANGED.value,
                    occurred_at=when,
                    recorded_at=when,
                    actor_id=ctx.user_id,
                    subject_type="commitment",
                    subject_id=None,
                    summary=f"event {n}",
                    data={},
                )
            )
        ctx.session.flush()

    act(tenant, T0, history)
    return cid


def test_brief_contents_on_a_rich_client(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = _rich(tenant)
    b = act(tenant, T0, lambda ctx: brief.build(ctx, cid))
    assert b.who.name == "Priya Shah"
    assert b.who.organizations == ("Leeds Bakery (Owner)",)
    assert b.who.timezone == "Asia/Tokyo" and b.who.local_time.hour == 18
    assert b.who.preferred_channel == "WhatsApp"
    assert b.who.emails == ("priya@example.com",)
    assert b.who.phones == ()
    r = b.relationship
    assert r.stage == "client" and r.client_since == T0.date() - timedelta(days=400)
    assert r.tenure_days == 400
    assert [s.ended_on for s in r.spells] == [None]
    assert [a.title for a in r.active_agreements] == ["Retainer"]
    assert r.active_agreements[0].value_minor == 30000
    assert [k.text for k in b.knowledge] == ["WhatsApp", "Never call before 10"]  # pinned first
    assert b.since == T0 - timedelta(days=40)
    since = [e.type for e in b.since_last_time]
    assert {"knowledge.changed", "commitment.made", "case.opened"} <= set(since)
    assert "interaction.logged" not in since
    assert [i.subject for i in b.recent_interactions] == ["Year-end planning"]
    assert b.recent_interactions[0].channel == "call"
    items = {i.kind: i for i in b.open_items}
    assert {"commitment", "task", "delivery", "case"} <= set(items)
    assert items["commitment"].overdue and items["commitment"].detail == "to Priya"
    assert items["case"].detail.startswith("high, ")
    assert b.health is not None and b.health.score is not None and b.health.score < 100
    reasons = " ".join(b.health.reasons)
    assert "overdue commitment" in reasons and "open case" in reasons
    assert b.cadence is not None and b.cadence.cadence_days == 30
    assert b.cadence.next_touch_due == (T0 - timedelta(days=10)).date()
    assert b.cadence.overdue_days == 10

    md = render_markdown(b)
    for section in (
        "# Priya Shah",
        "## Who",
        "## Relationship",
        "## What we know",
        "## Since last time",
        "## Recent interactions",
        "## Open",
        "## Health",
        "## Cadence",
    ):
        assert section in md


def test_brief_query_count_does_not_grow_with_history(tenant) -> None:  # type: ignore[no-untyped-def]
    small = _rich(tenant, extra=5, email="small@example.com")
    large = _rich(tenant, extra=300, email="large@example.com")
    counts: list[int] = []
    for cid in (small, large):
        with unit_of_work(session_factory(tenant.db.engine)) as session:
            ctx = tenant.ctx(session)
            ctx.now = T0
            workspace_settings.read(ctx)  # as a request would have done already
            with count_statements(tenant.db.engine) as statements:
                b = brief.build(ctx, cid)
            counts.append(len(statements))
            assert len(b.recent_interactions) == 5
    assert counts[0] == counts[1], counts
    assert counts[0] <= 20, counts
