"""Erasure (GDPR Art. 17) and access (Art. 15/20) on the real databases.

One person is seeded across every table the services reach (and a duplicate of them merged
into them first, so a pointer row exists), next to a second person who must stay untouched.
After the erasure every table of the whole database, including tables outside the models
(SQLite's FTS5 shadow tables), is scanned for the person's names, emails and phone digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select, text

from tenure.config import get_settings
from tenure.db.models import (
    AuditEntry,
    Contact,
    ExternalId,
    ImportFile,
    ImportJob,
    Job,
    TimelineEvent,
)
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.activities import ActivityKind
from tenure.domain.agreements import AgreementKind
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import Conflict, ContactMerged, NotFound, PermissionDenied
from tenure.domain.knowledge import KnowledgeKind
from tenure.domain.lifecycle import EndReason
from tenure.services import (
    activities,
    agreements,
    analytics,
    automation,
    calendar,
    cases,
    commitments,
    contacts,
    deliveries,
    duplicates,
    email,
    interactions,
    jobs,
    knowledge,
    lifecycle,
    playbooks,
    privacy,
    rules,
    schedules,
    search,
    webhooks,
)
from tenure.services.calendar import FeedScope
from tenure.services.contacts import EmailIn, OrganizationLink, PhoneIn
from tenure.services.context import Ctx
from tenure.services.interactions import Channel, Direction
from tenure.services.schedules import Produces
from tenure.worker.registry import load_handlers
from tenure.worker.runner import Worker, WorkerConfig
from tests.fixtures.email.sink import smtp_settings

NOW = datetime.now(UTC)
TODAY = NOW.date()

PERSON = "Zdeněk Quillfeather"
PERSON_EMAIL = "zdenek.quillfeather@quillmail.example"
DUPLICATE_EMAIL = "zq@quillhome.example"
PHONES = ("+420 601 234 567", "+420 777 889 900")
DUPLICATE_PHONE = "+420 608 111 222"
#: What must be found nowhere after the erasure (lower case; accents folded too, as the
#: search index stores them).
WORDS = ("zdeněk", "zdenek", "quillfeather", "quillmail", "quillhome", DUPLICATE_EMAIL)
DIGITS = ("601234567", "777889900", "608111222")

OTHER = "Hermione Underbridge"
OTHER_EMAIL = "hermione@underbridge.example"
OTHER_WORDS = ("underbridge",)


@contextmanager
def acting(tenant: Any, role: Role = Role.OWNER, source: str = "test") -> Iterator[Ctx]:
    tenant.member(role)
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session, role)
        ctx.source = source
        yield ctx


@pytest.fixture
def allow_private(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TENURE_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# --- scanning the whole database --------------------------------------------------------------


def _texts(value: Any) -> list[str]:
    if value is None or isinstance(value, bool | int | float | datetime | date):
        return []
    if isinstance(value, bytes | bytearray | memoryview):
        return [bytes(value).decode("utf-8", "ignore").lower()]
    return [str(value).lower()]


def scan(engine: Engine, words: tuple[str, ...], digits: tuple[str, ...] = ()) -> set[str]:
    """``table.column: needle`` for every hit in every column of every table of the database
    (reflected: tables outside the models and FTS5 shadow tables included)."""
    hits: set[str] = set()
    tables = inspect(engine).get_table_names()
    with engine.connect() as conn:
        for table in tables:
            result = conn.execute(text(f'SELECT * FROM "{table}"'))
            columns = list(result.keys())
            for row in result:
                for column, value in zip(columns, row, strict=True):
                    for found in _texts(value):
                        hits.update(f"{table}.{column}: {w}" for w in words if w in found)
                        bare = re.sub(r"\D", "", found)
                        hits.update(f"{table}.{column}: {d}" for d in digits if d in bare)
    return hits


def tables_of(hits: set[str]) -> set[str]:
    return {h.split(".")[0] for h in hits}


# --- seeding ----------------------------------------------------------------------------------


@dataclass
class Seeded:
    person: int
    duplicate: int
    organization: int
    other: int


def inbound_email(sender: str, name: str, to: str, subject: str, body: str, mid: str) -> bytes:
    message = MimeMessage()
    message["From"] = f"{name} <{sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = mid
    message["Date"] = format_datetime(NOW - timedelta(hours=2))
    message.set_content(body)
    return message.as_bytes()


def seed(tenant: Any, receiver_url: str) -> Seeded:
    with acting(tenant) as ctx:
        email.set_smtp_settings(ctx, **smtp_settings(2525))
        subscription = webhooks.create_subscription(
            ctx, url=receiver_url, event_types=["*"]
        ).subscription.id
        rules.create_rule(
            ctx,
            name="Follow up",
            trigger={"type": "event", "event": "interaction.logged"},
            actions=[
                {"type": "create_activity", "title": "Follow up {contact.display_name}"},
                {"type": "call_webhook", "subscription_id": subscription},
            ],
        )
        playbook = playbooks.create_playbook(
            ctx,
            name="Onboarding",
            steps=[
                {
                    "day": 0,
                    "name": "Welcome",
                    "action": {
                        "type": "create_activity",
                        "title": "Welcome {contact.display_name}",
                    },
                },
                {"day": 3, "name": "Tag", "action": {"type": "add_tag", "tag": "onboarded"}},
            ],
        ).id
        organization = contacts.create_contact(
            ctx, kind=ContactKind.ORGANIZATION, display_name="Brambleworks Ltd"
        ).contact.id
        person = contacts.create_contact(
            ctx,
            kind=ContactKind.PERSON,
            display_name=PERSON,
            given_name="Zdeněk",
            family_name="Quillfeather",
            emails=[EmailIn(PERSON_EMAIL)],
            phones=[PhoneIn(PHONES[0]), PhoneIn(PHONES[1])],
            tags=["quillfeather-vip"],
            address={"street": "Quillfeather Lane 5", "city": "Brno", "country": "CZ"},
            notes="Zdeněk prefers calls on +420 601 234 567",
            organizations=[OrganizationLink(organization, "Quillfeather liaison")],
        ).contact.id
        duplicate = contacts.create_contact(
            ctx,
            kind=ContactKind.PERSON,
            display_name="Zdenek Quillfeather",
            emails=[EmailIn(DUPLICATE_EMAIL)],
            phones=[PhoneIn(DUPLICATE_PHONE)],
            notes="Home address: Quillfeather cottage",
        ).contact.id
        other = contacts.create_contact(
            ctx,
            kind=ContactKind.PERSON,
            display_name=OTHER,
            emails=[EmailIn(OTHER_EMAIL)],
            phones=[PhoneIn("+44 20 7946 0958")],
            notes="Underbridge likes tea",
        ).contact.id
    with acting(tenant) as ctx:
        # The duplicate's own history first, so the merge moves it onto the person.
        interactions.log_interaction(
            ctx,
            duplicate,
            channel=Channel.CALL,
            direction=Direction.INBOUND,
            subject="Zdenek Quillfeather called from home",
            body=f"Call back on {DUPLICATE_PHONE}",
        )
        duplicates.merge(ctx, person, other_id=duplicate)
    for contact_id, start, title in ((person, date(2024, 1, 10), "Quillfeather retainer"),):
        with acting(tenant) as ctx:
            agreement = agreements.create_agreement(
                ctx,
                contact_id,
                title=title,
                kind=AgreementKind.SUBSCRIPTION,
                starts_on=start,
                value_minor=120_000,
                currency="EUR",
                terms="Invoices to zdenek.quillfeather@quillmail.example",
            )
            agreements.confirm(ctx, agreement.id)
        with acting(tenant) as ctx:
            lifecycle.end(
                ctx,
                contact_id,
                reason=EndReason.PRICE,
                effective_on=date(2024, 9, 30),
                note="Zdeněk found it too pricey",
            )
    with acting(tenant) as ctx:
        agreement = agreements.create_agreement(
            ctx,
            other,
            title="Underbridge plan",
            kind=AgreementKind.SUBSCRIPTION,
            starts_on=date(2024, 2, 1),
            value_minor=50_000,
            currency="EUR",
        )
        agreements.confirm(ctx, agreement.id)
        interactions.log_interaction(
            ctx,
            other,
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            subject="Underbridge onboarding",
            body="Welcome Hermione Underbridge",
        )
    with acting(tenant) as ctx:
        call = interactions.log_interaction(
            ctx,
            person,
            channel=Channel.CALL,
            direction=Direction.OUTBOUND,
            subject="Call with Zdeněk Quillfeather",
            body=f"Reached him on {PHONES[1]}",
            participants=[PERSON_EMAIL],
        )
        email.receive(
            ctx,
            inbound_email(
                PERSON_EMAIL,
                PERSON,
                "hello@brightbooks.example",
                "Quillfeather invoice question",
                "Hi, this is Zdeněk Quillfeather. Call me on +420 777 889 900.",
                "<q-1@quillmail.example>",
            ),
        )
        entry = knowledge.add(
            ctx,
            person,
            kind=KnowledgeKind.PREFERENCE,
            text="Zdeněk wants calls before 9",
            source_person="Zdeněk Quillfeather",
            source_interaction_id=call.id,
        )
        knowledge.edit(ctx, entry.id, changes={"text": "Zdeněk Quillfeather wants calls before 10"})
        commitments.make(
            ctx,
            person,
            text="Send Zdeněk the audit",
            promised_to="Zdeněk Quillfeather",
            due_on=TODAY + timedelta(days=7),
        )
        activities.create_activity(
            ctx,
            kind=ActivityKind.TASK,
            title="Call Zdeněk Quillfeather",
            contact_id=person,
            due_at=NOW + timedelta(days=1),
            notes=f"Number {PHONES[0]}",
        )
        schedules.create_schedule(
            ctx,
            person,
            produces=Produces.ACTIVITY,
            activity_kind=ActivityKind.CALL,
            rrule="FREQ=WEEKLY;COUNT=4",
            dtstart=(NOW + timedelta(days=2)).replace(tzinfo=None),
            timezone="UTC",
            title="Check-in with Quillfeather",
            location="Quillfeather Lane 5",
        )
        done = deliveries.create_delivery(
            ctx,
            person,
            title="Audit for Zdeněk Quillfeather",
            location="Quillfeather Lane 5",
            scheduled_start=NOW - timedelta(days=3),
            price_minor=9_900,
            currency="EUR",
        )
        deliveries.deliver(ctx, done.id, outcome_notes="Zdeněk happy")
        cases.open_case(
            ctx,
            person,
            subject="Quillfeather cannot log in",
            description=f"Reset sent to {PERSON_EMAIL}",
        )
        email.send(ctx, contact_id=person, subject="Hello Zdeněk", text="Dear Mr Quillfeather")
        jobs.enqueue(
            ctx, "activity.create", {"contact_id": person, "title": "Ring Zdeněk Quillfeather"}
        )
        calendar.create_feed(
            ctx, scope=FeedScope.CONTACT, contact_id=person, name="Quillfeather visits"
        )
        playbooks.start(ctx, playbook_id=playbook, contact_id=person)
        ctx.session.add(
            ExternalId(
                workspace_id=ctx.workspace_id,
                contact_id=person,
                source="hubspot",
                external_id="quillfeather-77",
            )
        )
        seed_imports(ctx)
    dispatch_all(tenant)
    return Seeded(person, duplicate, organization, other)


def seed_imports(ctx: Ctx) -> None:
    """Two finished imports: one whose file and report name the person, one only the other."""
    theirs = f"name,email,phone\n{PERSON},{PERSON_EMAIL},{PHONES[0]}\n{OTHER},{OTHER_EMAIL},\n"
    for content, report in (
        (
            theirs.encode(),
            [{"row": 2, "column": "email", "value": PERSON_EMAIL, "rule": "x", "message": "taken"}],
        ),
        (f"name\n{OTHER}\n".encode(), []),
    ):
        job = ImportJob(
            workspace_id=ctx.workspace_id,
            kind="contacts",
            filename="clients.csv",
            status="done",
            report=report,
            created_at=NOW,
        )
        ctx.session.add(job)
        ctx.session.flush()
        ctx.session.add(
            ImportFile(workspace_id=ctx.workspace_id, import_id=job.id, content=content)
        )


def dispatch_all(tenant: Any) -> None:
    """What the worker's dispatch jobs do: rules and webhooks for every event so far."""
    with acting(tenant, source="automation") as ctx:
        ctx.user_id = None
        ids = ctx.session.scalars(
            select(TimelineEvent.id).where(TimelineEvent.workspace_id == ctx.workspace_id)
        ).all()
        for event_id in ids:
            automation.dispatch(ctx, event_id)


