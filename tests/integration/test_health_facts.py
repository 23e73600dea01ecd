"""Health kept on write equals health computed from scratch.

``services.health`` reads every fact a score needs (overdue commitments and tasks, open cases,
the deliveries of the last 90 days, the next renewal, today's snapshot) in one query, for one
client or a whole batch. These tests compare what it keeps on the contact and in the snapshot
with a score computed here from the plain rows, for clients whose rows exercise each signal
(and rows of another workspace that must not count).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.db.models import (
    Activity,
    Agreement,
    Case,
    Commitment,
    Contact,
    Delivery,
    HealthSnapshot,
    Schedule,
    SearchDocument,
)
from tenure.db.repositories.search import SearchDocumentRepository
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.agreements import AgreementKind, BillingPeriod
from tenure.domain.contacts import ContactKind
from tenure.domain.health import Health, OpenCase, Signals, score
from tenure.services import agreements, cadence, contacts, health, interactions
from tenure.services.context import Ctx
from tenure.services.interactions import Channel, Direction
from tests.conftest import count_statements, make_tenant

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=50)
R = TypeVar("R")


def act(tenant, now: datetime, fn: Callable[[Ctx], R]) -> R:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        ctx.now = now
        return fn(ctx)


def client(tenant, name: str, renews_in: int = 300) -> int:  # type: ignore[no-untyped-def]
    def make(ctx: Ctx) -> int:
        cid = contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name=name).contact.id
        a = agreements.create_agreement(
            ctx,
            cid,
            title="Retainer",
            kind=AgreementKind.SUBSCRIPTION,
            value_minor=100,
            currency="GBP",
            billing_period=BillingPeriod.MONTHLY,
            renews_on=(NOW + timedelta(days=renews_in)).date(),
        )
        agreements.confirm(ctx, a.id, starts_on=T0.date())
        return cid

    return act(tenant, T0, make)


def add_history(session: Session, ws: int, cid: int, *, heavy: bool) -> None:
    """Rows for every signal, each with near misses that must not count (done, not yet due,
    outside the window, ended by the relationship's end)."""
    today = NOW.date()
    mine = {"workspace_id": ws, "contact_id": cid}

    def task(title: str, at: datetime, kind: str = "task", status: str = "open") -> Activity:
        return Activity(**mine, kind=kind, title=title, at=at, status=status)

    def case(subject: str, priority: str, days: int, status: str = "open") -> Case:
        opened = NOW - timedelta(days=days)
        return Case(**mine, subject=subject, priority=priority, opened_at=opened, status=status)

    rows: list[Any] = [
        Commitment(**mine, text="late", due_on=today - timedelta(days=3)),
        Commitment(**mine, text="due today", due_on=today),
        Commitment(**mine, text="undated"),
        Commitment(**mine, text="kept", due_on=date(2025, 1, 1), status="kept"),
        task("late", NOW - timedelta(hours=1)),
        task("soon", NOW + timedelta(hours=1)),
        task("a call", NOW - timedelta(days=2), kind="call"),
        task("done", NOW - timedelta(days=2), status="done"),
        case("new", "high", 2),
        case("closed", "urgent", 40, status="closed"),
    ]
    if heavy:
        rows += [
            Commitment(**mine, text="later", due_on=today - timedelta(days=30)),
            case("old", "low", 20, status="pending"),
            case("odd", "whatever", 1),
            Agreement(
                **mine, title="Add-on", kind="subscription", status="active",
                renews_on=today + timedelta(days=12),
            ),
            Agreement(
                **mine, title="Past", kind="subscription", status="active",
                renews_on=today - timedelta(days=1),
            ),
        ]  # fmt: skip
    session.add_all(rows)
    session.flush()
    schedule = Schedule(
        workspace_id=ws,
        contact_id=cid,
        produces="delivery",
        title="Weekly",
        rrule="FREQ=WEEKLY",
        dtstart_local="2025-01-06T09:00:00",
        timezone="UTC",
    )
    session.add(schedule)
    session.flush()
    outcomes = ["delivered", "no_show", "cancelled", "scheduled", "delivered"]
    if heavy:
        outcomes += ["no_show", "cancelled", "delivered"]
    for n, status in enumerate(outcomes):
        start = NOW - timedelta(days=7 * (n + 1))
        session.add(
            Delivery(
                workspace_id=ws,
                contact_id=cid,
                title=f"#{n}",
                status=status,
                scheduled_start=start,
                scheduled_end=start + timedelta(hours=1),
                schedule_id=schedule.id if n % 2 == 0 else None,
                occurrence_key=f"k{n}",
            )
        )
    for start, status, reason in (
        (NOW - timedelta(days=100), "no_show", ""),  # before the window
        (NOW + timedelta(days=1), "scheduled", ""),  # not yet
        (NOW - timedelta(days=3), "cancelled", "relationship ended: moved away"),
    ):
        session.add(
            Delivery(
                workspace_id=ws,
                contact_id=cid,
                title="edge",
                status=status,
                scheduled_start=start,
                schedule_id=schedule.id,
                cancel_reason=reason,
            )
        )
    session.flush()


def from_scratch(ctx: Ctx, contact: Contact) -> Health:
    """The score from the plain rows, filtered here in Python (no shared query)."""
    s, ws, cid, today, now = ctx.session, ctx.workspace_id, contact.id, ctx.today, ctx.now

    def rows(model: Any) -> list[Any]:
        return list(
            s.scalars(select(model).where(model.workspace_id == ws, model.contact_id == cid))
        )

    since = now - timedelta(days=90)
    window = [d for d in rows(Delivery) if d.scheduled_start and since <= d.scheduled_start < now]
    ended = [d for d in window if d.cancel_reason.startswith("relationship ended")]
    renewals = [
        a.renews_on
        for a in rows(Agreement)
        if a.status == "active" and a.renews_on and a.renews_on >= today
    ]
    state = cadence.status(ctx, contact)
    signals = Signals(
        today=today,
        cadence_days=state.cadence_days,
        next_touch_due=contact.next_touch_due,
        last_touch_on=state.last_touch_on,
        overdue_commitments=sum(
            1 for c in rows(Commitment) if c.status == "open" and c.due_on and c.due_on < today
        ),
        overdue_tasks=sum(
            1 for a in rows(Activity) if a.status == "open" and a.kind == "task" and a.at < now
        ),
        open_cases=[
            OpenCase(c.priority, max((now - c.opened_at).days, 0))
            for c in rows(Case)
            if c.status in ("open", "pending")
        ],
        planned_deliveries_90d=sum(1 for d in window if d.schedule_id and d not in ended),
        delivered_90d=sum(1 for d in window if d.status == "delivered"),
        renews_on=min(renewals, default=None),
        no_shows_90d=sum(1 for d in window if d.status == "no_show"),
        cancellations_90d=sum(1 for d in window if d.status == "cancelled" and d not in ended),
    )
    return score(signals)


def kept(ctx: Ctx, cid: int) -> tuple[int | None, list[Any], tuple[int, list[Any]] | None]:
    contact = ctx.session.get_one(Contact, cid)
    snap = ctx.session.scalars(
        select(HealthSnapshot).where(
            HealthSnapshot.contact_id == cid, HealthSnapshot.day == ctx.today
        )
    ).one_or_none()
    snapshot = (snap.score, snap.contributions) if snap else None
    return contact.health_score, contact.health_contributions, snapshot


def expected(ctx: Ctx, cid: int) -> tuple[int, list[Any], tuple[int, list[Any]]]:
    h = from_scratch(ctx, ctx.session.get_one(Contact, cid))
    contributions = [c.as_dict() for c in h.contributions]
    return h.score, contributions, (h.score, contributions)


def rich_clients(tenant, other) -> list[int]:  # type: ignore[no-untyped-def]
    """A heavy client, a lighter one and a bare one; the other workspace holds rows that name
    the heavy client's id (a foreign key does not know workspaces: the query must)."""
    heavy, light, bare = (client(tenant, name) for name in ("Heavy", "Light", "Bare"))
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        add_history(session, tenant.workspace_id, heavy, heavy=True)
        add_history(session, tenant.workspace_id, light, heavy=False)
        add_history(session, other.workspace_id, heavy, heavy=True)
    return [heavy, light, bare]


def test_logging_an_interaction_keeps_the_score_computed_from_scratch(tenant, db) -> None:  # type: ignore[no-untyped-def]
    ids = rich_clients(tenant, make_tenant(db, "other"))
    for cid in ids:
        act(
            tenant,
            NOW,
            lambda ctx, cid=cid: interactions.log_interaction(
                ctx, cid, channel=Channel.EMAIL, direction=Direction.INBOUND
            ),
        )
    for cid in ids:
        got = act(tenant, NOW, lambda ctx, cid=cid: kept(ctx, cid))
        want = act(tenant, NOW, lambda ctx, cid=cid: expected(ctx, cid))
        assert got == want, cid
        current = act(tenant, NOW, lambda ctx, cid=cid: health.current(ctx, cid)[1])
        assert current is not None and current.score == want[0]
    scores = [act(tenant, NOW, lambda ctx, cid=cid: kept(ctx, cid)[0]) for cid in ids]
    assert scores[0] < scores[1] < scores[2] == 100  # the facts differ, and so do the scores
    signals = {c["signal"] for c in act(tenant, NOW, lambda ctx: kept(ctx, ids[0])[1])}
    # (no "renewal": it only counts without a touch in the last 30 days; see the next test)
    assert signals == {"commitments", "tasks", "cases", "service", "outcomes"}


def test_an_internal_note_rescores_without_touching(tenant, db) -> None:  # type: ignore[no-untyped-def]
    """The touch signal stays (no touch), the rest is rescored; one UPDATE, one version."""
    heavy = rich_clients(tenant, make_tenant(db, "other"))[0]
    before = act(tenant, NOW, lambda ctx: ctx.session.get_one(Contact, heavy).version)
    act(
        tenant,
        NOW,
        lambda ctx: interactions.log_interaction(
            ctx, heavy, channel=Channel.NOTE, direction=Direction.INTERNAL
        ),
    )
    got = act(tenant, NOW, lambda ctx: kept(ctx, heavy))
    assert got == act(tenant, NOW, lambda ctx: expected(ctx, heavy))
    assert {"touch", "renewal"} <= {c["signal"] for c in got[1]}
    assert act(tenant, NOW, lambda ctx: ctx.session.get_one(Contact, heavy).version) == before + 1


def test_the_daily_batch_scores_every_client_in_one_read(tenant, db) -> None:  # type: ignore[no-untyped-def]
    ids = rich_clients(tenant, make_tenant(db, "other"))

    def batch(ctx: Ctx) -> tuple[int, int | None, list[str]]:
        with count_statements(tenant.db.engine) as seen:
            scored, cursor = health.snapshot_batch(ctx, after_id=0, limit=10)
        return scored, cursor, list(seen)

    scored, cursor, seen = act(tenant, NOW, batch)
    assert (scored, cursor) == (3, None)
    # The clients, then every fact of all three in one statement (not one per client).
    assert sum("FROM commitments" in s for s in seen) == 1, seen
    for cid in ids:
        assert act(tenant, NOW, lambda ctx, cid=cid: kept(ctx, cid)) == act(
            tenant, NOW, lambda ctx, cid=cid: expected(ctx, cid)
        )
    # Again the same day: nothing moved, so no snapshot is written again.
    again = act(tenant, NOW, batch)
    assert again[:2] == (3, None)
    assert not [s for s in again[2] if "INSERT INTO health_snapshots" in s], again[2]
    with tenant.db.session() as session:
        days = session.scalars(
            select(HealthSnapshot.day).where(HealthSnapshot.contact_id.in_(ids))
        ).all()
    assert sorted(days) == sorted([T0.date()] * 3 + [NOW.date()] * 3)


def test_a_new_id_replaces_a_document_left_under_it(tenant) -> None:  # type: ignore[no-untyped-def]
    """``put_new`` skips the lookup for a new row's id; a leftover document under that id
    (SQLite may reuse a deleted last row's id) is overwritten, not a failed write."""

    def put(title: str) -> Callable[[Ctx], None]:
        def run(ctx: Ctx) -> None:
            repo = SearchDocumentRepository(ctx.session, ctx.workspace_id)
            repo.put_new("interaction", 999, contact_id=None, title=title, body="b", now=ctx.now)

        return run

    act(tenant, T0, put("left behind"))
    act(tenant, NOW, put("the new one"))
    with tenant.db.session() as session:
        docs = session.execute(
            select(SearchDocument.title, SearchDocument.updated_at).where(
                SearchDocument.workspace_id == tenant.workspace_id,
                SearchDocument.ref_id == 999,
            )
        ).all()
    assert [tuple(d) for d in docs] == [("the new one", NOW)]
