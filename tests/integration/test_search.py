"""Search on the real databases (SQLite FTS5, PostgreSQL tsvector + pg_trgm): contacts by
name, email, phone, organization and tag; full text over interactions, knowledge, notes and
cases; kept current on write; never across workspaces."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from tenure.db.models import ContactMatchKey, SearchDocument
from tenure.db.repositories.contacts import ContactFilter
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.cases import CaseAction
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import InvalidInput, NotFound, PermissionDenied
from tenure.domain.knowledge import KnowledgeKind
from tenure.services import cases, contacts, interactions, knowledge, search
from tenure.services.contacts import EmailIn, OrganizationLink, PhoneIn
from tenure.services.context import Ctx
from tenure.services.interactions import Channel, Direction


@contextmanager
def acting(tenant: Any, role: Role = Role.OWNER) -> Iterator[Ctx]:
    tenant.member(role)  # made in its own transaction, before this one takes the write lock
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        yield tenant.ctx(session, role)


def person(tenant: Any, name: str, **fields: Any) -> int:
    given, _, family = name.partition(" ")
    with acting(tenant) as ctx:
        view = contacts.create_contact(
            ctx,
            kind=ContactKind.PERSON,
            given_name=given,
            family_name=family or None,
            **fields,
        )
        return view.contact.id


def organization(tenant: Any, name: str, **fields: Any) -> int:
    with acting(tenant) as ctx:
        return contacts.create_contact(
            ctx, kind=ContactKind.ORGANIZATION, display_name=name, **fields
        ).contact.id


def names(tenant: Any, q: str, role: Role = Role.OWNER, **kw: Any) -> list[str]:
    with acting(tenant, role) as ctx:
        return [r.contact.display_name for r in search.search_contacts(ctx, q, **kw)]


def found(tenant: Any, q: str, **kw: Any) -> list[tuple[str, int]]:
    with acting(tenant) as ctx:
        return [(r.kind, r.id) for r in search.search(ctx, q, **kw)]


def update(tenant: Any, contact_id: int, **changes: Any) -> None:
    with acting(tenant) as ctx:
        version = contacts.get_contact(ctx, contact_id).contact.version
        contacts.update_contact(ctx, contact_id, expected_version=version, changes=changes)


@pytest.fixture
def people(tenant: Any) -> dict[str, int]:
    acme = organization(tenant, "Acme Plumbing Ltd", emails=[EmailIn("office@acme-plumbing.io")])
    return {
        "acme": acme,
        "john": person(
            tenant,
            "John Smith",
            emails=[EmailIn("john.smith@acme-plumbing.io")],
            phones=[PhoneIn("+44 20 7946 0958")],
            tags=["VIP"],
            organizations=[OrganizationLink(acme, "Plumber")],
        ),
        "johnson": person(tenant, "Mary Johnson"),
        "jose": person(tenant, "José García", emails=[EmailIn("jg@example.com")]),
        "zoe": person(tenant, "Zoë Ångström"),
        "smithers": person(tenant, "Waylon Smithers"),
    }


# --- contacts --------------------------------------------------------------------------------


def test_prefixes_of_any_word(tenant, people) -> None:
    assert "John Smith" in names(tenant, "smi")
    assert names(tenant, "jo sm") == ["John Smith"]
    assert set(names(tenant, "jo")) == {"John Smith", "Mary Johnson", "José García"}
    assert names(tenant, "waylon smithers") == ["Waylon Smithers"]


def test_accents_and_case_do_not_matter(tenant, people) -> None:
    assert names(tenant, "jose") == ["José García"]
    assert names(tenant, "JOSÉ GARCIA") == ["José García"]
    assert names(tenant, "garcía") == ["José García"]
    assert names(tenant, "zoe angstrom") == ["Zoë Ångström"]
    assert names(tenant, "ZOË") == ["Zoë Ångström"]


def test_emails_phones_organizations_and_tags(tenant, people) -> None:
    assert names(tenant, "john.smith@acme-plumbing.io") == ["John Smith"]
    assert names(tenant, "jg@example") == ["José García"]
    assert names(tenant, "7946 0958") == ["John Smith"]  # any run of the number's digits
    assert names(tenant, "+44 20 7946") == ["John Smith"]
    assert names(tenant, "020 7946 0958") == ["John Smith"]  # as dialled at home
    assert names(tenant, "vip") == ["John Smith"]
    # an organization finds itself (by name, first) and its people
    assert names(tenant, "acme plumbing") == ["Acme Plumbing Ltd", "John Smith"]


def test_typos_in_names(tenant, people) -> None:
    with acting(tenant) as ctx:
        results = search.search_contacts(ctx, "jonh smiht")
    assert [r.contact.display_name for r in results][:1] == ["John Smith"]
    assert results[0].matched == "fuzzy" and results[0].score < 50
    assert "John Smith" in names(tenant, "smiht")
    assert names(tenant, "jhon smiht")[:1] == ["John Smith"]  # a typo in the first letters
    assert names(tenant, "nobody") == []
    assert names(tenant, "xqzv") == []


def test_ranking(tenant, people) -> None:
    # a whole name word ranks above a prefix of one, and a name above an email or employer
    smith = person(tenant, "Anna Smithson")
    with acting(tenant) as ctx:
        ranked = search.search_contacts(ctx, "smith")
    assert [r.contact.display_name for r in ranked][:1] == ["John Smith"]
    scores = {r.contact.id: r.score for r in ranked}
    assert scores[people["john"]] > scores[smith]
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    assert names(tenant, "acme")[0] == "Acme Plumbing Ltd"
    # exact matches always rank above misspelt ones
    with acting(tenant) as ctx:
        mixed = search.search_contacts(ctx, "smithers")
    assert mixed[0].contact.display_name == "Waylon Smithers" and mixed[0].matched == "prefix"
    assert all(r.matched == "fuzzy" for r in mixed[1:])


def test_queries_without_words_match_literally(tenant) -> None:
    organization(tenant, "ACME 100% Ltd")
    assert names(tenant, "%") == ["ACME 100% Ltd"]
    assert names(tenant, "_") == []
    assert names(tenant, "") == []
    assert names(tenant, 'jo*"; DROP TABLE contacts; --') == []
    assert names(tenant, "NEAR(a b) OR title:x") == []


def test_the_contact_list_uses_the_search(tenant, people) -> None:
    with acting(tenant) as ctx:
        page = contacts.list_contacts(ctx, filters=ContactFilter(q="smith"), limit=10)
        assert [c.display_name for c in page.items][:1] == ["John Smith"]
        assert page.next_cursor is None
        # the other filters apply inside the search
        only_orgs = ContactFilter(q="acme", kind="organization")
        assert [c.id for c in contacts.list_contacts(ctx, filters=only_orgs).items] == [
            people["acme"]
        ]
        tagged = ContactFilter(q="smi", tag="vip")
        assert [c.id for c in contacts.list_contacts(ctx, filters=tagged).items] == [people["john"]]
        with pytest.raises(InvalidInput):
            contacts.list_contacts(ctx, filters=ContactFilter(q="smith"), cursor="abc")


# --- kept current on write -------------------------------------------------------------------


def test_contacts_are_reindexed_when_they_change(tenant, people) -> None:
    update(tenant, people["jose"], given_name="Pepe")
    assert names(tenant, "pepe") == ["Pepe García"]
    assert names(tenant, "jose") == []
    update(tenant, people["zoe"], emails=[EmailIn("zoe@angstrom.se")], tags=["board"])
    assert names(tenant, "angstrom.se") == ["Zoë Ångström"]
    assert names(tenant, "board") == ["Zoë Ångström"]
    # a person's organizations, and an organization's new name, reach the person's document
    update(tenant, people["zoe"], organizations=[OrganizationLink(people["acme"], "Accountant")])
    assert set(names(tenant, "acme")) == {"Acme Plumbing Ltd", "John Smith", "Zoë Ångström"}
    update(tenant, people["acme"], display_name="Bolt Pipes")
    assert set(names(tenant, "bolt")) == {"Bolt Pipes", "John Smith", "Zoë Ångström"}
    # his email and the organization's still say so
    assert set(names(tenant, "acme plumbing")) == {"John Smith", "Bolt Pipes"}


def _contact_rows(tenant: Any, table: Any, contact_id: int) -> int:
    with tenant.db.session() as session:
        return session.scalar(
            select(func.count()).select_from(table).where(table.contact_id == contact_id)
        )


def test_notes_interactions_knowledge_and_cases_are_kept_current(tenant, people) -> None:
    john = people["john"]
    update(tenant, john, notes="Prefers the quarterly boiler service in spring.")
    assert found(tenant, "boiler") == [("note", john)]
    update(tenant, john, notes="")
    assert found(tenant, "boiler") == []

    with acting(tenant) as ctx:
        call = interactions.log_interaction(
            ctx,
            john,
            channel=Channel.CALL,
            direction=Direction.INBOUND,
            subject="Leaking radiator",
            body="The radiator in the hallway leaks again; asked for a visit on Friday.",
        ).id
    assert found(tenant, "radiator hallway") == [("interaction", call)]

    with acting(tenant) as ctx:
        entry = knowledge.add(
            ctx, john, kind=KnowledgeKind.PREFERENCE, key="access", text="Key under the mat"
        ).id
    assert found(tenant, "mat") == [("knowledge", entry)]
    with acting(tenant) as ctx:
        newer = knowledge.edit(ctx, entry, changes={"text": "Key with the neighbour"}).id
    assert found(tenant, "mat") == []
    assert found(tenant, "neighbour") == [("knowledge", newer)]
    with acting(tenant) as ctx:
        knowledge.retire(ctx, newer, reason="moved")
    assert found(tenant, "neighbour") == []

    with acting(tenant) as ctx:
        case = cases.open_case(ctx, john, subject="Boiler pressure drops", description="Weekly")
        case_id, version = case.id, case.version
    assert found(tenant, "pressure") == [("case", case_id)]
    with acting(tenant) as ctx:
        cases.update_case(
            ctx, case_id, expected_version=version, changes={"subject": "Boiler noise"}
        )
    assert found(tenant, "pressure") == []
    assert found(tenant, "noise") == [("case", case_id)]
    with acting(tenant) as ctx:
        cases.move(ctx, case_id, CaseAction.RESOLVE, note="Replaced the expansion vessel")
    assert found(tenant, "expansion vessel") == [("case", case_id)]


# --- full text -------------------------------------------------------------------------------


@pytest.fixture
def texts(tenant, people) -> dict[str, int]:
    john, mary = people["john"], people["johnson"]
    out: dict[str, int] = {}
    with acting(tenant) as ctx:
        out["call"] = interactions.log_interaction(
            ctx,
            john,
            channel=Channel.CALL,
            direction=Direction.OUTBOUND,
            subject="Renewal of the maintenance contract",
            body="We talked about renewing the maintenance contract for another year. "
            + "He wants the price held. " * 20
            + "Decision expected after the Easter holidays.",
        ).id
        out["email"] = interactions.log_interaction(
            ctx,
            mary,
            channel=Channel.EMAIL,
            direction=Direction.INBOUND,
            subject="Invoice question",
            body="Mary asked why the invoice mentions a contract renewal fee.",
        ).id
        out["knowledge"] = knowledge.add(
            ctx, john, kind=KnowledgeKind.DO_NOT, text="Never call before 9am about the contract"
        ).id
        out["case"] = cases.open_case(
            ctx, mary, subject="Contract PDF missing", description="Cannot download the PDF"
        ).id
    update(tenant, john, notes="Signed the first contract in 2019 with José.")
    return out


def test_full_text_over_every_kind_with_snippets(tenant, people, texts) -> None:
    with acting(tenant) as ctx:
        results = search.search(ctx, "contract")
    kinds = {(r.kind, r.id) for r in results}
    assert kinds == {
        ("interaction", texts["call"]),
        ("interaction", texts["email"]),
        ("knowledge", texts["knowledge"]),
        ("case", texts["case"]),
        ("note", people["john"]),
    }
    by_id = {(r.kind, r.id): r for r in results}
    call = by_id[("interaction", texts["call"])]
    assert call.title == "Renewal of the maintenance contract"
    assert call.contact_id == people["john"]
    assert "**contract**" in call.snippet and len(call.snippet) < 260
    assert all(r.snippet for r in results)
    # the snippet finds the place of the words, deep in a long text, accents aside
    with acting(tenant) as ctx:
        (easter,) = search.search(ctx, "easter holiday")
        (note,) = search.search(ctx, "jose")
    assert "**Easter** **holidays**" in easter.snippet and easter.snippet.startswith("…")
    assert "**José**" in note.snippet


def test_full_text_ranking(tenant, people, texts) -> None:
    # every word must match
    assert {i for _, i in found(tenant, "contract renewal")} == {texts["call"], texts["email"]}
    # a word in the title outranks the same word once in a long body
    with acting(tenant) as ctx:
        long_body = interactions.log_interaction(
            ctx,
            people["zoe"],
            channel=Channel.NOTE,
            direction=Direction.INTERNAL,
            subject="Notes from the site visit",
            body="Walked the site. " * 40 + "The gutter needs work.",
        ).id
        titled = cases.open_case(ctx, people["zoe"], subject="Gutter repair").id
        results = search.search(ctx, "gutter")
    assert [(r.kind, r.id) for r in results] == [("case", titled), ("interaction", long_body)]
    assert results[0].score > results[1].score
    with acting(tenant) as ctx:
        results = search.search(ctx, "contract")
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


def test_full_text_filters(tenant, people, texts) -> None:
    assert found(tenant, "contract", kind="case") == [("case", texts["case"])]
    assert found(tenant, "contract", kind="note") == [("note", people["john"])]
    assert {k for k, _ in found(tenant, "contract", contact_id=people["johnson"])} == {
        "interaction",
        "case",
    }
    assert found(tenant, "contract", kind="knowledge", contact_id=people["johnson"]) == []
    # the contact search in the same shape
    assert found(tenant, "mary", kind="contact") == [("contact", people["johnson"])]
    with pytest.raises(InvalidInput):
        found(tenant, "contract", kind="meeting")
    with pytest.raises(NotFound):
        found(tenant, "contract", contact_id=10**9)
    assert found(tenant, "   ") == []


# --- workspaces, roles, rebuilding -----------------------------------------------------------


def test_another_workspaces_records_never_appear(tenant, other_tenant, people, texts) -> None:
    theirs = person(other_tenant, "John Smith", emails=[EmailIn("john@theirs.example")])
    with acting(other_tenant) as ctx:
        interactions.log_interaction(
            ctx,
            theirs,
            channel=Channel.NOTE,
            direction=Direction.INTERNAL,
            body="Their contract is secret",
        )
    with acting(tenant) as ctx:
        mine = search.search_contacts(ctx, "john smith")
        fuzzy = search.search_contacts(ctx, "jonh smiht")
        text = search.search(ctx, "contract secret")
    assert [r.contact.id for r in mine] == [people["john"]]
    assert [r.contact.id for r in fuzzy] == [people["john"]]
    assert text == []
    assert names(tenant, "theirs") == []
    with acting(other_tenant) as ctx:
        assert [r.contact.id for r in search.search_contacts(ctx, "smith")] == [theirs]
        assert [r.kind for r in search.search(ctx, "contract")] == ["interaction"]
        with pytest.raises(NotFound):  # another workspace's contact is not there at all
            search.search(ctx, "contract", contact_id=people["john"])


def test_viewers_search_and_only_admins_rebuild(tenant, people) -> None:
    assert names(tenant, "jose", role=Role.VIEWER) == ["José García"]
    with pytest.raises(PermissionDenied), acting(tenant, Role.MEMBER) as ctx:
        search.reindex(ctx)


def test_reindex_rebuilds_documents_and_keys(tenant, other_tenant, people, texts) -> None:
    person(other_tenant, "Untouched Person")
    with tenant.db.session() as session:
        before = session.scalar(select(func.count()).select_from(SearchDocument))
        mine = session.scalar(
            select(func.count())
            .select_from(SearchDocument)
            .where(SearchDocument.workspace_id == tenant.workspace_id)
        )
        keys = session.scalar(
            select(func.count())
            .select_from(ContactMatchKey)
            .where(ContactMatchKey.workspace_id == tenant.workspace_id)
        )
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        session.execute(
            delete(SearchDocument).where(SearchDocument.workspace_id == tenant.workspace_id)
        )
        session.execute(
            delete(ContactMatchKey).where(ContactMatchKey.workspace_id == tenant.workspace_id)
        )
    # (names still match by trigrams on PostgreSQL, which read the contacts themselves)
    assert names(tenant, "7946") == [] and found(tenant, "contract") == []
    with acting(tenant) as ctx:
        report = search.reindex(ctx)
    assert report.contacts == len(people)
    assert report.contacts + report.documents + 1 == mine  # + the note, made with its contact
    with tenant.db.session() as session:
        assert session.scalar(select(func.count()).select_from(SearchDocument)) == before
        assert (
            session.scalar(
                select(func.count())
                .select_from(ContactMatchKey)
                .where(ContactMatchKey.workspace_id == tenant.workspace_id)
            )
            == keys
        )
    assert names(tenant, "jose") == ["José García"]
    assert names(tenant, "7946") == ["John Smith"]
    assert len(found(tenant, "contract")) == 5
    assert names(other_tenant, "untouched") == ["Untouched Person"]
