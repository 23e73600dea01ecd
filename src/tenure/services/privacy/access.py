"""Right of access and portability (GDPR Art. 15/20): every stored datum about one contact."""

from __future__ import annotations

import base64
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tenure.db.models import Contact
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.merge import contact_references
from tenure.db.repositories.privacy import PrivacyRepository
from tenure.domain.access import Permission
from tenure.services import audit
from tenure.services.context import Ctx

#: Columns that are credentials, not data about the person (a calendar feed's token hash).
SECRET_COLUMNS = frozenset({"token_hash", "secret"})

FORMAT_VERSION = 1


def jsonable(value: Any) -> Any:
    """A stored value as JSON: times as ISO 8601, bytes as base64, the rest as they are."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in row.items() if k not in SECRET_COLUMNS}


def _contact_row(contact: Contact) -> dict[str, Any]:
    table = Contact.__table__
    return _row({c.name: getattr(contact, c.key) for c in table.columns})


def personal_data(ctx: Ctx, contact_id: int, *, ip: str = "") -> dict[str, Any]:
    """Everything stored about the contact, grouped by kind (table), JSON-serializable.

    Includes the contact, the merged-away contacts that point at it, every row of every table
    that references any of them (timeline, interactions, knowledge versions, agreements, email
    log …), and the jobs and webhook deliveries whose payloads name them. Owners and admins
    only: answering a data-subject request is an administrative act. A merged-away id answers
    ``ContactMerged`` (the request belongs to the survivor). Audited: a copy of someone's
    data left the system (the entry names the contact id, never the data).
    """
    ctx.require(Permission.ADMIN)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    store = PrivacyRepository(ctx.session, ctx.workspace_id)
    ids = [contact.id, *store.pointer_ids(contact.id)]
    records: dict[str, list[dict[str, Any]]] = {}
    for ref in contact_references():
        rows = store.rows(ref, ids)
        if not rows:
            continue
        # A table can point at contacts twice (affiliations: person and organization).
        kept = {r["id"]: _row(r) for r in records.get(ref.table.name, [])}
        kept.update({r["id"]: _row(r) for r in rows})
        records[ref.table.name] = [kept[i] for i in sorted(kept)]
    event_ids = [e["id"] for e in records.get("timeline_events", [])]
    deliveries = store.webhook_deliveries_for(ids, event_ids)
    related = _payload_keys(records, ids)
    related["delivery_id"] = [d.id for d in deliveries]
    jobs = store.jobs_mentioning(related)
    records["jobs"] = [_row(_columns(j)) for j in jobs]
    records["webhook_deliveries"] = [_row(_columns(d)) for d in deliveries]
    audit.log(ctx, "contact.personal_data_exported", ip=ip, contact_id=contact.id)
    return {
        "format": FORMAT_VERSION,
        "generated_at": ctx.now.isoformat(),
        "workspace_id": ctx.workspace_id,
        "contact": _contact_row(contact),
        "erased": contact.erased_at is not None,
        "records": dict(sorted(records.items())),
    }


def _columns(row: Any) -> dict[str, Any]:
    return {c.name: getattr(row, c.key) for c in row.__table__.columns}


def _payload_keys(
    records: dict[str, list[dict[str, Any]]], contact_ids: list[int]
) -> dict[str, list[int]]:
    """The ids that job payloads carry, by payload key, for what belongs to the contact."""
    return {
        "contact_id": contact_ids,
        "event_id": [r["id"] for r in records.get("timeline_events", [])],
        "email_message_id": [r["id"] for r in records.get("email_messages", [])],
        "run_id": [r["id"] for r in records.get("playbook_runs", [])],
    }
