"""Importing .vcf files into a workspace: the address-book fixtures, dedupe, dry run, bad cards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tenure.db.models import AuditEntry, Contact, ExternalId, TimelineEvent
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import InvalidInput, PermissionDenied
from tenure.services import contacts, vcard
from tenure.services.contacts import EmailIn, PhoneIn
from tests.conftest import make_tenant

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"


def read(name: str) -> str:
    return vcard.decode_bytes((FIXTURES / name).read_bytes())


@pytest.fixture
def uk(db):  # type: ignore[no-untyped-def]
    """A UK business: numbers written without a country code are British."""
    return make_tenant(db, "harbour", timezone="Europe/London")


def run(tenant, text: str, role: Role = Role.OWNER, **options: Any) -> vcard.ImportReport:  # type: ignore[no-untyped-def]
    tenant.member(role)  # made in its own transaction, before this one
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        return vcard.import_vcards(tenant.ctx(session, role), text, **options)


def people(tenant) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Every contact by name, with its organizations (name → title)."""
    out: dict[str, dict[str, Any]] = {}
    with unit_of_work(session_factory(tenant.db.engine), write=False) as session:
        ctx = tenant.ctx(session)
        rows = session.scalars(select(Contact).where(Contact.workspace_id == tenant.workspace_id))
        for c in rows.all():
            view = contacts.get_contact(ctx, c.id)
            out[c.display_name] = {
                "id": c.id,
                "kind": c.kind,
                "given": c.given_name,
                "family": c.family_name,
                "emails": [(e["email"], e["label"], e["primary"]) for e in c.emails],
                "phones": [(p["number"], p["label"]) for p in c.phones],
                "address": c.address,
                "notes": c.notes,
                "tags": c.tags,
                "timezone": c.timezone,
                "orgs": {
                    a.organization_name: a.title for a in view.affiliations if a.person_id == c.id
                },
                "version": c.version,
            }
    return out


def count(tenant, model: Any) -> int:  # type: ignore[no-untyped-def]
    with tenant.db.session() as session:
        stmt = (
            select(func.count()).select_from(model).where(model.workspace_id == tenant.workspace_id)
        )
        return session.scalar(stmt) or 0


# --- the address books --------------------------------------------------------------------------


def test_apple_contacts_import_with_organization_title_labels_and_address(uk) -> None:
    report = run(uk, read("apple.vcf"))
    assert (report.created, report.failed, report.problems) == (2, 0, [])
    found = people(uk)
    maggie = found["Margaret Okafor"]
    assert (maggie["given"], maggie["family"], maggie["kind"]) == ("Margaret", "Okafor", "person")
    assert maggie["emails"] == [
        ("margaret@okafordental.example", "work", True),
        ("maggie.okafor@mail.example", "home", False),
    ]
    # the local number is read as British (X-ABADR says gb)
    assert maggie["phones"] == [("+447700900123", "mobile"), ("+441134960000", "work")]
    assert maggie["address"] == {
        "street": "12 Park Row",
        "locality": "Leeds",
        "postal_code": "LS1 5HD",
        "country": "United Kingdom",
    }
    assert maggie["notes"] == "Prefers calls after 2pm.\nTwo sites: Leeds and York."
    assert maggie["orgs"] == {"Okafor Dental Practice": "Practice Manager"}
    assert found["Okafor Dental Practice"]["kind"] == "organization"
    # X-ABShowAs:COMPANY makes the second card an organization, not a person
    harbour = found["Harbour Logistics Ltd"]
    assert harbour["kind"] == "organization"
    assert harbour["emails"] == [("accounts@harbourlogistics.example", "work", True)]
    assert harbour["phones"] == [("+441614960123", "work")]
    assert report.organizations_created == 1


def test_google_contacts_import_unicode_names_categories_and_local_numbers(uk) -> None:
    report = run(uk, read("google.vcf"))
    assert (report.created, report.problems) == (2, [])
    found = people(uk)
    tomas = found["Tomás García López"]
    assert (tomas["given"], tomas["family"]) == ("Tomás", "García López")
    assert tomas["emails"] == [("tomas@estudioverde.example", "work", True)]
    assert tomas["phones"] == [("+34612345678", "mobile")]
    assert tomas["orgs"] == {"Estudio Verde": "Founder"}
    assert tomas["tags"] == []  # Google's "myContacts" system group is no tag
    priya = found["Dr. Priya Raman"]
    assert priya["emails"] == [("priya.raman@clinic.example", None, True)]
    assert priya["phones"] == [("+442079460018", "mobile")]
    assert priya["tags"] == ["prospects"]
    assert priya["notes"] == "Referred by Margaret Okafor"


