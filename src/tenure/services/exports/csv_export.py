"""CSV exports of lists and timelines, page by page (keyset), so memory stays constant.

The contact list is read through ``services.contacts.list_contacts`` with the filters and sort
of the list itself: the CSV holds exactly what the list shows, every row once. Cells a
spreadsheet would run as formulas are neutralized (``domain.exports.neutralize``).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from tenure.db.models import Activity, Case, Contact, Delivery, TimelineEvent
from tenure.db.repositories.contacts import ContactFilter
from tenure.db.repositories.pagination import MAX_LIMIT, Page
from tenure.db.repositories.scheduling import ActivityFilter, CaseFilter, DeliveryFilter
from tenure.domain.access import Permission
from tenure.domain.exports import cell_text
from tenure.services import activities, audit, cases, deliveries, timeline
from tenure.services import contacts as contact_service
from tenure.services.context import Ctx

CONTACT_COLUMNS: tuple[tuple[str, Callable[[Contact], Any]], ...] = (
    ("id", lambda c: c.id),
    ("kind", lambda c: c.kind),
    ("display_name", lambda c: c.display_name),
    ("given_name", lambda c: c.given_name),
    ("family_name", lambda c: c.family_name),
    ("stage", lambda c: c.stage),
    ("client_since", lambda c: c.client_since),
    ("emails", lambda c: [str(e.get("email", "")) for e in c.emails or []]),
    ("phones", lambda c: [str(p.get("number", "")) for p in c.phones or []]),
    ("tags", lambda c: list(c.tags or [])),
    ("owner_id", lambda c: c.owner_id),
    ("timezone", lambda c: c.timezone),
    ("address", lambda c: c.address),
    ("notes", lambda c: c.notes),
    ("last_interaction_at", lambda c: c.last_interaction_at),
    ("last_touch_at", lambda c: c.last_touch_at),
    ("next_activity_at", lambda c: c.next_activity_at),
    ("next_touch_due", lambda c: c.next_touch_due),
    ("health_score", lambda c: c.health_score),
    ("do_not_email", lambda c: c.do_not_email),
    ("created_at", lambda c: c.created_at),
    ("updated_at", lambda c: c.updated_at),
)

EVENT_COLUMNS: tuple[tuple[str, Callable[[TimelineEvent], Any]], ...] = (
    ("id", lambda e: e.id),
    ("occurred_at", lambda e: e.occurred_at),
    ("type", lambda e: e.type),
    ("summary", lambda e: e.summary),
    ("actor_id", lambda e: e.actor_id),
    ("subject_type", lambda e: e.subject_type),
    ("subject_id", lambda e: e.subject_id),
    ("data", lambda e: e.data),
)


def _pages(fetch: Callable[[str | None], Page]) -> Iterator[Sequence[Any]]:
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def _write(
    ctx: Ctx,
    out: IO[str],
    columns: Sequence[tuple[str, Callable[[Any], Any]]],
    pages: Iterator[Sequence[Any]],
) -> int:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _ in columns])
    rows = 0
    for items in pages:
        for item in items:
            writer.writerow([cell_text(get(item)) for _, get in columns])
            # Written rows leave the session: a long export keeps one page in memory.
            ctx.session.expunge(item)
        rows += len(items)
    return rows


def contacts_csv(
    ctx: Ctx,
    out: IO[str],
    *,
    filters: ContactFilter,
    sort: str = "name",
    page_size: int = MAX_LIMIT,
) -> int:
    """The contact list as CSV (its filters and sort); returns the number of rows. A search
    (``q``) is one ranked page, as in the list. Audited as ``contacts.exported``."""
    ctx.require(Permission.READ)
    audit.log(ctx, "contacts.exported", filters=_described(filters), sort=sort)

    def fetch(cursor: str | None) -> Page:
        return contact_service.list_contacts(
            ctx, filters=filters, sort=sort, cursor=cursor, limit=page_size
        )

    return _write(ctx, out, CONTACT_COLUMNS, _pages(fetch))


def timeline_csv(ctx: Ctx, out: IO[str], *, contact_id: int, page_size: int = MAX_LIMIT) -> int:
    """One contact's timeline as CSV, newest first. Audited as ``timeline.exported``."""
    ctx.require(Permission.READ)
    contact_service.get_contact(ctx, contact_id)  # 404 before anything is written
    audit.log(ctx, "timeline.exported", contact_id=contact_id)

    def fetch(cursor: str | None) -> Page:
        return timeline.page(ctx, contact_id=contact_id, cursor=cursor, limit=page_size)

    return _write(ctx, out, EVENT_COLUMNS, _pages(fetch))


def _all_columns(model: Any) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """Every column of a model but its workspace: a new column is exported with no new code."""
    return tuple(
        (c.key, lambda row, key=c.key: getattr(row, key))
        for c in model.__table__.columns
        if c.key != "workspace_id"
    )


def _list_csv(
    ctx: Ctx,
    out: IO[str],
    *,
    noun: str,
    model: Any,
    filters: Any,
    list_page: Callable[..., Page],
    page_size: int,
) -> int:
    ctx.require(Permission.READ)
    audit.log(ctx, f"{noun}.exported", filters=_described(filters))

    def fetch(cursor: str | None) -> Page:
        return list_page(ctx, filters=filters, cursor=cursor, limit=page_size)

    return _write(ctx, out, _all_columns(model), _pages(fetch))


def activities_csv(
    ctx: Ctx, out: IO[str], *, filters: ActivityFilter, page_size: int = MAX_LIMIT
) -> int:
    """The activity list (its filters, soonest first) as CSV: every column."""
    return _list_csv(
        ctx,
        out,
        noun="activities",
        model=Activity,
        filters=filters,
        list_page=activities.list_activities,
        page_size=page_size,
    )


def cases_csv(ctx: Ctx, out: IO[str], *, filters: CaseFilter, page_size: int = MAX_LIMIT) -> int:
    """The case list (its filters, newest first) as CSV: every column."""
    return _list_csv(
        ctx,
        out,
        noun="cases",
        model=Case,
        filters=filters,
        list_page=cases.list_cases,
        page_size=page_size,
    )


def deliveries_csv(
    ctx: Ctx, out: IO[str], *, filters: DeliveryFilter, page_size: int = MAX_LIMIT
) -> int:
    """The delivery list (its filters, newest first) as CSV: every column."""
    return _list_csv(
        ctx,
        out,
        noun="deliveries",
        model=Delivery,
        filters=filters,
        list_page=deliveries.list_deliveries,
        page_size=page_size,
    )


def _described(filters: Any) -> dict[str, Any]:
    return {k: cell_text(v) for k, v in filters.__dict__.items() if v is not None}
