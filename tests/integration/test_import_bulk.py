"""The import's bulk creation writes exactly what ``contacts.create_contact`` writes.

Imports create new contacts many at a time (``services.imports.bulk``) rather than through
the service one by one; this compares the two, table by table, for the same contacts in two
workspaces, so a change to contact creation that the bulk path misses fails here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, select

from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.contacts import ContactKind
from tenure.services import contacts, duplicates, search
from tenure.services.contacts import EmailIn, OrganizationLink, PhoneIn
from tests.integration.test_import_contacts import NOW, run_import

#: Columns that differ between two workspaces whatever was written.
IDS = {
    "id",
    "workspace_id",
    "contact_id",
    "ref_id",
    "subject_id",
    "person_id",
    "organization_id",
    "actor_id",
}
TABLES = (
    "contacts",
    "contact_emails",
    "contact_phones",
    "contact_tags",
    "affiliations",
    "search_documents",
    "contact_match_keys",
    "timeline_events",
    "jobs",
)


def _rows(engine: Any, workspace_id: int) -> dict[str, list[tuple[Any, ...]]]:
    meta = MetaData()
    meta.reflect(engine, only=TABLES)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for name in TABLES:
            table = meta.tables[name]
            columns = [c for c in table.c if c.name not in IDS]
            stmt = select(*columns).where(table.c.workspace_id == workspace_id)
            rows = [tuple(map(_plain, r)) for r in conn.execute(stmt)]
            out[name] = sorted(rows, key=repr)
    return out


def _plain(value: Any) -> Any:
    """Organization keys carry the organization's id: the same shape is what must match."""
    if isinstance(value, str) and value.startswith("o:"):
        return "o:<id>"
    return value


def test_bulk_creation_matches_the_service(tenant, other_tenant) -> None:
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        ctx.now = NOW
        org = contacts.create_contact(
            ctx, kind=ContactKind.ORGANIZATION, display_name="Okafor Dental Practice"
        )
        contacts.create_contact(
            ctx,
            kind=ContactKind.PERSON,
            given_name="Margaret",
            family_name="Okafor",
            emails=[EmailIn("margaret@okafordental.example"), EmailIn("maggie@mail.example")],
            phones=[PhoneIn("+447700900123")],
            address={"city": "Leeds", "country": "United Kingdom"},
            tags=["clients", "vip"],
            notes="Prefers calls after 2pm.",
            organizations=[OrganizationLink(org.contact.id, "Practice Manager")],
        )
        contacts.create_contact(ctx, kind=ContactKind.ORGANIZATION, display_name="Harbour Ltd")
    csv = (
        "given_name,family_name,email,email2,phone,city,country,tags,notes,organization,"
        "job_title,kind,display_name\n"
        "Margaret,Okafor,margaret@okafordental.example,maggie@mail.example,+447700900123,"
        'Leeds,United Kingdom,"clients, vip",Prefers calls after 2pm.,Okafor Dental Practice,'
        "Practice Manager,person,\n"
        ",,,,,,,,,,,organization,Harbour Ltd\n"
    )
    result = run_import(other_tenant, csv, batch_size=10)
    assert result["counts"]["created"] == 2 and result["report"] == []
    ours = _rows(tenant.db.engine, other_tenant.workspace_id)
    theirs = _rows(tenant.db.engine, tenant.workspace_id)
    for table in TABLES:
        assert ours[table] == theirs[table], table


def test_imported_contacts_are_found_by_search_and_as_duplicates(tenant) -> None:
    """The bulk path writes many search documents per statement (their FTS5 trigger still
    runs) and the match keys in key order: the full-text index and duplicate detection see
    every contact of the batch, the first as well as the last."""
    people = "".join(
        f"Person{i:03d},Zebulon{i:03d},p{i}@example.com,+44 20 7946 {i:04d}\n" for i in range(250)
    )
    csv = (
        "given_name,family_name,email,phone\n"
        + people
        + "Margaret,Okafor,margaret@okafor.example,\n"
        + "Margaret,Okafor,m.okafor@mail.example,\n"
    )
    result = run_import(tenant, csv, batch_size=1000)
    assert result["counts"]["created"] == 252
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        for i in (0, 123, 249):
            names = [r.contact.display_name for r in search.search_contacts(ctx, f"zebulon{i:03d}")]
            assert names == [f"Person{i:03d} Zebulon{i:03d}"]
            by_phone = search.search_contacts(ctx, f"7946 {i:04d}")
            assert [r.contact.display_name for r in by_phone] == names
        first, second = (r.contact for r in search.search_contacts(ctx, "margaret okafor"))
        found = duplicates.find_for_contact(ctx, first.id)
        assert [p.b.id for p in found] == [second.id]