def test_vcard_4_import_kind_org_tel_uris_and_time_zone(uk) -> None:
    report = run(uk, read("v4.vcf"))
    assert (report.created, report.problems) == (2, [])
    found = people(uk)
    hannah = found["Hannah Schulz"]
    assert hannah["phones"] == [("+4930901820", "work"), ("+4915123456789", "mobile")]
    assert hannah["emails"] == [("h.schulz@schulz-partner.example", "work", True)]
    assert hannah["timezone"] == "Europe/Berlin"
    assert hannah["address"]["street"] == "Friedrichstraße 12"
    assert hannah["orgs"] == {"Schulz & Partner GmbH": "CFO"}
    assert found["Nordlicht AG"]["kind"] == "organization"
    assert found["Nordlicht AG"]["emails"] == [("info@nordlicht.example", "work", True)]


def test_outlook_2_1_quoted_printable_with_charset(uk) -> None:
    report = run(uk, read("outlook.vcf"))
    assert (report.created, report.problems) == (2, [])
    found = people(uk)
    jurgen = found["Jürgen Müller"]
    assert (jurgen["given"], jurgen["family"]) == ("Jürgen", "Müller")
    assert jurgen["emails"] == [("j.mueller@hansa-fenster.example", None, True)]
    assert jurgen["phones"] == [("+494038612200", "work"), ("+491713456789", "mobile")]
    assert jurgen["address"]["street"] == "Große Elbstraße 145"
    # an unescaped comma in a 2.1 note is text, not a list separator
    assert jurgen["notes"] == "Rückruf bitte vormittags.\nBevorzugt E-Mail, nicht Fax."
    assert jurgen["orgs"] == {"Hansa Fenster GmbH": "Vertriebsleiter"}
    aiko = found["Aiko Nakamura"]
    assert aiko["tags"] == ["partners", "vip"]
    assert aiko["notes"] == "Met at the Tokyo trade fair, 2025."
    assert aiko["phones"] == [("+81312345678", "work")]


def test_ios_export_with_item_groups_photo_bom_lf_and_missing_or_repeated_names(uk) -> None:
    report = run(uk, read("ios.vcf"))
    assert (report.created, report.problems) == (3, [])
    found = people(uk)
    sam = found["Samuel Walker"]
    assert sam["emails"] == [("sam@walkerplumbing.example", "other", True)]
    assert sam["phones"] == [("+447700900456", "mobile"), ("+442079460991", "site office")]
    assert sam["notes"].endswith("number 6; call before arriving.")
    assert sam["orgs"] == {"Walker & Sons Plumbing": "Owner"}
    # no FN: the name comes from N
    assert found["Elsa Lindqvist"]["emails"] == [
        ("elsa.lindqvist@nordic-mail.example", "home", True)
    ]
    # an empty N and FN before the real ones
    assert (found["Wei Chen"]["given"], found["Wei Chen"]["family"]) == ("Wei", "Chen")
    assert count(uk, ExternalId) == 3


# --- bad cards ----------------------------------------------------------------------------------


def test_broken_cards_are_reported_and_the_good_ones_import(uk) -> None:
    report = run(uk, read("broken.vcf"))
    assert report.cards == 6
    assert (report.created, report.failed) == (2, 4)
    problems = {(p.card, p.field, p.rule) for p in report.problems}
    assert problems == {
        (2, "card", "syntax"),
        (3, "EMAIL", "email"),
        (4, "END", "syntax"),
        (5, "FN", "required"),
    }
    bad_email = next(p for p in report.problems if p.card == 3)
    assert bad_email.value == "chidi at example dot com"
    assert bad_email.name == "Chidi Okonkwo"
    assert set(people(uk)) == {"Olu Adeyemi", "Zainab Idowu"}


def test_a_card_is_all_or_nothing(uk) -> None:
    """A card whose email another contact holds (with on_duplicate=create) leaves nothing
    behind: not its contact, not the organization its ORG would have created."""
    run(uk, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:First\r\nEMAIL:taken@example.com\r\nEND:VCARD\r\n")
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Second\r\nORG:New Org Ltd\r\n"
        "EMAIL:taken@example.com\r\nEND:VCARD\r\n"
    )
    report = run(uk, card, on_duplicate="create")
    assert report.failed == 1
    assert [(p.field, p.rule, p.value) for p in report.problems] == [
        ("EMAIL", "unique", "taken@example.com")
    ]
    assert set(people(uk)) == {"First"}