def numbers(tenant: Any) -> dict[str, Any]:
    """Every analytics report over the whole history, as plain values."""
    with acting(tenant) as ctx:
        span = {"start": "2023-01", "end": f"{TODAY:%Y-%m}"}
        return {
            "retention": analytics.retention(ctx, **span),
            "churn": analytics.churn_reasons_report(ctx, **span),
            "cohorts": analytics.cohorts(ctx, **span),
            "tenure": analytics.tenure(ctx, **span),
            "revenue": analytics.revenue(ctx, **span),
        }


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("worked", [False, True], ids=["queued", "worker-ran"])
def test_erasure_leaves_no_trace_of_the_person_anywhere(db, tenant, allow_private, worked) -> None:  # type: ignore[no-untyped-def]
    seeded = seed(tenant, "http://127.0.0.1:9/hook")
    if worked:  # jobs done with results, sends failed with errors, deliveries retrying
        load_handlers()
        Worker(db.engine, WorkerConfig(worker_id="w-erasure")).run_until_idle()
    before = scan(db.engine, WORDS, DIGITS)
    expected = {
        "contacts", "contact_emails", "contact_phones", "contact_tags", "affiliations",
        "agreements", "transitions", "interactions", "email_messages", "knowledge_entries",
        "commitments", "activities", "schedules", "deliveries", "cases", "timeline_events",
        "search_documents", "jobs", "webhook_deliveries", "calendar_feeds",
        "contact_external_ids", "import_files", "imports",
    }  # fmt: skip
    assert expected <= tables_of(before), expected - tables_of(before)
    if db.backend == "sqlite":  # the check below reaches the index's own tables
        assert "search_fts_data" in tables_of(before) or "search_fts_idx" in tables_of(before)
    reports = numbers(tenant)

    with acting(tenant) as ctx:
        result = privacy.erase(ctx, seeded.person, ip="203.0.113.9")
    assert result.merged_ids == [seeded.duplicate]
    assert result.counts["jobs"] >= 3 and result.counts["webhook_deliveries"] >= 1
    assert result.counts["import_files"] == 1 and result.counts["import_reports"] == 1

    assert scan(db.engine, WORDS, DIGITS) == set()
    # The other person is untouched, and still found.
    assert {
        "contacts",
        "search_documents",
        "interactions",
        "agreements",
        "import_files",
    } <= tables_of(scan(db.engine, OTHER_WORDS))
    with acting(tenant, Role.VIEWER) as ctx:
        assert [r.contact.id for r in search.search_contacts(ctx, "Underbridge")] == [seeded.other]
        assert search.search_contacts(ctx, "Quillfeather") == []
        assert search.search(ctx, "Underbridge")
    # The analytics count the spell exactly as before.
    assert numbers(tenant) == reports


