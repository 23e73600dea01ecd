"""Right to erasure (GDPR Art. 17): one contact's personal data, everywhere, in one transaction.

What stays, and why
    The contact row stays as an anonymous tombstone ("Erased contact", ``erased_at`` set):
    transitions and agreements keep their dates, values and reasons, so retention, churn,
    cohorts, tenure and revenue count the spell as before. Rows that carry aggregates
    (interactions, activities, deliveries, cases, commitments, knowledge versions, timeline
    events, email log, rule and playbook runs) stay with their text overwritten: counts,
    channels, times, statuses and money survive, words about the person do not. Rows that are
    nothing but personal data (lookup emails/phones/tags, external ids, duplicate match keys,
    search documents, affiliations, the contact's calendar feeds) are deleted. Uploaded files of
    finished imports that name the person are deleted, and their reports' rows redacted.
What is recorded
    ``contact.erased`` in the audit log and on the timeline, with the contact id only.
The merged-away pointers
    A contact merged into this one left a pointer row (``merged_into_id``) that still holds
    its old name: it is erased with the survivor. Erasing a pointer id itself answers like
    every read of it (``ContactMerged``, HTTP 410 with the survivor's id): the person's data
    lives on the survivor, which is what a caller must erase.
What this cannot reach (say so to the data subject)
    Backups; on SQLite the write-ahead log until the next checkpoint; on PostgreSQL the old row
    versions until VACUUM reclaims them (and WAL archives); free text about this person written
    on *other* contacts' records; mail already sent and webhooks already delivered; the file of
    an import still running (erase again when it is over), or an uploaded file in an encoding
    other than UTF-8 that spells the name with non-ASCII letters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, literal

from tenure.db.models import Contact, Job, WebhookDelivery
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.merge import ContactReference, contact_references
from tenure.db.repositories.privacy import PrivacyRepository
from tenure.db.repositories.search import optimize
from tenure.domain.access import Permission
from tenure.domain.errors import Conflict
from tenure.domain.events import EventType
from tenure.services import audit, search, timeline
from tenure.services.context import Ctx

#: What erased text reads as, where a row keeps a required label (a subject, a title).
ERASED = "[erased]"
ERASED_NAME = "Erased contact"


@dataclass(frozen=True)
class Redact:
    """Overwrite these columns; the row stays because aggregates count it."""

    values: dict[str, Any]


@dataclass(frozen=True)
class Delete:
    """The row is nothing but personal data (or an index of it): it goes."""


@dataclass(frozen=True)
class Special:
    """Handled by its own step below (the reason is next to the step)."""


def _erased_id(table: Any, prefix: str) -> Any:
    """A unique, meaningless stand-in for a Message-ID (unique per workspace, and a real one
    carries the sender's domain)."""
    return literal(f"<{prefix}.") + cast(table.c.id, String) + literal("@erased.invalid>")


def _rules() -> dict[str, Redact | Delete | Special]:
    from tenure.db.models import EmailMessage

    messages = EmailMessage.__table__
    return {
        # Workload and agenda statistics count activities; their words go.
        "activities.contact_id": Redact(
            {"title": ERASED, "notes": "", "location": "", "completion_note": ""}
        ),
        # Where a person works is personal data; an organization's people stay untouched.
        "affiliations.organization_id": Delete(),
        "affiliations.person_id": Delete(),
        # Dates, values, currencies, statuses and end reasons are the revenue and churn numbers.
        "agreements.contact_id": Redact({"title": ERASED, "terms": "", "end_note": ""}),
        # A feed of an erased person's calendar has nothing left to serve.
        "calendar_feeds.contact_id": Delete(),
        # Support volume and resolution times stay countable.
        "cases.contact_id": Redact({"subject": ERASED, "description": "", "resolution": ""}),
        # Kept/broken rates stay countable.
        "commitments.contact_id": Redact(
            {"text": ERASED, "promised_to": "", "resolution_note": ""}
        ),
        "contact_emails.contact_id": Delete(),
        "contact_external_ids.contact_id": Delete(),
        "contact_match_keys.contact_id": Special(),  # search.forget_contact
        "contact_phones.contact_id": Delete(),
        "contact_tags.contact_id": Delete(),
        "contacts.merged_into_id": Special(),  # the pointer tombstones
        # Service counts, times and prices stay (revenue, workload).
        "deliveries.contact_id": Redact(
            {"title": ERASED, "location": "", "outcome_notes": "", "cancel_reason": ""}
        ),
        # The email log keeps direction, status and times: sending statistics.
        "email_messages.contact_id": Redact(
            {
                "message_id": _erased_id(messages, "erased"),
                "thread_id": _erased_id(messages, "erased-thread"),
                "in_reply_to": None,
                "sender": ERASED,
                "recipients": [],
                "subject": ERASED,
                "error": "",
            }
        ),
        # Scores and day-by-day numbers; the reasons are generic ("no touch for 48 days").
        "health_snapshots.contact_id": Redact({}),
        # Touch counts by channel and direction (cadence, health, analytics) stay.
        "interactions.contact_id": Redact(
            {
                "subject": ERASED,
                "body": "",
                "participants": [],
                "message_id": None,
                "thread_id": None,
            }
        ),
        # Append-only versions: overwritten in place (the one exception to append-only, by
        # law), so version counts and staleness stay while the words go.
        "knowledge_entries.contact_id": Redact(
            {"text": ERASED, "source_person": "", "retire_reason": ""}
        ),
        "playbook_runs.contact_id": Redact({"stop_reason": ""}),
        # A run's trigger key keeps a rule from firing twice; effects may quote the person.
        "rule_runs.contact_id": Redact({"effects": [], "error": ""}),
        "schedules.contact_id": Redact(
            {"title": ERASED, "notes": "", "location": "", "stop_reason": ""}
        ),
        "search_documents.contact_id": Special(),  # search.forget_contact
        # The timeline keeps what happened and when (types are the aggregates), not the words.
        "timeline_events.contact_id": Redact({"summary": ERASED, "data": {}}),
        # The lifecycle history is the analytics: only the free-text note goes.
        "transitions.contact_id": Redact({"note": ""}),
    }


@dataclass
class ErasureResult:
    contact_id: int
    erased_at: datetime
    #: Merged-away contacts (pointer rows) erased with it.
    merged_ids: list[int]
    #: Rows touched per table (redacted or deleted): how much, never what.
    counts: dict[str, int] = field(default_factory=dict)


def _unruled(rules: dict[str, Any]) -> list[str]:
    return [r.name for r in contact_references() if r.name not in rules]


def erase(ctx: Ctx, contact_id: int, *, ip: str = "") -> ErasureResult:
    """Erase the contact's personal data everywhere (see the module docstring)."""
    ctx.require(Permission.ADMIN)
    rules = _rules()
    missing = _unruled(rules)
    if missing:  # a new table that points at contacts needs a decision before anything runs
        raise RuntimeError(f"no erasure rule for {', '.join(missing)}")
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(contact_id, for_update=True)
    if contact.erased_at is not None:
        raise Conflict(
            f"contact {contact_id} was already erased",
            contact_id=contact_id,
            erased_at=contact.erased_at.isoformat(),
        )
    store = PrivacyRepository(ctx.session, ctx.workspace_id)
    secure_before = store.secure_delete(True)
    ids = [contact.id, *store.pointer_ids(contact.id)]
    result = ErasureResult(contact.id, ctx.now, ids[1:])
    refs = {r.name: r for r in contact_references()}
    _stop_work(ctx, store, refs, ids)
    _payloads(ctx, store, refs, ids, result.counts)
    organization_people = _people_of(store, refs, contact)
    result.counts.update(_imports(store, _identifiers(store.contacts(ids))))
    for name, rule in rules.items():
        if isinstance(rule, Redact) and rule.values:
            result.counts[name] = store.redact(refs[name], ids, rule.values)
        elif isinstance(rule, Delete):
            result.counts[name] = store.delete(refs[name], ids)
    for one in ids:
        search.forget_contact(ctx, one)
    for row in store.contacts(ids):
        _tombstone(ctx, row)
    ctx.session.flush()
    if organization_people:  # their documents named the organization
        search.index_contacts(ctx, store.contacts(organization_people))
    # SQLite's FTS5 keeps a deleted document's tokens in older index segments until they are
    # merged; 'optimize' merges them all now, after the last write to the index (it rewrites
    # the index: a cost paid per erasure, which is rare). SQLite 3.42's 'secure-delete' option
    # would avoid that but is newer than the SQLite Tenure supports. PostgreSQL's tsvector
    # lives in the deleted row itself.
    optimize(ctx.session)
    # The record that an erasure happened: who, when and which id, never what was erased.
    audit.log(ctx, "contact.erased", ip=ip, contact_id=contact.id)
    timeline.record(
        ctx,
        contact_id=contact.id,
        type=EventType.CONTACT_ERASED,
        subject_type="contact",
        subject_id=contact.id,
        summary="Personal data erased",
    )
    ctx.session.flush()
    store.secure_delete(secure_before)
    return result


def _tombstone(ctx: Ctx, contact: Contact) -> None:
    contact.display_name = ERASED_NAME
    contact.sort_name = ERASED_NAME.lower()
    contact.given_name = None
    contact.family_name = None
    contact.emails, contact.phones, contact.tags = [], [], []
    contact.address = None
    contact.notes = ""
    contact.timezone = None
    contact.health_contributions = []
    contact.next_activity_at = None
    contact.next_touch_due = None
    # Nothing may be sent to an erased person, whatever a rule says.
    contact.do_not_email = True
    contact.erased_at = ctx.now
    contact.updated_at = ctx.now


def _stop_work(
    ctx: Ctx, store: PrivacyRepository, refs: dict[str, ContactReference], ids: Sequence[int]
) -> None:
    """No more work for an erased person: recurring plans stop, open activities and upcoming
    deliveries are cancelled, running playbooks end. Done and delivered work stays counted;
    the stage is left as it is (ending a relationship is a business decision, not erasure)."""
    plans = refs["schedules.contact_id"]
    store.redact(
        plans,
        ids,
        {"status": "stopped", "stopped_at": ctx.now},
        where=[plans.table.c.status == "active"],
    )
    todo = refs["activities.contact_id"]
    store.redact(todo, ids, {"status": "cancelled"}, where=[todo.table.c.status == "open"])
    service = refs["deliveries.contact_id"]
    store.redact(
        service,
        ids,
        {"status": "cancelled"},
        where=[service.table.c.status.in_(("requested", "scheduled"))],
    )
    runs = refs["playbook_runs.contact_id"]
    store.redact(
        runs,
        ids,
        {"status": "cancelled", "finished_at": ctx.now},
        where=[runs.table.c.status == "running"],
    )


def _payloads(
    ctx: Ctx,
    store: PrivacyRepository,
    refs: dict[str, ContactReference],
    ids: Sequence[int],
    counts: dict[str, int],
) -> None:
    """Jobs and webhook deliveries carry copies of the person in JSON payloads: found by the
    ids the services put there, their payloads are replaced; work not yet done for the person
    is cancelled (a job already running finishes with what it read)."""
    event_ids = store.ids(refs["timeline_events.contact_id"], ids)
    deliveries = store.webhook_deliveries_for(ids, event_ids, lock=True)
    for delivery in deliveries:
        _redact_delivery(delivery)
    keys = {
        "contact_id": list(ids),
        "event_id": event_ids,
        "email_message_id": store.ids(refs["email_messages.contact_id"], ids),
        "run_id": store.ids(refs["playbook_runs.contact_id"], ids),
        "delivery_id": [d.id for d in deliveries],
    }
    jobs = store.jobs_mentioning(keys, lock=True)
    for job in jobs:
        _redact_job(ctx, job)
    counts["jobs"] = len(jobs)
    counts["webhook_deliveries"] = len(deliveries)


def _redact_delivery(delivery: WebhookDelivery) -> None:
    delivery.payload = {
        "type": delivery.payload.get("type", delivery.event_type),
        "timestamp": delivery.payload.get("timestamp"),
        "data": {"erased": True},
    }
    delivery.last_error = ""
    if delivery.status in ("pending", "failed"):
        delivery.status = "dead"
        delivery.last_error = "cancelled: the contact's data was erased"


def _redact_job(ctx: Ctx, job: Job) -> None:
    job.payload = {"erased": True}
    job.result = {}
    job.last_error = ""
    if job.status in ("queued", "dead"):
        job.status = "done"
        job.finished_at = ctx.now
        job.result = {"cancelled": "the contact's data was erased"}
    elif job.status == "running":
        # A worker holds it with the old payload: let it finish, but never retry it with
        # the erased one.
        job.max_attempts = max(job.attempts, 1)


def _identifiers(contacts: Sequence[Contact]) -> list[str]:
    """What names the person in free text: names and email addresses (lower case)."""
    found: set[str] = set()
    for c in contacts:
        found.add(c.display_name)
        found.update(e["email"] for e in c.emails)
        found.update(n for n in (c.given_name, c.family_name) if n and len(n) >= 4)
    return sorted(w.strip().lower() for w in found if len(w.strip()) >= 4)


def _imports(store: PrivacyRepository, identifiers: Sequence[str]) -> dict[str, int]:
    """Uploaded import files are raw copies of other systems' data. A finished import's file
    that names the person is deleted (nothing needs it any more); its report's rows that name
    them lose their values. A file of an import still running is left for it to finish: erase
    again afterwards, or wait for the import (said in the docs)."""
    jobs = store.finished_imports()
    files = store.import_file_ids_containing([j.id for j in jobs], identifiers)
    reports = 0
    for job in jobs:
        if not job.report:
            continue
        cleaned = [_clean_problem(p, identifiers) for p in job.report]
        if cleaned != job.report:
            job.report = cleaned
            reports += 1
    return {"import_files": store.delete_import_files(files), "import_reports": reports}


def _clean_problem(problem: dict[str, Any], identifiers: Sequence[str]) -> dict[str, Any]:
    text = " ".join(str(v) for v in problem.values()).lower()
    if not any(w in text for w in identifiers):
        return problem
    return {k: (v if k in ("row", "column", "rule") else ERASED) for k, v in problem.items()}


def _people_of(
    store: PrivacyRepository, refs: dict[str, ContactReference], contact: Contact
) -> list[int]:
    """An organization's people: their search documents name it and are rebuilt after."""
    if contact.kind != "organization":
        return []
    rows = store.rows(refs["affiliations.organization_id"], [contact.id])
    return sorted({int(r["person_id"]) for r in rows})


__all__ = ["ERASED", "ERASED_NAME", "ErasureResult", "erase"]
