"""Creating many new contacts at once: the rows ``services.contacts.create_contact`` writes
for one contact (the contact, its email/phone/tag lookup rows, its organizations, its search
document and duplicate keys, ``contact.created`` on its timeline, the automation outbox),
written for a whole batch with one multi-row INSERT per table.

This is what makes large imports fast (a statement per table per batch instead of about
twenty per row). ``tests/integration/test_import_bulk.py`` checks that it writes exactly what
the service writes for the same contact; a change to contact creation belongs in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


def _values(ctx: Ctx, row: ContactRow) -> dict[str, Any]:
    """The contact's columns as ``create_contact`` sets them from already-normalized values."""
    display = row.name
    return {
        "kind": row.kind.value,
        "display_name": display,
        "sort_name": display.lower()[:300],
        "given_name": row.given_name,
        "family_name": row.family_name,
        "emails": [
            {"email": e, "label": None, "primary": i == 0} for i, e in enumerate(row.emails)
        ],
        "phones": [
            {"number": p, "label": None, "primary": i == 0} for i, p in enumerate(row.phones)
        ],
        "tags": list(row.tags),
        "address": row.address or None,
        "timezone": row.timezone,
        "owner_id": None,
        "notes": row.notes,
        "stage": Stage.CONTACT.value,
        "client_since": None,
        "closed_tenure_days": 0,
        "cadence_days": None,
        "do_not_email": False,
        "health_contributions": [],
        "version": 1,
        "created_at": ctx.now,
        "updated_at": ctx.now,
    }


def create_contacts(ctx: Ctx, items: Sequence[NewContact]) -> dict[int, int]:
    """Create the contacts; returns placeholder → new id (for items that had one)."""
    if not items:
        return {}
    writer = ImportWriter(ctx.session, ctx.workspace_id)
    ids = writer.contacts([_values(ctx, item.row) for item in items])
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
    _index(ctx, writer, pairs, people=[cid for cid, _, _ in links])
    _record_created(ctx, writer, pairs)
    return {p: i for p, i in placeholders.items() if p}


def _index(
    ctx: Ctx, writer: ImportWriter, pairs: list[tuple[int, NewContact]], people: list[int]
) -> None:
    """Search documents and duplicate keys, as ``search.index_contact`` makes them."""
    organizations = IndexSource(ctx.session, ctx.workspace_id).organizations_of(people)
    documents: list[dict[str, Any]] = []
    keys: list[tuple[int, str]] = []
    for cid, item in pairs:
        row = item.row
        display = row.name
        orgs = organizations.get(cid, [])
        title, body = contact_document(
            ContactText(
                display_name=display,
                given_name=row.given_name,
                family_name=row.family_name,
                emails=list(row.emails),
                phones=list(row.phones),
                organizations=[name for _, name in orgs],
                tags=list(row.tags),
            )
        )
        documents.append(_document(ctx, DocumentKind.CONTACT.value, cid, title, body))
        if row.notes.strip():
            documents.append(
                _document(ctx, DocumentKind.NOTE.value, cid, f"Notes on {display}", row.notes)
            )
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
        keys += [(cid, key) for key in sorted(match_keys(facts))]
    writer.documents(documents)
    writer.match_keys(keys)


def _document(ctx: Ctx, kind: str, cid: int, title: str, body: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "ref_id": cid,
        "contact_id": cid,
        "title": title,
        "body": body,
        "updated_at": ctx.now,
    }


def _record_created(ctx: Ctx, writer: ImportWriter, pairs: list[tuple[int, NewContact]]) -> None:
    """``contact.created`` for each, as ``timeline.record`` writes it, and its dispatch job
    when something listens (``automation.on_event``)."""
    data: dict[str, Any] = {
        "source": ctx.source,
        **({"automation": ctx.automation} if ctx.automation else {}),
    }
    event_ids = writer.events(
        [
            {
                "contact_id": cid,
                "type": EventType.CONTACT_CREATED.value,
                "occurred_at": ctx.now,
                "recorded_at": ctx.now,
                "actor_id": ctx.user_id,
                "subject_type": "contact",
                "subject_id": cid,
                "summary": f"{item.row.name} was added as a {item.row.kind.value}",
                "data": data,
            }
            for cid, item in pairs
        ]
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
