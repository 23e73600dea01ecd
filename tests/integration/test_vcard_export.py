"""Exporting contacts as vCards: constant queries per page, UIDs, organizations, the audit log."""

from __future__ import annotations

from sqlalchemy import select

from tenure.db.models import AuditEntry
from tenure.db.repositories.contacts import ContactFilter
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.contacts import ContactKind
from tenure.services import contacts, vcard
from tenure.services.contacts import OrganizationLink
from tests.conftest import count_statements


def _seed(tenant, n: int) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        org = contacts.create_contact(ctx, kind=ContactKind.ORGANIZATION, display_name="Org")
        for i in range(n):
            contacts.create_contact(
                ctx,
                kind=ContactKind.PERSON,
                display_name=f"P{i:03d}",
                organizations=[OrganizationLink(org.contact.id, f"Title {i}")],
            )


def _page_statements(tenant) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory(tenant.db.engine), write=False) as session:
        ctx = tenant.ctx(session)
        with count_statements(tenant.db.engine) as seen:
            text, cursor = vcard.export_page(ctx, filters=ContactFilter(), version="4.0")
    assert cursor is None
    return len(seen), text


def test_a_page_takes_the_same_number_of_queries_at_3_and_43_contacts(tenant) -> None:
    _seed(tenant, 3)
    small, text = _page_statements(tenant)
    assert text.count("BEGIN:VCARD") == 4
    # each person with their organization and their own title; the organization is KIND:org
    assert text.count("\r\nORG:Org\r\n") == 4 and text.count("\r\nKIND:org\r\n") == 1
    assert all(f"\r\nTITLE:Title {i}\r\n" in text for i in range(3))
    _seed(tenant, 40)
    large, text = _page_statements(tenant)
    assert text.count("BEGIN:VCARD") == 45
    assert small == large


def test_exports_are_audited_and_uids_are_stable(tenant) -> None:
    _seed(tenant, 1)
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        pages = vcard.export_stream(ctx, filters=ContactFilter(tag="none"), version="3.0")
        assert "".join(pages) == ""
        person = contacts.list_contacts(ctx, filters=ContactFilter(kind="person")).items[0]
        first = vcard.export_contact(ctx, person.id).text
        second = vcard.export_contact(ctx, person.id, version="4.0").text
    uid = [line for line in first.split("\r\n") if line.startswith("UID:")]
    assert uid and uid[0] in second.split("\r\n")
    with tenant.db.session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.workspace_id == tenant.workspace_id)
        ).all()
    assert [e.action for e in entries] == ["contacts.exported"] * 3
    assert entries[0].details["filters"] == {"tag": "none"}
    assert entries[1].details == {"format": "vcard", "version": "3.0", "contact_id": person.id}
