"""CSV import of contacts through the engine, on the real database: the presets on real
exports, the dry run, the per-row report, duplicates, stage history and agreements, resume."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tenure.db.models import (
    Affiliation,
    Agreement,
    Contact,
    ExternalId,
    ImportJob,
    TimelineEvent,
    Transition,
)
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.lifecycle import tenure_days
from tenure.services.imports import jobs as imports
from tenure.services.imports.engine import ImportRun
from tenure.services.imports.source import open_bytes
from tests.api.helpers import workspace_rows

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def run_import(
    tenant: Any, content: bytes | str, *, stop_after: int | None = None, **options: Any
) -> dict[str, Any]:
    """Run an import as the CLI does: one transaction to start it, one per batch. Returns the
    import as committed (``stop_after`` batches, then stop as if killed)."""
    data = content.encode() if isinstance(content, str) else content
    opener = open_bytes(data)
    factory = session_factory(tenant.db.engine)
    with unit_of_work(factory) as session:
        ctx = tenant.ctx(session)
        ctx.now = NOW
        job, _ = imports.start_or_resume(
            ctx, opener, imports.ImportRequest(**options), filename="test.csv"
        )
        import_id = job.id
    with unit_of_work(factory) as session:
        ctx = tenant.ctx(session)
        ctx.now = NOW
        job = session.get_one(ImportJob, import_id)
        for batches, _ in enumerate(ImportRun(ctx, job, opener).batches(), 1):
            if not job.dry_run:
                session.commit()
            if stop_after is not None and batches >= stop_after:
                break
    with tenant.db.session() as session:
        job = session.get_one(ImportJob, import_id)
        return {
            "id": job.id,
            "status": job.status,
            "rows_done": job.rows_done,
            "counts": job.counts,
            "report": job.report,
        }


def count(tenant: Any, model: Any, *where: Any) -> int:
    with tenant.db.session() as session:
        stmt = (
            select(func.count())
            .select_from(model)
            .where(model.workspace_id == tenant.workspace_id, *where)
        )
        return session.scalar(stmt) or 0


def contact_named(tenant: Any, name: str) -> Contact:
    with tenant.db.session() as session:
        return session.scalars(
            select(Contact).where(
                Contact.workspace_id == tenant.workspace_id, Contact.display_name == name
            )
        ).one()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- presets on real exports ------------------------------------------------------------------


def test_google_export_imports_cleanly(tenant) -> None:
    result = run_import(tenant, fixture("google-contacts.csv"), preset="google", region="GB")
    assert result["status"] == "done"
    assert result["report"] == []
    assert result["counts"]["created"] == 4
    assert result["counts"]["organizations_created"] == 2
    margaret = contact_named(tenant, "Margaret Okafor")
    assert [e["email"] for e in margaret.emails] == [
        "margaret@okafordental.example",
        "maggie.okafor@mail.example",
    ]
    assert [p["number"] for p in margaret.phones] == ["+447700900123", "+441134960000"]
    assert margaret.tags == ["clients"]
    assert margaret.address == {
        "street": "12 Park Row",
        "city": "Leeds",
        "postal_code": "LS1 5HD",
        "country": "United Kingdom",
    }
    assert "Two sites" in margaret.notes
    harbour = contact_named(tenant, "Harbour Logistics Ltd")
    assert harbour.kind == "organization"
    dental = contact_named(tenant, "Okafor Dental Practice")
    assert (
        count(
            tenant,
            Affiliation,
            Affiliation.person_id == margaret.id,
            Affiliation.organization_id == dental.id,
        )
        == 1
    )
    priya = contact_named(tenant, "Priya Raman")
    assert priya.emails[0]["email"] == "priya.raman@clinic.example"
    assert priya.phones[0]["number"] == "+442079460018"  # (020) read as a GB number


def test_hubspot_export_imports_customers_as_clients(tenant) -> None:
    result = run_import(tenant, fixture("hubspot-contacts.csv"), preset="hubspot")
    assert result["report"] == []
    assert result["counts"]["created"] == 4
    assert result["counts"]["clients"] == 2
    alice = contact_named(tenant, "Alice Nakamura")
    assert (alice.stage, alice.client_since) == ("client", date(2023, 3, 1))
    chloe = contact_named(tenant, "Chloé Martin")
    assert (chloe.stage, chloe.client_since) == ("client", date(2022, 1, 5))
    assert contact_named(tenant, "Ben Adeyemi").stage == "contact"
    with tenant.db.session() as session:
        ids = session.execute(
            select(ExternalId.source, ExternalId.external_id).where(
                ExternalId.workspace_id == tenant.workspace_id
            )
        ).all()
        agreement = session.scalars(select(Agreement).where(Agreement.contact_id == alice.id)).one()
    assert sorted(ids) == [
        ("hubspot", "51"),
        ("hubspot", "52"),
        ("hubspot", "53"),
        ("hubspot", "54"),
    ]
    assert (agreement.status, agreement.starts_on) == ("active", date(2023, 3, 1))


def test_salesforce_export_imports_with_ids_and_accounts(tenant) -> None:
    result = run_import(tenant, fixture("salesforce-contacts.csv"), preset="salesforce")
    assert result["report"] == []
    assert result["counts"]["created"] == 3
    hannah = contact_named(tenant, "Hannah Schulz")
    assert [p["number"] for p in hannah.phones] == ["+4930901820", "+4915123456789"]
    assert hannah.address["city"] == "Berlin"
    assert count(tenant, ExternalId, ExternalId.source == "salesforce") == 3
    org = contact_named(tenant, "Schulz & Partner GmbH")
    assert count(tenant, Affiliation, Affiliation.organization_id == org.id) == 1


def test_preset_is_suggested_from_the_header(tenant) -> None:
    result = run_import(tenant, fixture("hubspot-contacts.csv"))
    assert result["counts"]["created"] == 4
    assert count(tenant, ExternalId, ExternalId.source == "hubspot") == 4


# --- dry run ---------------------------------------------------------------------------------

GENERIC = (
    "name,email,phone,client_since,ended_on,end_reason,agreement_value,agreement_currency\n"
    "Ada Lovelace,ada@example.com,+44 20 7946 0001,2024-01-10,,,1200.50,GBP\n"
    "Grace Hopper,not-an-email,,,,,,\n"
    "Alan Turing,alan@example.com,,2023-05-01,2025-02-01,Price,,\n"
    ",nobody,,,,,,\n"
)


def test_dry_run_writes_nothing_but_reports_what_would_happen(tenant) -> None:
    before = workspace_rows(tenant.db.engine, tenant.workspace_id)
    result = run_import(tenant, GENERIC, dry_run=True)
    after = workspace_rows(tenant.db.engine, tenant.workspace_id)
    changed = {t for t in before.keys() | after.keys() if before.get(t) != after.get(t)}
    # Only the import itself (with its report) and the audit entry of starting it.
    assert changed == {"imports", "audit_log"}
    assert result["status"] == "done"
    assert result["counts"]["created"] == 2
    assert result["counts"]["invalid"] == 2
    assert result["counts"]["clients"] == 2
    assert result["counts"]["ended"] == 1
    assert count(tenant, Contact) == 0


# --- the per-row report ------------------------------------------------------------------------


def test_report_names_row_column_value_and_rule(tenant) -> None:
    csv = (
        "name,email,client_since,ended_on,end_reason,agreement_currency,agreement_value\n"
        "Ada,ada@example.com,2024-13-01,,,,\n"
        "Bob,bob@@example.com,,,,,\n"
        "Cy,cy@example.com,2024-01-01,2024-06-01,bored,,\n"
        "Di,di@example.com,2024-01-01,,,XYZ,10\n"
        "Ed,ed@example.com,2030-01-01,,,,\n"
        "Flo,flo@example.com,,2024-01-01,,,\n"
    )
    result = run_import(tenant, csv)
    found = {(p["row"], p["column"], p["value"], p["rule"]) for p in result["report"]}
    assert found == {
        (2, "client_since", "2024-13-01", "date"),
        (3, "email", "bob@@example.com", "email"),
        (4, "end_reason", "bored", "choice"),
        (5, "agreement_currency", "XYZ", "currency"),
        (6, "client_since", "2030-01-01", "not-future"),
        (7, "ended_on", "2024-01-01", "needs-client-since"),
        (7, "end_reason", "", "required"),
    }
    assert result["counts"]["invalid"] == 6
    assert count(tenant, Contact) == 0


# --- duplicates --------------------------------------------------------------------------------


def _seed(tenant) -> None:
    run_import(
        tenant,
        "name,email,phone,external_id\nAda Lovelace,ada@example.com,+442079460001,A-1\n",
    )


@pytest.mark.parametrize(
    ("row", "by"),
    [
        ("Ada L,ada@example.com,,", "email"),
        ("Ada L,,+44 20 7946 0001,", "phone"),
        ("Ada L,,,A-1", "external_id"),
    ],
)
def test_duplicate_skip(tenant, row: str, by: str) -> None:
    _seed(tenant)
    result = run_import(tenant, f"name,email,phone,external_id\n{row}\n", on_duplicate="skip")
    assert result["counts"].get("skipped") == 1
    assert result["report"][0]["rule"] == "duplicate"
    assert count(tenant, Contact) == 1
    assert contact_named(tenant, "Ada Lovelace").version == 1


@pytest.mark.parametrize(
    ("row", "by"),
    [
        ("Ada King,ada@example.com,+44 20 7946 0002,", "email"),
        ("Ada King,ada.k@example.com,+44 20 7946 0001,", "phone"),
        ("Ada King,ada.k@example.com,,A-1", "external_id"),
    ],
)
def test_duplicate_update(tenant, row: str, by: str) -> None:
    _seed(tenant)
    result = run_import(tenant, f"name,email,phone,external_id\n{row}\n", on_duplicate="update")
    assert result["counts"].get("updated") == 1, result
    assert count(tenant, Contact) == 1
    ada = contact_named(tenant, "Ada King")
    emails = [e["email"] for e in ada.emails]
    assert "ada@example.com" in emails
    assert len(ada.phones) >= 1


def test_duplicate_create_by_phone_makes_a_second_contact(tenant) -> None:
    _seed(tenant)
    result = run_import(tenant, "name,phone\nAda Twin,+44 20 7946 0001\n", on_duplicate="create")
    assert result["counts"].get("created") == 1
    assert count(tenant, Contact) == 2


def test_duplicate_create_cannot_reuse_a_unique_email(tenant) -> None:
    _seed(tenant)
    result = run_import(tenant, "name,email\nAda Twin,ada@example.com\n", on_duplicate="create")
    assert result["counts"].get("invalid") == 1
    assert result["report"][0]["rule"] == "unique"
    assert result["report"][0]["column"] == "email"
    assert count(tenant, Contact) == 1


def test_rows_of_one_file_that_are_the_same_contact_are_one(tenant) -> None:
    csv = "name,email\nAda,ada@example.com\nAda again,ADA@example.com\n"
    result = run_import(tenant, csv, batch_size=10)
    assert (result["counts"]["created"], result["counts"]["skipped"]) == (1, 1)
    assert count(tenant, Contact) == 1


# --- stage history and agreements -------------------------------------------------------------


def test_stage_history_gives_stage_client_since_and_tenure(tenant) -> None:
    csv = (
        "name,email,client_since,ended_on,end_reason,agreement_title,agreement_kind,"
        "agreement_value,agreement_currency\n"
        'Ada,ada@example.com,2024-01-10,,,Retainer,subscription,"1,200.50",GBP\n'
        "Alan,alan@example.com,2023-05-01,2025-02-01,No longer needed,,,,\n"
    )
    result = run_import(tenant, csv)
    assert result["report"] == [] and result["counts"]["clients"] == 2
    ada = contact_named(tenant, "Ada")
    assert (ada.stage, ada.client_since) == ("client", date(2024, 1, 10))
    assert (
        tenure_days(ada.closed_tenure_days, ada.client_since, date(2026, 12, 1))
        == (date(2026, 12, 1) - date(2024, 1, 10)).days
    )
    alan = contact_named(tenant, "Alan")
    assert (alan.stage, alan.client_since) == ("former_client", None)
    assert alan.closed_tenure_days == (date(2025, 2, 1) - date(2023, 5, 1)).days
    with tenant.db.session() as session:
        agreement = session.scalars(select(Agreement).where(Agreement.contact_id == ada.id)).one()
        ended = session.scalars(select(Agreement).where(Agreement.contact_id == alan.id)).one()
        moves = session.execute(
            select(Transition.to_stage, Transition.effective_on, Transition.reason)
            .where(Transition.contact_id == alan.id)
            .order_by(Transition.id)
        ).all()
        types = set(
            session.scalars(select(TimelineEvent.type).where(TimelineEvent.contact_id == alan.id))
        )
    assert (agreement.title, agreement.kind, agreement.status) == (
        "Retainer",
        "subscription",
        "active",
    )
    assert (agreement.value_minor, agreement.currency) == (120050, "GBP")
    assert (ended.status, ended.ended_on, ended.end_reason) == (
        "ended",
        date(2025, 2, 1),
        "no_longer_needed",
    )
    assert moves == [
        ("client", date(2023, 5, 1), None),
        ("former_client", date(2025, 2, 1), "no_longer_needed"),
    ]
    assert {
        "contact.created",
        "agreement.confirmed",
        "contact.converted",
        "relationship.ended",
    } <= types


# --- resume ------------------------------------------------------------------------------------


def _people(n: int) -> str:
    return "name,email\n" + "".join(f"Person {i},p{i}@example.com\n" for i in range(n))


def test_an_interrupted_import_resumes_without_duplicates(tenant) -> None:
    content = _people(25)
    first = run_import(tenant, content, batch_size=10, stop_after=1)
    assert (first["status"], first["rows_done"]) == ("running", 10)
    assert count(tenant, Contact) == 10
    second = run_import(tenant, content, batch_size=10)
    assert second["id"] == first["id"]
    assert (second["status"], second["rows_done"]) == ("done", 25)
    assert second["counts"]["created"] == 25
    assert count(tenant, Contact) == 25
    # Done: the same file again is a new import, whose rows are all duplicates.
    third = run_import(tenant, content, batch_size=10)
    assert third["id"] != first["id"]
    assert third["counts"]["skipped"] == 25