def test_the_tombstone_the_records_and_the_pointer(db, tenant, allow_private) -> None:  # type: ignore[no-untyped-def]
    seeded = seed(tenant, "http://127.0.0.1:9/hook")
    with db.session() as s:
        stage = s.get_one(Contact, seeded.person).stage
    with acting(tenant) as ctx:
        privacy.erase(ctx, seeded.person)
    with db.session() as s:
        person = s.get_one(Contact, seeded.person)
        pointer = s.get_one(Contact, seeded.duplicate)
        assert person.display_name == pointer.display_name == "Erased contact"
        assert person.erased_at is not None and pointer.erased_at is not None
        assert person.stage == stage  # the lifecycle is not the erasure's business
        assert pointer.merged_into_id == seeded.person
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "contact.erased"))
        assert entry.details == {"contact_id": seeded.person}
        assert entry.ip == ""
        assert entry.actor_id == tenant.owner.user_id and entry.source == "test"
        erased = s.scalars(
            select(TimelineEvent).where(
                TimelineEvent.contact_id == seeded.person, TimelineEvent.type == "contact.erased"
            )
        ).all()
        assert len(erased) == 1 and erased[0].data == {"source": "test"}
        # Work not yet done for the person is cancelled; the erasure's own dispatch waits.
        pending = s.scalars(select(Job).where(Job.status == "queued")).all()
        assert all(j.payload != {"erased": True} for j in pending)
        cancelled = {"cancelled": "the contact's data was erased"}
        assert any(j.result == cancelled for j in s.scalars(select(Job)))
    with acting(tenant) as ctx:
        with pytest.raises(Conflict):  # twice: a clear refusal, nothing written
            privacy.erase(ctx, seeded.person)
        with pytest.raises(ContactMerged) as merged:  # the pointer answers like every read
            privacy.erase(ctx, seeded.duplicate)
        assert merged.value.merged_into == seeded.person
        # The person's lifecycle still reads, anonymously.
        assert contacts.get_contact(ctx, seeded.person).contact.display_name == "Erased contact"


