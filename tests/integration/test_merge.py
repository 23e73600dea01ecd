"""Duplicates and merging on the real databases: detection with reasons, a merge that moves
every row of every table in one transaction, combined lifecycle histories, and the old id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tenure.db.models import (
    Activity,
    Affiliation,
    CalendarFeed,
    Case,
    Commitment,
    Contact,
    EmailMessage,
    ExternalId,
    HealthSnapshot,
    Interaction,
    KnowledgeEntry,
    Playbook,
    PlaybookRun,
    Rule,
    RuleRun,
    Schedule,
    TimelineEvent,
    Transition,
)
from tenure.db.models import (
    Delivery as DeliveryRow,
)
from tenure.db.repositories.contacts import ContactFilter
from tenure.db.repositories.merge import MergeRepository, contact_references
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.agreements import AgreementKind
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import (
    Conflict,
    ContactMerged,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from tenure.domain.lifecycle import EndReason
from tenure.services import agreements, contacts, duplicates, lifecycle, search, timeline
from tenure.services.contacts import EmailIn, OrganizationLink, PhoneIn
from tenure.services.context import Ctx
from tests.api.helpers import workspace_rows

TODAY = datetime.now(UTC).date()


@contextmanager
def acting(tenant: Any, role: Role = Role.OWNER) -> Iterator[Ctx]:
    tenant.member(role)
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        yield tenant.ctx(session, role)


def create(tenant: Any, kind: ContactKind = ContactKind.PERSON, **fields: Any) -> int:
    with acting(tenant) as ctx:
        return contacts.create_contact(ctx, kind=kind, **fields).contact.id


def client_between(tenant: Any, contact_id: int, start: date, end: date | None = None) -> None:
    """A client from ``start`` (a confirmed agreement), ended on ``end`` if given."""
    with acting(tenant) as ctx:
        agreement = agreements.create_agreement(
            ctx, contact_id, title=f"Plan {start}", kind=AgreementKind.SUBSCRIPTION, starts_on=start
        )
        agreements.confirm(ctx, agreement.id)
        if end is not None:
            lifecycle.end(ctx, contact_id, reason=EndReason.PRICE, effective_on=end)


def merge(tenant: Any, survivor: int, other: int, role: Role = Role.OWNER, **kw: Any) -> Any:
    with acting(tenant, role) as ctx:
        return duplicates.merge(ctx, survivor, other_id=other, **kw)


def stages(tenant: Any, contact_id: int) -> list[tuple[str, str, date]]:
    with acting(tenant) as ctx:
        return [
            (t.from_stage, t.to_stage, t.effective_on)
            for t in lifecycle.transitions(ctx, contact_id)
        ]


def count_of(tenant: Any, model: Any, **where: Any) -> int:
    with tenant.db.session() as session:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(session.scalar(stmt) or 0)


def seed_every_table(tenant: Any, contact_id: int) -> None:
    """One row pointing at the contact in each table the services do not fill by themselves."""
    now = datetime.now(UTC)
    with acting(tenant) as ctx:
        s, ws = ctx.session, tenant.workspace_id
        playbook = Playbook(workspace_id=ws, name=f"Welcome {contact_id}", steps=[])
        rule = Rule(workspace_id=ws, name=f"Rule {contact_id}", trigger={}, enabled=False)
        s.add_all([playbook, rule])
        s.flush()
        s.add_all(
            [
                Activity(workspace_id=ws, contact_id=contact_id, kind="call", title="Call", at=now),
                Schedule(
                    workspace_id=ws,
                    contact_id=contact_id,
                    produces="activity",
                    activity_kind="call",
                    title="Monthly call",
                    rrule="FREQ=MONTHLY",
                    dtstart_local="2030-01-01T09:00:00",
                    timezone="UTC",
                ),
                DeliveryRow(workspace_id=ws, contact_id=contact_id, title="Service visit"),
                Case(workspace_id=ws, contact_id=contact_id, subject="Broken", opened_at=now),
                CalendarFeed(
                    workspace_id=ws,
                    scope="contact",
                    contact_id=contact_id,
                    token_hash=hashlib.sha256(f"feed{contact_id}".encode()).hexdigest(),
                    created_at=now,
                ),
                Commitment(workspace_id=ws, contact_id=contact_id, text="Send the quote"),
                KnowledgeEntry(
                    workspace_id=ws,
                    contact_id=contact_id,
                    kind="fact",
                    text="Has two sites",
                    recorded_at=now,
                    last_confirmed_at=now,
                ),
                Interaction(
                    workspace_id=ws,
                    contact_id=contact_id,
                    channel="email",
                    direction="inbound",
                    occurred_at=now,
                    subject="Same email, matched to both",
                    message_id="<shared@mail.example>",
                ),
                HealthSnapshot(
                    workspace_id=ws, contact_id=contact_id, day=TODAY - timedelta(days=400), score=7
                ),
                EmailMessage(
                    workspace_id=ws,
                    direction="outbound",
                    message_id=f"<m{contact_id}@mail.example>",
                    thread_id="t",
                    contact_id=contact_id,
                    sender="us@mail.example",
                    status="sent",
                    created_at=now,
                ),
                PlaybookRun(
                    workspace_id=ws, playbook_id=playbook.id, contact_id=contact_id, started_at=now
                ),
                RuleRun(
                    workspace_id=ws,
                    rule_id=rule.id,
                    trigger_key=f"k{contact_id}",
                    contact_id=contact_id,
                    outcome="done",
                    created_at=now,
                ),
                ExternalId(
                    workspace_id=ws, contact_id=contact_id, source="hubspot", external_id="42"
                ),
            ]
        )


@pytest.fixture
def pair(tenant: Any) -> dict[str, int]:
    """A survivor and its duplicate, each with a history; an older duplicate merged already."""
    acme = create(tenant, ContactKind.ORGANIZATION, display_name="Acme")
    globex = create(tenant, ContactKind.ORGANIZATION, display_name="Globex")
    survivor = create(
        tenant,
        given_name="John",
        family_name="Smith",
        emails=[EmailIn("john@acme.io")],
        phones=[PhoneIn("+442079460958")],
        tags=["vip"],
        organizations=[OrganizationLink(acme, "Owner")],
        notes="Met at the fair.",
    )
    other = create(
        tenant,
        given_name="Jon",
        family_name="Smith",
        emails=[EmailIn("jon.smith@gmail.com")],
        phones=[PhoneIn("+442079460958"), PhoneIn("+447700900123")],
        tags=["newsletter", "vip"],
        organizations=[OrganizationLink(acme, "Boss"), OrganizationLink(globex, "Advisor")],
        notes="Prefers mornings.",
        timezone="Europe/London",
    )
    older = create(tenant, given_name="J.", family_name="Smith", emails=[EmailIn("js@old.io")])
    merge(tenant, other, older)
    client_between(tenant, survivor, TODAY - timedelta(days=900), TODAY - timedelta(days=500))
    client_between(tenant, other, TODAY - timedelta(days=100))
    with acting(tenant) as ctx:  # the survivor recorded the shared email too
        ctx.session.add(
            Interaction(
                workspace_id=tenant.workspace_id,
                contact_id=survivor,
                channel="email",
                direction="inbound",
                occurred_at=datetime.now(UTC),
                message_id="<shared@mail.example>",
            )
        )
    seed_every_table(tenant, other)
    return {"acme": acme, "globex": globex, "survivor": survivor, "other": other, "older": older}


# --- merging ---------------------------------------------------------------------------------


def test_merge_moves_every_row_of_every_table(tenant, pair) -> None:
    survivor, other = pair["survivor"], pair["other"]
    with tenant.db.session() as session:
        before = MergeRepository(session, tenant.workspace_id).references_to(other)
        totals = {
            model: session.scalar(select(func.count()).select_from(model))
            for model in (Interaction, KnowledgeEntry, Case, Activity, TimelineEvent, ExternalId)
        }
    # every table that can point at a contact points at the other one now (so the check below
    # means something, and a table added later must be seeded here too)
    tables = {ref.table.name for ref in contact_references()}
    assert tables == {name.split(".")[0] for name in before}, tables - {
        n.split(".")[0] for n in before
    }

    result = merge(tenant, survivor, other)

    with tenant.db.session() as session:
        assert MergeRepository(session, tenant.workspace_id).references_to(other) == {}
        for model, total in totals.items():  # moved, not copied or lost (+ the merge event)
            added = 1 if model is TimelineEvent else 0
            assert session.scalar(select(func.count()).select_from(model)) == total + added
        tombstone = session.get_one(Contact, other)
        assert tombstone.merged_into_id == survivor
        assert (tombstone.emails, tombstone.phones, tombstone.tags) == ([], [], [])
        assert session.get_one(Contact, pair["older"]).merged_into_id == survivor
        # the shared email interaction keeps its Message-ID once
        shared = session.scalars(
            select(Interaction.message_id).where(Interaction.contact_id == survivor)
        ).all()
        assert shared.count("<shared@mail.example>") == 1
    assert result.moved["timeline_events.contact_id"] >= 5
    assert result.moved["interactions.contact_id"] == 1


def test_the_survivor_takes_the_chosen_and_united_values(tenant, pair) -> None:
    survivor, other = pair["survivor"], pair["other"]
    result = merge(tenant, survivor, other, fields={"display_name": "other"})
    assert result.fields["display_name"] == "other"
    assert result.fields["timezone"] == "other"  # the survivor had none
    with acting(tenant) as ctx:
        view = contacts.get_contact(ctx, survivor)
    c = view.contact
    assert c.display_name == "Jon Smith" and c.sort_name == "jon smith"
    assert (c.given_name, c.family_name) == ("Jon", "Smith")  # the names go together
    assert c.timezone == "Europe/London"
    # (the older duplicate's email came with the other contact)
    assert [e["email"] for e in c.emails] == ["john@acme.io", "jon.smith@gmail.com", "js@old.io"]
    assert c.emails[0]["primary"] and not c.emails[1]["primary"]
    assert [p["number"] for p in c.phones] == ["+442079460958", "+447700900123"]
    assert c.tags == ["vip", "newsletter"]
    assert c.notes == "Met at the fair.\n\nPrefers mornings."
    orgs = sorted((a.organization_id, a.title) for a in view.affiliations)
    assert orgs == [(pair["acme"], "Owner"), (pair["globex"], "Advisor")]
    assert count_of(tenant, Affiliation, person_id=other) == 0
    # lookups follow: the other's email now finds the survivor
    with acting(tenant) as ctx:
        assert [r.contact.id for r in search.search_contacts(ctx, "jon.smith@gmail")] == [survivor]


def test_histories_combine_into_one_legal_history(tenant, pair) -> None:
    survivor, other = pair["survivor"], pair["other"]
    merge(tenant, survivor, other)
    assert stages(tenant, survivor) == [
        ("contact", "client", TODAY - timedelta(days=900)),
        ("client", "former_client", TODAY - timedelta(days=500)),
        ("former_client", "client", TODAY - timedelta(days=100)),  # a reactivation now
    ]
    with acting(tenant) as ctx:
        c = contacts.get_contact(ctx, survivor).contact
        assert (c.stage, c.client_since, c.closed_tenure_days) == (
            "client",
            TODAY - timedelta(days=100),
            400,
        )
        events = timeline.page(ctx, contact_id=survivor, types=["contact.merged"]).items
    # the other's own earlier merge came along with its timeline; this one is the newest
    assert [e.data["other_id"] for e in events] == [other, pair["older"]]
    event = events[0]
    assert event.data["other_id"] == other
    assert event.data["other_name"] == "Jon Smith"
    assert event.data["absorbed_transitions"] == []
    assert len(event.data["relabelled_transitions"]) == 1
    assert "merged into this contact" in event.summary


def test_overlapping_client_spells_unite(tenant) -> None:
    a = create(tenant, display_name="Ann Lee")
    b = create(tenant, display_name="Ann Lee")
    client_between(tenant, a, TODAY - timedelta(days=300), TODAY - timedelta(days=100))
    client_between(tenant, b, TODAY - timedelta(days=200))
    b_rows = stages(tenant, b)
    merge(tenant, a, b)
    # one spell from the earliest start, still running: the inner end and start are dropped
    assert stages(tenant, a) == [("contact", "client", TODAY - timedelta(days=300))]
    with acting(tenant) as ctx:
        c = contacts.get_contact(ctx, a).contact
        (event,) = timeline.page(ctx, contact_id=a, types=["contact.merged"]).items
    assert (c.stage, c.client_since, c.closed_tenure_days) == (
        "client",
        TODAY - timedelta(days=300),
        0,
    )
    absorbed = {
        (t["from_stage"], t["to_stage"], t["effective_on"])
        for t in event.data["absorbed_transitions"]
    }
    assert absorbed == {
        ("client", "former_client", (TODAY - timedelta(days=100)).isoformat()),
        (b_rows[0][0], b_rows[0][1], b_rows[0][2].isoformat()),
    }
    assert count_of(tenant, Transition, contact_id=a) == 1


def test_merging_organizations_moves_their_people(tenant) -> None:
    acme = create(tenant, ContactKind.ORGANIZATION, display_name="Acme Ltd")
    acme2 = create(tenant, ContactKind.ORGANIZATION, display_name="ACME")
    both = create(
        tenant,
        display_name="Pat Both",
        organizations=[OrganizationLink(acme, "CEO"), OrganizationLink(acme2, "Chair")],
    )
    only2 = create(tenant, display_name="Sam Second", organizations=[OrganizationLink(acme2)])
    merge(tenant, acme, acme2)
    with tenant.db.session() as session:
        links = session.execute(
            select(Affiliation.person_id, Affiliation.organization_id, Affiliation.title).where(
                Affiliation.workspace_id == tenant.workspace_id
            )
        ).all()
    assert sorted(links) == sorted([(both, acme, "CEO"), (only2, acme, "")])
    # the other's people are found by the survivor's name now
    with acting(tenant) as ctx:
        found = {r.contact.id for r in search.search_contacts(ctx, "acme ltd")}
    assert found == {acme, both, only2}


def test_the_old_id_points_at_the_survivor(tenant, pair) -> None:
    survivor, other = pair["survivor"], pair["other"]
    merge(tenant, survivor, other)
    with acting(tenant) as ctx:
        with pytest.raises(ContactMerged) as gone:
            contacts.get_contact(ctx, other)
        assert gone.value.merged_into == survivor
        assert isinstance(gone.value, NotFound)  # still "not here", with a pointer
        listed = contacts.list_contacts(ctx, filters=ContactFilter(), limit=200).items
        assert other not in {c.id for c in listed}
        assert survivor in {c.id for c in listed}
        assert all(r.contact.id != other for r in search.search_contacts(ctx, "smith"))
        # the tombstone takes nothing new
        with pytest.raises(ContactMerged):
            lifecycle.end(ctx, other, reason=EndReason.PRICE)


def test_a_refused_merge_changes_nothing(tenant, other_tenant, pair) -> None:
    survivor, other = pair["survivor"], pair["other"]
    acme = pair["acme"]
    theirs = create(other_tenant, display_name="Theirs")
    before = workspace_rows(tenant.db.engine, tenant.workspace_id)
    attempts = [
        (InvalidInput, lambda: merge(tenant, survivor, other, fields={"emails": "other"})),
        (InvalidInput, lambda: merge(tenant, survivor, other, fields={"display_name": "both"})),
        (InvalidInput, lambda: merge(tenant, survivor, survivor)),
        (InvalidInput, lambda: merge(tenant, survivor, acme)),  # a person and an organization
        (NotFound, lambda: merge(tenant, survivor, theirs)),
        (NotFound, lambda: merge(tenant, survivor, 10**12)),
        (ContactMerged, lambda: merge(tenant, survivor, pair["older"])),
        (PermissionDenied, lambda: merge(tenant, survivor, other, role=Role.VIEWER)),
    ]
    tenant.member(Role.VIEWER)
    before = workspace_rows(tenant.db.engine, tenant.workspace_id)
    for error, attempt in attempts:
        with pytest.raises(error):
            attempt()
        assert workspace_rows(tenant.db.engine, tenant.workspace_id) == before


def test_a_merge_is_one_transaction(tenant, pair, monkeypatch) -> None:
    """A failure after the merge started writing leaves nothing of it behind."""
    survivor, other = pair["survivor"], pair["other"]
    before = workspace_rows(tenant.db.engine, tenant.workspace_id)

    def fail(ctx: Ctx, contact: Contact) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(search, "index_contact", fail)
    with pytest.raises(RuntimeError):
        merge(tenant, survivor, other)
    assert workspace_rows(tenant.db.engine, tenant.workspace_id) == before


def test_members_may_merge_erased_contacts_may_not(tenant) -> None:
    a = create(tenant, display_name="Kim Park")
    b = create(tenant, display_name="Kim Park")
    c = create(tenant, display_name="Kim Park")
    merge(tenant, a, b, role=Role.MEMBER)
    with acting(tenant) as ctx:
        ctx.session.get_one(Contact, c).erased_at = datetime.now(UTC)
    with pytest.raises(Conflict):
        merge(tenant, a, c)


# --- finding duplicates ----------------------------------------------------------------------


def pairs(tenant: Any, **kw: Any) -> list[tuple[set[int], int, set[str]]]:
    with acting(tenant) as ctx:
        page = duplicates.find_all(ctx, **kw)
    return [({p.a.id, p.b.id}, p.score, {r["code"] for r in p.reasons}) for p in page.items]


def test_duplicates_of_one_contact_with_reasons(tenant, pair) -> None:
    survivor, other = pair["survivor"], pair["other"]
    stranger = create(tenant, display_name="Mary Jones", phones=[PhoneIn("+442079460958")])
    typo = create(tenant, given_name="Jonh", family_name="Smith")
    with acting(tenant) as ctx:
        found = duplicates.find_for_contact(ctx, survivor, min_score=0)
    by_id = {p.b.id: p for p in found}
    assert all(p.a.id == survivor for p in found)
    assert {r["code"] for r in by_id[other].reasons} >= {
        "same-phone",
        "similar-name",
        "same-organization",
    }
    assert by_id[other].score >= 80
    assert [r["code"] for r in by_id[stranger].reasons] == ["same-phone", "different-given-names"]
    assert by_id[stranger].score < 50
    # a misspelt name with nothing else in common is found through the typo-tolerant search
    assert [r["code"] for r in by_id[typo].reasons] == ["similar-name"]
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)
    assert found[0].b.id == other
    with acting(tenant) as ctx:
        assert [p.b.id for p in duplicates.find_for_contact(ctx, survivor)] == [other]
    assert pair["older"] not in by_id  # merged contacts are nobody's duplicates


def test_workspace_wide_duplicates_page_through_every_pair_once(tenant, other_tenant) -> None:
    made: list[set[int]] = []
    for i in range(7):
        a = create(
            tenant, given_name=f"Person{i}", family_name="Doe", emails=[EmailIn(f"p{i}@x.io")]
        )
        b = create(
            tenant,
            given_name=f"Person{i}",
            family_name="Doe",
            emails=[EmailIn(f"P{i}+crm@x.io")],  # the same mailbox
            phones=[PhoneIn(f"+4420794609{i:02d}")],
        )
        made.append({a, b})
    create(tenant, display_name="Alone Here")
    create(other_tenant, given_name="Person0", family_name="Doe", emails=[EmailIn("p0@x.io")])
    seen: list[set[int]] = []
    cursor = None
    for _ in range(20):
        with acting(tenant) as ctx:
            page = duplicates.find_all(ctx, cursor=cursor, limit=3, min_score=80)
        scores = [p.score for p in page.items]
        assert scores == sorted(scores, reverse=True)
        seen += [{p.a.id, p.b.id} for p in page.items]
        for p in page.items:
            assert "same-email" in {r["code"] for r in p.reasons}
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(map(sorted, seen)) == sorted(map(sorted, made))  # each pair exactly once
    assert not [s for s in seen if len(s) != 2]
    # same names share a name key too: at a lower threshold the pairs are still there once
    everything = pairs(tenant, min_score=0, limit=200)
    assert len(everything) == len({frozenset(p) for p, _, _ in everything})
    with acting(tenant) as ctx:
        with pytest.raises(InvalidInput):
            duplicates.find_all(ctx, min_score=101)
        with pytest.raises(InvalidInput):
            duplicates.find_all(ctx, cursor="nonsense")
