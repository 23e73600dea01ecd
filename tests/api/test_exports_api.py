"""Exports over HTTP: the contact list and a timeline as CSV, the workspace archive (download,
import, refusals), roles, workspace isolation and the audit rows."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from tenure.db.models import AuditEntry, Contact, Membership, User
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.activities import ActivityKind
from tenure.domain.cases import CaseAction, CasePriority
from tenure.domain.contacts import ContactKind
from tenure.services import activities, cases, contacts, deliveries, interactions, rules
from tests.conftest import Database, Tenant, client_for, make_tenant

from .helpers import create_contact, ok, problem, walk


def rows_of(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(r.text)))


def bulk_contacts(db: Database, tenant: Tenant, n: int) -> list[int]:
    """n people in one unit of work (through the service: lookup rows, search documents)."""
    ids = []
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        for i in range(n):
            view = contacts.create_contact(
                ctx,
                kind=ContactKind.PERSON,
                display_name=f"Person {i:04d} ünï",
                tags=["even"] if i % 2 == 0 else [],
            )
            ids.append(view.contact.id)
    return ids


def audit_actions(db: Database, workspace_id: int) -> list[tuple[str, int | None, dict[str, Any]]]:
    with db.session() as s:
        rows = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.workspace_id == workspace_id)
            .order_by(AuditEntry.id)
        ).all()
        return [(r.action, r.actor_id, r.details) for r in rows]


def test_contacts_csv_streams_every_row_once_with_the_lists_filters_and_sort(
    api, db, tenant
) -> None:
    ids = bulk_contacts(db, tenant, 450)  # three internal pages of 200
    every = rows_of(api.get("/contacts.csv"))
    assert len(every) == 450
    assert sorted(int(r["id"]) for r in every) == sorted(ids)
    assert [r["display_name"] for r in every] == sorted(r["display_name"] for r in every)

    listed, _ = walk(api, "/contacts", tag="even", sort="-created", limit=200)
    even = rows_of(api.get("/contacts.csv", params={"tag": "even", "sort": "-created"}))
    assert [int(r["id"]) for r in even] == [c["id"] for c in listed]
    assert len(even) == 225 and all(r["tags"] == "even" for r in even)

    found = rows_of(api.get("/contacts.csv", params={"q": "Person 0007"}))
    assert found[0]["display_name"] == "Person 0007 ünï"
    problem(api.get("/contacts.csv", params={"stage": "nope"}), 422)
    problem(api.get("/contacts.csv", params={"q": "a\x00"}), 422)
    assert [a for a, _, _ in audit_actions(db, tenant.workspace_id)].count("contacts.exported") == 3


def test_formulas_are_neutralized_and_unicode_kept(api) -> None:
    create_contact(
        api, display_name='=HYPERLINK("http://evil")', tags=["@risk"], notes="+1 call back"
    )
    create_contact(api, display_name="Zoë 東京")
    rows = rows_of(api.get("/contacts.csv"))
    by_name = {r["display_name"]: r for r in rows}
    evil = by_name['\'=HYPERLINK("http://evil")']
    assert evil["tags"] == "'@risk" and evil["notes"] == "'+1 call back"
    assert "Zoë 東京" in by_name


def test_timeline_csv_and_isolation(api, db, server, tenant, other_tenant) -> None:
    contact = create_contact(api, display_name="Ada")
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        interactions.log_interaction(
            ctx,
            contact["id"],
            channel=interactions.Channel.CALL,
            direction=interactions.Direction.OUTBOUND,
            subject="-minus subject",
        )
    rows = rows_of(api.get(f"/contacts/{contact['id']}/timeline.csv"))
    assert [r["type"] for r in rows] == ["interaction.logged", "contact.created"]
    assert rows[0]["summary"].startswith(("Call", "'")) and rows[0]["data"].startswith("{")
    listed = api.get(f"/contacts/{contact['id']}/timeline", params={"limit": 200}).json()
    assert [int(r["id"]) for r in rows] == [e["id"] for e in listed["items"]]

    with client_for(server, other_tenant.owner.token) as other:
        problem(other.get(f"/contacts/{contact['id']}/timeline.csv"), 404)
        assert rows_of(other.get("/contacts.csv")) == []
    problem(api.get("/contacts/99999999999/timeline.csv"), 404)
    problem(api.get("/contacts/abc/timeline.csv"), 422)
    # The contact route is not shadowed.
    assert ok(api.get(f"/contacts/{contact['id']}"))["display_name"] == "Ada"


def test_roles_viewer_reads_csv_but_only_owners_and_admins_take_the_archive(
    server, db, tenant
) -> None:
    with client_for(server, tenant.owner.token) as owner:
        contact = create_contact(owner, display_name="Ada")
    for role in (Role.VIEWER, Role.MEMBER):
        with client_for(server, tenant.member(role).token) as c:
            assert len(rows_of(c.get("/contacts.csv"))) == 1
            assert rows_of(c.get(f"/contacts/{contact['id']}/timeline.csv"))
            problem(c.get("/archive"), 403, "forbidden")
            problem(
                c.post("/archive", content=b"PK", headers={"content-type": "application/zip"}),
                403,
                "forbidden",
            )
    with client_for(server, tenant.member(Role.ADMIN).token) as admin:
        r = admin.get("/archive")
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with client_for(server, None) as anonymous:
        problem(anonymous.get("/contacts.csv"), 401)
        problem(anonymous.get("/archive"), 401)


def test_archive_downloads_imports_into_an_empty_workspace_and_is_audited(
    api, server, db, tenant
) -> None:
    create_contact(api, display_name="Zoë O'Brien", tags=["vip"])
    create_contact(api, display_name="Acme Ltd", kind="organization")
    r = api.get("/archive")
    assert r.status_code == 200
    assert 'filename="tenure-' in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert "manifest.json" in zf.namelist() and "tables/contacts.jsonl" in zf.namelist()

    # Into this (non-empty) workspace: refused with a clear problem, nothing written.
    busy = problem(
        api.post("/archive", content=r.content, headers={"content-type": "application/zip"}), 409
    )
    assert "empty workspace" in busy["detail"]

    fresh = make_tenant(db, "fresh")
    with unit_of_work(session_factory(db.engine)) as session:
        rules.install_defaults(fresh.ctx(session))  # a new workspace's shipped automation
    with client_for(server, fresh.owner.token) as c:
        bad = problem(
            c.post("/archive", content=b"not a zip", headers={"content-type": "application/zip"}),
            422,
        )
        assert bad["errors"][0]["field"] == "archive"
        assert c.get("/contacts").json()["items"] == []
        done = c.post("/archive", files={"file": ("a.zip", r.content, "application/zip")})
        assert done.status_code == 201, done.text
        assert done.json()["counts"]["contacts"] == 2
        names = sorted(x["display_name"] for x in c.get("/contacts").json()["items"])
        assert names == ["Acme Ltd", "Zoë O'Brien"]
        assert c.get("/contacts", params={"q": "zoe"}).json()["items"]  # reindexed
        assert c.get("/rules").json()["items"] == []  # the archive's automation (none)
    with db.session() as s:
        assert s.scalar(
            select(Contact.id).where(Contact.workspace_id == tenant.workspace_id).limit(1)
        )
    exported = [a for a in audit_actions(db, tenant.workspace_id) if a[0] == "workspace.exported"]
    assert exported and exported[0][1] == tenant.owner.user_id
    imported = [a for a in audit_actions(db, fresh.workspace_id) if a[0] == "workspace.imported"]
    assert imported and imported[0][2]["counts"]["contacts"] == 2


def test_an_admin_importing_cannot_make_owners(server, db, tenant) -> None:
    with client_for(server, tenant.owner.token) as owner:
        create_contact(owner, display_name="Ada")
        data = owner.get("/archive").content
    fresh = make_tenant(db, "fresh")
    with client_for(server, fresh.member(Role.ADMIN).token) as admin:
        r = admin.post("/archive", content=data, headers={"content-type": "application/zip"})
        assert r.status_code == 201, r.text
        assert r.json()["roles_lowered"] == 1
    with db.session() as s:
        rows = s.execute(
            select(User.email, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == fresh.workspace_id)
        ).all()
    members = dict(rows)
    assert members[tenant.owner.email] == "admin"
    assert members[fresh.owner.email] == "owner"


def test_activities_cases_and_deliveries_as_csv_with_their_filters(api, server, db, tenant) -> None:
    ada = create_contact(api, display_name="Ada")
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        for i in range(3):
            activities.create_activity(
                ctx,
                kind=ActivityKind.TASK,
                title=f"=task {i}",
                contact_id=ada["id"],
                due_at=ctx.now + timedelta(days=i + 1),
            )
        first = cases.open_case(ctx, ada["id"], subject="Printer 🖨")
        cases.open_case(ctx, ada["id"], subject="Wi-Fi", priority=CasePriority.HIGH)
        cases.move(ctx, first.id, CaseAction.RESOLVE, note="ok")
        deliveries.create_delivery(ctx, ada["id"], title="Visit")
    with client_for(server, tenant.member(Role.VIEWER).token) as viewer:
        tasks = rows_of(viewer.get("/activities.csv", params={"contact_id": ada["id"]}))
        assert [r["title"] for r in tasks] == ["'=task 0", "'=task 1", "'=task 2"]
        assert "workspace_id" not in tasks[0] and tasks[0]["status"] == "open"
        listed = viewer.get("/cases", params={"status": "open"}).json()["items"]
        open_cases = rows_of(viewer.get("/cases.csv", params={"status": "open"}))
        assert [int(r["id"]) for r in open_cases] == [c["id"] for c in listed]
        assert [r["subject"] for r in open_cases] == ["Wi-Fi"]
        assert len(rows_of(viewer.get("/cases.csv"))) == 2
        assert [r["title"] for r in rows_of(viewer.get("/deliveries.csv"))] == ["Visit"]
        problem(viewer.get("/activities.csv", params={"status": "bogus"}), 422)
        problem(viewer.get("/deliveries.csv", params={"start": "2025-01-01T00:00"}), 422)
    actions = [a for a, _, _ in audit_actions(db, tenant.workspace_id)]
    assert {"activities.exported", "cases.exported", "deliveries.exported"} <= set(actions)


def test_bad_uploads_and_odd_filters_are_clear_errors(server, db) -> None:
    fresh = make_tenant(db, "fresh")
    with client_for(server, fresh.owner.token) as c:
        assert problem(c.post("/archive", content=b""), 422)["errors"][0]["field"] == "archive"
        no_file = c.post("/archive", files={"other": ("x.txt", b"x", "text/plain")})
        assert problem(no_file, 422)["errors"][0]["field"] == "file"
        assert rows_of(c.get("/contacts.csv", params={"owner_id": 2**70})) == []
        problem(c.get("/contacts.csv", params={"health_band": "great"}), 422)
        problem(c.get("/contacts.csv", params={"renewal_within_days": 99999}), 422)
        problem(c.get("/contacts.csv", params={"sort": "bogus"}), 422)
