"""Computing, storing and explaining each client's health score."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.orm.exc import StaleDataError

from tenure.db.models import Contact, HealthSnapshot
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.continuity import (
    HealthFacts,
    HealthSignalQueries,
    SnapshotRepository,
    TodaySnapshot,
)
from tenure.domain.access import Permission
from tenure.domain.health import Health, OpenCase, Signals, score
from tenure.domain.lifecycle import Stage
from tenure.services import cadence, workspace_settings
from tenure.services.context import Ctx

WINDOW_DAYS = 90


def facts_of(ctx: Ctx, contact_ids: Sequence[int]) -> dict[int, HealthFacts]:
    """The database facts of these clients' scores, in one query whatever their number."""
    return HealthSignalQueries(ctx.session, ctx.workspace_id).facts(
        contact_ids, today=ctx.today, now=ctx.now, since=ctx.now - timedelta(days=WINDOW_DAYS)
    )


def signals_of(ctx: Ctx, contact: Contact, facts: HealthFacts | None = None) -> Signals:
    if facts is None:
        facts = facts_of(ctx, [contact.id]).get(contact.id, HealthFacts())
    state = cadence.status(ctx, contact)
    return Signals(
        today=ctx.today,
        cadence_days=state.cadence_days,
        next_touch_due=contact.next_touch_due,
        last_touch_on=state.last_touch_on,
        overdue_commitments=facts.overdue_commitments,
        overdue_tasks=facts.overdue_tasks,
        open_cases=[
            OpenCase(priority, max((ctx.now - opened).days, 0))
            for priority, opened in facts.open_cases
        ],
        planned_deliveries_90d=facts.planned_deliveries,
        delivered_90d=facts.delivered,
        renews_on=facts.renews_on,
        no_shows_90d=facts.no_shows,
        cancellations_90d=facts.cancellations,
    )


def recompute(ctx: Ctx, contact: Contact, facts: HealthFacts | None = None) -> Health | None:
    """Score a client now, keep it on the contact and in today's snapshot. Non-clients have
    no health (None), since there is no relationship to keep. ``facts``: already read for a
    batch (``facts_of``); read here otherwise, in one query that also finds today's snapshot.

    The score is set on the contact, not flushed: it goes out with the caller's other changes
    to the row (one UPDATE, one version step) at the next flush or at commit."""
    if contact.stage != Stage.CLIENT:
        contact.health_score = None
        contact.health_contributions = []
        return None
    if facts is None:
        facts = facts_of(ctx, [contact.id]).get(contact.id, HealthFacts())
    weights = workspace_settings.read(ctx).health_weights
    health = score(signals_of(ctx, contact, facts), weights)
    contributions = [c.as_dict() for c in health.contributions]
    contact.health_score = health.score
    contact.health_contributions = contributions
    _keep_snapshot(ctx, contact.id, facts.snapshot, health.score, contributions)
    return health


def _keep_snapshot(
    ctx: Ctx,
    contact_id: int,
    today: TodaySnapshot | None,
    value: int,
    contributions: list[dict[str, object]],
) -> None:
    """Today's snapshot: written once, rewritten only when the score or its reasons moved."""
    if today is None or (today.score, today.contributions) != (value, contributions):
        SnapshotRepository(ctx.session, ctx.workspace_id).put(
            contact_id, ctx.today, value, contributions
        )


def recompute_id(ctx: Ctx, contact_id: int | None) -> None:
    if contact_id is not None:
        recompute(ctx, ContactRepository(ctx.session, ctx.workspace_id).get(contact_id))


def history(ctx: Ctx, contact_id: int, *, days: int = 365) -> Sequence[HealthSnapshot]:
    ctx.require(Permission.READ)
    ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    return SnapshotRepository(ctx.session, ctx.workspace_id).history(
        contact_id, ctx.today - timedelta(days=days)
    )


def current(ctx: Ctx, contact_id: int) -> tuple[Contact, Health | None]:
    """Score the contact afresh (reads change nothing: no snapshot is written)."""
    ctx.require(Permission.READ)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    if contact.stage != Stage.CLIENT:
        return contact, None
    weights = workspace_settings.read(ctx).health_weights
    return contact, score(signals_of(ctx, contact), weights)


def snapshot_all(ctx: Ctx, *, batch: int = 500) -> int:
    """Recompute every client's score and write today's snapshot (the daily job)."""
    ctx.require(Permission.WRITE)
    repo = ContactRepository(ctx.session, ctx.workspace_id)
    after = 0
    done = 0
    while True:
        clients = repo.clients_after(after, batch)
        if not clients:
            return done
        facts = facts_of(ctx, [c.id for c in clients])
        for contact in clients:
            recompute(ctx, contact, facts.get(contact.id))
        done += len(clients)
        after = clients[-1].id


def snapshot_batch(ctx: Ctx, *, after_id: int, limit: int) -> tuple[int, int | None]:
    """One bounded slice of the daily snapshot: the clients after ``after_id`` by id, at most
    ``limit``; returns how many were scored and the cursor to continue from (None: done)."""
    ctx.require(Permission.WRITE)
    clients = ContactRepository(ctx.session, ctx.workspace_id).clients_after(after_id, limit)
    facts = facts_of(ctx, [c.id for c in clients])
    scored = sum(
        1 for contact in clients if _recompute_retrying(ctx, contact, facts.get(contact.id))
    )
    return scored, (clients[-1].id if len(clients) == limit else None)


def _recompute_retrying(ctx: Ctx, contact: Contact, facts: HealthFacts | None) -> bool:
    """Score one client in its own SAVEPOINT. A person saving the contact meanwhile (its
    optimistic ``version`` moved on, on PostgreSQL) is not an error of the batch: reload the
    contact and score it again. If it keeps moving, skip it (False): the score is recomputed
    on the contact's own writes anyway, and tomorrow's snapshot takes it again; failing the
    whole batch instead would roll back every other client's snapshot. ``facts``: read for the
    whole batch; a retry reads them again (the contact changed, maybe more than its row)."""
    for _attempt in range(2):
        try:
            with ctx.session.begin_nested():  # leaving it flushes: a stale version raises here
                recompute(ctx, contact, facts)
            return True
        except StaleDataError:
            ctx.session.refresh(contact)
            facts = None
    return False
