"""Creating many new contacts at once: the rows ``services.contacts.create_contact`` writes
for one contact (the contact, its email/phone/tag lookup rows, its organizations, its search
document and duplicate keys, ``contact.created`` on its timeline, the automation outbox),
written for a whole batch with one statement per table (a few on SQLite's search documents).

This is what makes large imports fast (a statement per table per batch instead of about
twenty per row). ``tests/integration/test_import_bulk.py`` checks that it writes exactly what
the service writes for the same contact; a change to contact creation belongs in both.

Rows are built as tuples in the order of the ``*_COLUMNS`` names, not as dicts: the writer
hands them to the driver as they are (bench/IMPORT.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from tenure.db.repositories.imports import ImportWriter
from tenure.db.repositories.search import IndexSource
from tenure.domain.duplicates import ContactFacts, match_keys
from tenure.domain.events import EventType
from tenure.domain.imports.rows import ContactRow
from tenure.domain.lifecycle import Stage
from tenure.domain.search import ContactText, DocumentKind, contact_document
from tenure.services import automation
from tenure.services import jobs as job_queue
from tenure.services.context import Ctx


@dataclass(frozen=True)
class NewContact:
    row: ContactRow
    #: The person's organization: a contact id, or a placeholder (< 0) of an organization
    #: created in the same call (resolved through ``placeholders``).
    organization: int | None = None
    placeholder: int = 0


CONTACT_COLUMNS = (
    "kind",
    "display_name",
    "sort_name",
    "given_name",
    "family_name",
    "emails",
    "phones",
    "tags",
    "address",
    "timezone",
    "owner_id",
    "notes",
    "stage",
    "client_since",
    "closed_tenure_days",
    "cadence_days",
    "do_not_email",
    "health_contributions",
    "version",
    "created_at",
    "updated_at",
)
DOCUMENT_COLUMNS = ("kind", "ref_id", "contact_id", "title", "body", "updated_at")
EVENT_COLUMNS = (
    "contact_id",
    "type",
    "occurred_at",
    "recorded_at",
    "actor_id",
    "subject_type",
    "subject_id",
    "summary",
    "data",
)
#: A new contact has no health contributions: one shared value, so the writer converts it to
#: JSON once per batch rather than once per row.
_NO_CONTRIBUTIONS: list[Any] = []


def _values(ctx: Ctx, row: ContactRow, display: str) -> tuple[Any, ...]:
    """The contact's columns (``CONTACT_COLUMNS``) as ``create_contact`` sets them from
    already-normalized values."""
    return (
        row.kind.value,
        display,
        display.lower()[:300],
        row.given_name,
        row.family_name,
        [{"email": e, "label": None, "primary": i == 0} for i, e in enumerate(row.emails)],
        [{"number": p, "label": None, "primary": i == 0} for i, p in enumerate(row.phones)],
        list(row.tags),
        row.address or None,
        row.timezone,
        None,
        row.notes,
        Stage.CONTACT.value,
        None,
        0,
        None,
        False,
        _NO_CONTRIBUTIONS,
        1,
        ctx.now,
        ctx.now,
    )


def create_contacts(ctx: Ctx, items: Sequence[NewContact]) -> dict[int, int]:
    """Create the contacts; returns placeholder → new id (for items that had one)."""
    if not items:
        return {}
    writer = ImportWriter(ctx.session, ctx.workspace_id)
    names = [item.row.name for item in items]
    ids = writer.contacts(
        CONTACT_COLUMNS,
        [_values(ctx, item.row, name) for item, name in zip(items, names, strict=True)],
    )
    placeholders = {item.placeholder: i for item, i in zip(items, ids, strict=True)}
    pairs = list(zip(ids, items, strict=True))
    writer.lookups(
        [(cid, e) for cid, item in pairs for e in item.row.emails],
        [(cid, p) for cid, item in pairs for p in item.row.phones],
        [(cid, t) for cid, item in pairs for t in item.row.tags],
    )
    links = [
        (cid, placeholders.get(item.organization, item.organization), item.row.job_title)
        for cid, item in pairs
        if item.organization is not None
    ]
    writer.affiliations(links)
    _index(ctx, writer, pairs, names, people=[cid for cid, _, _ in links])
    _record_created(ctx, writer, ids, names, items)
    return {p: i for p, i in placeholders.items() if p}


def _index(
    ctx: Ctx,
    writer: ImportWriter,
    pairs: list[tuple[int, NewContact]],
    names: list[str],
    people: list[int],
) -> None:
    """Search documents and duplicate keys, as ``search.index_contact`` makes them."""
    organizations = IndexSource(ctx.session, ctx.workspace_id).organizations_of(people)
    documents: list[tuple[Any, ...]] = []
    keys: list[tuple[int, str]] = []
    contact_kind, note_kind, now = DocumentKind.CONTACT.value, DocumentKind.NOTE.value, ctx.now
    for (cid, item), display in zip(pairs, names, strict=True):
        row = item.row
        orgs = organizations.get(cid, [])
        title, body = contact_document(
            ContactText(
                display_name=display,
                given_name=row.given_name,
                family_name=row.family_name,
                emails=row.emails,
                phones=row.phones,
                organizations=[name for _, name in orgs],
                tags=row.tags,
            )
        )
        documents.append((contact_kind, cid, cid, title, body, now))
        if row.notes.strip():
            documents.append((note_kind, cid, cid, f"Notes on {display}", row.notes, now))
        facts = ContactFacts(
            id=cid,
            kind=row.kind.value,
            display_name=display,
            given_name=row.given_name,
            family_name=row.family_name,
            emails=row.emails,
            phones=row.phones,
            organization_ids=tuple(org for org, _ in orgs),
        )
        keys += [(cid, key) for key in match_keys(facts)]
    writer.documents(DOCUMENT_COLUMNS, documents)
    # In key order: the batch's inserts into the (workspace, key) index then walk it once
    # from left to right instead of landing on random pages.
    keys.sort(key=itemgetter(1))
    writer.match_keys(keys)


def _record_created(
    ctx: Ctx, writer: ImportWriter, ids: list[int], names: list[str], items: Sequence[NewContact]
) -> None:
    """``contact.created`` for each, as ``timeline.record`` writes it, and its dispatch job
    when something listens (``automation.on_event``)."""
    data: dict[str, Any] = {
        "source": ctx.source,
        **({"automation": ctx.automation} if ctx.automation else {}),
    }
    created, now, actor = EventType.CONTACT_CREATED.value, ctx.now, ctx.user_id
    event_ids = writer.events(
        EVENT_COLUMNS,
        [
            (
                cid,
                created,
                now,
                now,
                actor,
                "contact",
                cid,
                f"{name} was added as a {item.row.kind.value}",
                data,
            )
            for cid, name, item in zip(ids, names, items, strict=True)
        ],
    )
    types = automation.subscribed_types(ctx)
    listening = EventType.CONTACT_CREATED.value in types or "*" in types
    if listening and (ctx.automation or {}).get("depth", 0) < automation.MAX_DEPTH:
        for event_id in event_ids:
            job_queue.enqueue(
                ctx,
                automation.DISPATCH_KIND,
                {"event_id": event_id},
                key=f"dispatch:{event_id}",
            )