def test_personal_data_returns_every_kind(db, tenant, allow_private) -> None:  # type: ignore[no-untyped-def]
    seeded = seed(tenant, "http://127.0.0.1:9/hook")
    with acting(tenant) as ctx:
        data = privacy.personal_data(ctx, seeded.person)
    assert data["contact"]["display_name"] == PERSON
    assert data["contact"]["emails"][0]["email"] in (PERSON_EMAIL, DUPLICATE_EMAIL)
    records = data["records"]
    for kind in (
        "activities", "affiliations", "agreements", "calendar_feeds", "cases", "commitments",
        "contact_emails", "contact_external_ids", "contact_match_keys", "contact_phones",
        "contact_tags", "contacts", "deliveries", "email_messages", "interactions", "jobs",
        "knowledge_entries", "playbook_runs", "rule_runs", "schedules", "search_documents",
        "timeline_events", "transitions", "webhook_deliveries",
    ):  # fmt: skip
        assert records.get(kind), kind
    assert [c["id"] for c in records["contacts"]] == [seeded.duplicate]  # the pointer row
    assert len(records["knowledge_entries"]) == 2  # both versions
    assert {m["direction"] for m in records["email_messages"]} == {"inbound", "outbound"}
    assert any(j["payload"].get("title") == "Ring Zdeněk Quillfeather" for j in records["jobs"])
    assert all("token_hash" not in f for f in records["calendar_feeds"])
    assert any(PERSON in str(d["payload"]) for d in records["webhook_deliveries"])
    # Nothing of the other person.
    assert "Underbridge" not in str(data)
    import json

    json.dumps(data)  # serializable as it is