def test_unknown_on_duplicate_is_refused(uk) -> None:
    with pytest.raises(InvalidInput) as exc:
        run(uk, read("apple.vcf"), on_duplicate="merge")
    assert exc.value.errors[0].field == "on_duplicate"
    assert count(uk, Contact) == 0


def test_a_viewer_cannot_import(uk) -> None:
    with pytest.raises(PermissionDenied):
        run(uk, read("apple.vcf"), role=Role.VIEWER)
    assert count(uk, Contact) == 0


# --- dedupe and re-import -----------------------------------------------------------------------


def test_reimporting_the_same_file_updates_and_never_duplicates(uk) -> None:
    first = run(uk, read("ios.vcf"))
    assert first.created == 3
    before = people(uk)
    events = count(uk, TimelineEvent)
    again = run(uk, read("ios.vcf"))
    assert (again.created, again.unchanged, again.updated) == (0, 3, 0)
    assert people(uk) == before
    assert count(uk, TimelineEvent) == events  # nothing changed, nothing recorded
    # the same cards after an edit in the address book update the same contacts
    edited = (
        read("ios.vcf")
        .replace("Samuel Walker", "Sam Walker")
        .replace("N:Walker;Samuel", "N:Walker;Sam")
    )
    report = run(uk, edited)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    after = people(uk)
    assert "Sam Walker" in after and "Samuel Walker" not in after
    assert after["Sam Walker"]["id"] == before["Samuel Walker"]["id"]
    assert count(uk, Contact) == 4  # three people and Walker & Sons Plumbing


def _existing(tenant, **fields: Any) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        return contacts.create_contact(
            tenant.ctx(session), kind=ContactKind.PERSON, **fields
        ).contact.id


def test_match_by_email_then_phone_with_each_on_duplicate(uk) -> None:
    by_email = _existing(
        uk,
        display_name="Maggie O.",
        emails=[EmailIn("MARGARET@okafordental.example")],
        tags=["vip"],
        notes="Met at the expo.",
    )
    by_phone = _existing(uk, display_name="Harbour accounts", phones=[PhoneIn("+44 161 496 0123")])
    skipped = run(uk, read("apple.vcf"), on_duplicate="skip")
    assert (skipped.skipped, skipped.created) == (2, 0)
    assert count(uk, Contact) == 2

    updated = run(uk, read("apple.vcf"), on_duplicate="update")
    assert (updated.updated, updated.created) == (2, 0)
    found = people(uk)
    maggie = found["Margaret Okafor"]
    assert maggie["id"] == by_email
    # merged: the card's second email, phones and organization added; nothing lost
    assert [e[0] for e in maggie["emails"]] == [
        "margaret@okafordental.example",
        "maggie.okafor@mail.example",
    ]
    assert maggie["tags"] == ["vip"]
    assert (
        maggie["notes"]
        == "Met at the expo.\n\nPrefers calls after 2pm.\nTwo sites: Leeds and York."
    )
    assert maggie["orgs"] == {"Okafor Dental Practice": "Practice Manager"}
    # the organization's card matched a person by phone: it adds its email, keeps the name
    harbour = found["Harbour accounts"]
    assert (harbour["id"], harbour["kind"]) == (by_phone, "person")
    assert harbour["emails"] == [("accounts@harbourlogistics.example", "work", True)]

    created = run(
        uk,
        read("google.vcf") + read("apple.vcf").split("END:VCARD", 1)[1].lstrip(),
        on_duplicate="create",
    )
    # Harbour's card again, created anew although its phone matches, but its email is taken
    assert created.created == 2
    assert [(p.field, p.rule) for p in created.problems] == [("EMAIL", "unique")]


def test_organization_cards_match_organizations_by_name(uk) -> None:
    run(uk, read("v4.vcf"))
    card = "BEGIN:VCARD\r\nVERSION:4.0\r\nKIND:org\r\nFN:Schulz & Partner GmbH\r\nEND:VCARD\r\n"
    report = run(uk, card)
    assert (report.created, report.unchanged) == (0, 1)


def test_dry_run_writes_nothing_and_reports_what_would_happen(uk) -> None:
    report = run(uk, read("apple.vcf") + read("broken.vcf"), dry_run=True)
    assert report.dry_run
    assert (report.created, report.failed, report.organizations_created) == (4, 4, 1)
    for model in (Contact, TimelineEvent, ExternalId, AuditEntry):
        assert count(uk, model) == 0, model
    real = run(uk, read("apple.vcf") + read("broken.vcf"))
    assert (real.created, real.failed) == (4, 4)
    assert count(uk, AuditEntry) == 1
