"""Computing, storing and explaining each client's health score."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.orm.exc import StaleDataError

from tenure.db.models import Contact, HealthSnapshot
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.continuity import HealthSignalQueries, SnapshotRepository
from tenure.domain.access import Permission
from tenure.domain.health import Health, OpenCase, Signals, score
from tenure.domain.lifecycle import Stage
from tenure.services import cadence, workspace_settings
from tenure.services.context import Ctx

WINDOW_DAYS = 90


def signals_of(ctx: Ctx, contact: Contact) -> Signals:
    queries = HealthSignalQueries(ctx.session, ctx.workspace_id)
    overdue_commitments, overdue_tasks = queries.overdue_counts(contact.id, ctx.today, ctx.now)
    cases = [
        OpenCase(priority, max((ctx.now - opened).days, 0))
        for priority, opened in queries.open_cases(contact.id)
    ]
    counts = queries.delivery_counts(contact.id, ctx.now - timedelta(days=WINDOW_DAYS), ctx.now)
    state = cadence.status(ctx, contact)
    return Signals(
        today=ctx.today,
        cadence_days=state.cadence_days,
        next_touch_due=contact.next_touch_due,
        last_touch_on=state.last_touch_on,
        overdue_commitments=overdue_commitments,
        overdue_tasks=overdue_tasks,
        open_cases=cases,
        planned_deliveries_90d=counts["planned"],
        delivered_90d=counts["delivered"],
        renews_on=queries.next_renewal(contact.id, ctx.today),
        no_shows_90d=counts["no_show"],
        cancellations_90d=counts["cancelled"],
    )


def recompute(ctx: Ctx, contact: Contact) -> Health | None:
    """Score a client now, keep it on the contact and in today's snapshot. Non-clients have
    no health (None), since there is no relationship to keep."""
    if contact.stage != Stage.CLIENT:
        contact.health_score = None
        contact.health_contributions = []
        return None
    weights = workspace_settings.read(ctx).health_weights
    health = score(signals_of(ctx, contact), weights)
    contributions = [c.as_dict() for c in health.contributions]
    contact.health_score = health.score
    contact.health_contributions = contributions
    snapshots = SnapshotRepository(ctx.session, ctx.workspace_id)
    today = snapshots.on(contact.id, ctx.today)
    if today is None:
        snapshots.add(
            HealthSnapshot(
                contact_id=contact.id,
                day=ctx.today,
                score=health.score,
                contributions=contributions,
            )
        )
    else:
        today.score, today.contributions = health.score, contributions
    ctx.session.flush()
    return health


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
        for contact in clients:
            recompute(ctx, contact)
        done += len(clients)
        after = clients[-1].id


def snapshot_batch(ctx: Ctx, *, after_id: int, limit: int) -> tuple[int, int | None]:
    """One bounded slice of the daily snapshot: the clients after ``after_id`` by id, at most
    ``limit``; returns how many were scored and the cursor to continue from (None: done)."""
    ctx.require(Permission.WRITE)
    clients = ContactRepository(ctx.session, ctx.workspace_id).clients_after(after_id, limit)
    scored = sum(1 for contact in clients if _recompute_retrying(ctx, contact))
    return scored, (clients[-1].id if len(clients) == limit else None)


def _recompute_retrying(ctx: Ctx, contact: Contact) -> bool:
    """Score one client in its own SAVEPOINT. A person saving the contact meanwhile (its
    optimistic ``version`` moved on, on PostgreSQL) is not an error of the batch: reload the
    contact and score it again. If it keeps moving, skip it (False): the score is recomputed
    on the contact's own writes anyway, and tomorrow's snapshot takes it again; failing the
    whole batch instead would roll back every other client's snapshot."""
    for _attempt in range(2):
        try:
            with ctx.session.begin_nested():
                recompute(ctx, contact)
            return True
        except StaleDataError:
            ctx.session.refresh(contact)
    return False