def test_roles_and_workspaces(db, tenant, other_tenant) -> None:  # type: ignore[no-untyped-def]
    with acting(tenant) as ctx:
        person = contacts.create_contact(
            ctx, kind=ContactKind.PERSON, display_name=PERSON
        ).contact.id
    for role in (Role.MEMBER, Role.VIEWER):
        with acting(tenant, role) as ctx:
            with pytest.raises(PermissionDenied):
                privacy.erase(ctx, person)
            with pytest.raises(PermissionDenied):
                privacy.personal_data(ctx, person)
    with acting(other_tenant) as ctx:
        with pytest.raises(NotFound):
            privacy.erase(ctx, person)
        with pytest.raises(NotFound):
            privacy.personal_data(ctx, person)
    with acting(tenant, Role.ADMIN) as ctx:
        privacy.erase(ctx, person)
    with acting(tenant) as ctx:
        assert privacy.personal_data(ctx, person)["erased"] is True


def test_every_table_that_points_at_contacts_has_an_erasure_rule() -> None:
    from tenure.db.repositories.merge import contact_references
    from tenure.services.privacy.erasure import _rules

    assert {r.name for r in contact_references()} == set(_rules())


def test_erasing_an_organization_keeps_its_people_findable(db, tenant) -> None:  # type: ignore[no-untyped-def]
    with acting(tenant) as ctx:
        org = contacts.create_contact(
            ctx, kind=ContactKind.ORGANIZATION, display_name="Quillworks Cooperative"
        ).contact.id
        person = contacts.create_contact(
            ctx,
            kind=ContactKind.PERSON,
            display_name=OTHER,
            organizations=[OrganizationLink(org, "Treasurer")],
        ).contact.id
    with acting(tenant) as ctx:
        assert [r.contact.id for r in search.search_contacts(ctx, "Quillworks")] == [org, person]
        privacy.erase(ctx, org)
    assert scan(db.engine, ("quillworks",)) == set()
    with acting(tenant) as ctx:
        assert [r.contact.id for r in search.search_contacts(ctx, "Underbridge")] == [person]
        assert contacts.get_contact(ctx, person).affiliations == []
