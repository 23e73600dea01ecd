"""/imports over HTTP: upload, the durable job a worker runs, status and report; roles,
workspaces, and malformed files (a clear 422, never a 500)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tenure.db.models import Contact, Job
from tenure.domain.access import Role
from tenure.services.imports import jobs as service
from tenure.worker.runner import Worker, WorkerConfig
from tests.api.helpers import invalid, ok, problem, walk
from tests.conftest import client_for

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"


def upload(
    api: httpx.Client, content: bytes, name: str = "contacts.csv", **form: Any
) -> httpx.Response:
    data = {
        k: (
            json.dumps(v)
            if isinstance(v, dict)
            else str(v).lower()
            if isinstance(v, bool)
            else str(v)
        )
        for k, v in form.items()
    }
    return api.post("/imports", files={"file": (name, content, "text/csv")}, data=data)


def run_worker(tenant) -> int:
    return Worker(tenant.db.engine, WorkerConfig(worker_id="w-imports")).run_until_idle()


def contacts_in(tenant) -> int:
    with tenant.db.session() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(Contact)
                .where(Contact.workspace_id == tenant.workspace_id)
            )
            or 0
        )


def test_upload_runs_as_a_job_and_reports(api, tenant) -> None:
    content = (FIXTURES / "hubspot-contacts.csv").read_bytes()
    started = ok(upload(api, content, preset="hubspot"), 202)
    assert started["status"] == "pending"
    assert (started["preset"], started["encoding"], started["delimiter"]) == (
        "hubspot",
        "utf-8",
        ",",
    )
    assert contacts_in(tenant) == 0
    assert run_worker(tenant) >= 1
    done = ok(api.get(f"/imports/{started['id']}"))
    assert done["status"] == "done"
    assert done["rows_done"] == 4
    assert done["counts"]["created"] == 4
    assert done["counts"]["clients"] == 2
    assert done["report"] == []
    assert contacts_in(tenant) == 8  # four people and their four companies


def test_a_large_upload_runs_in_steps_and_dry_run_writes_no_contacts(
    api, tenant, monkeypatch
) -> None:
    rows = "".join(f"Person {i},p{i}@example.com\n" for i in range(30))
    content = ("name,email\n" + rows).encode()
    dry = ok(upload(api, content, dry_run=True, batch_size=7), 202)
    run_worker(tenant)
    dry = ok(api.get(f"/imports/{dry['id']}"))
    assert (dry["status"], dry["dry_run"], dry["counts"]["created"]) == ("done", True, 30)
    assert contacts_in(tenant) == 0
    monkeypatch.setattr(service, "STEP_ROWS", 10)  # three steps of two batches each
    real = ok(upload(api, content, batch_size=5), 202)
    run_worker(tenant)
    real = ok(api.get(f"/imports/{real['id']}"))
    assert (real["status"], real["rows_done"], real["counts"]["created"]) == ("done", 30, 30)
    assert contacts_in(tenant) == 30
    with tenant.db.session() as s:
        steps = s.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.kind == "import.run", Job.payload["import_id"].as_integer() == real["id"])
        )
    assert steps == 3


def test_list_is_keyset_paginated_newest_first(api, tenant) -> None:
    ids = [ok(upload(api, f"name\nP{i}\n".encode()), 202)["id"] for i in range(3)]
    items, pages = walk(api, "/imports", limit=2)
    assert [i["id"] for i in items] == sorted(ids, reverse=True)
    assert pages == 2
    assert all(i["report"] == [] for i in items)


def test_viewer_cannot_import_but_can_read(server, tenant, api) -> None:
    started = ok(upload(api, b"name\nAda\n"), 202)
    with client_for(server, None) as anonymous:
        problem(anonymous.get("/imports"), 401)
        problem(upload(anonymous, b"name\nAda\n"), 401)
    with client_for(server, tenant.member(Role.VIEWER).token) as viewer:
        problem(upload(viewer, b"name\nAda\n"), 403)
        assert ok(viewer.get(f"/imports/{started['id']}"))["id"] == started["id"]


def test_another_workspaces_import_is_not_found(server, api, other_tenant) -> None:
    started = ok(upload(api, b"name\nAda\n"), 202)
    with client_for(server, other_tenant.owner.token) as other:
        problem(other.get(f"/imports/{started['id']}"), 404)
        items, _ = walk(other, "/imports")
        assert items == []


@pytest.mark.parametrize(
    ("content", "form", "expected"),
    [
        (os.urandom(4096) + b"\x00\x01", {}, {"file": "binary"}),
        (b"", {}, {"file": "empty"}),
        (b"  \n\n", {}, {"file": "empty"}),
        (b"ada@example.com,Ada Lovelace\ngrace@example.com,Grace\n", {}, {"file": "header"}),
        (
            b"name,email\nAda,ada@example.com\n",
            {"mapping": {"given_name": "First"}},
            {"mapping.given_name": "column"},
        ),
        (b"name,email\nAda,ada@example.com\n", {"mapping": "{not json"}, {"mapping": "json"}),
        (b"name,email\nAda,ada@example.com\n", {"preset": "outlook"}, {"preset": "choice"}),
        (
            b"name,email\nAda,ada@example.com\n",
            {"on_duplicate": "merge"},
            {"on_duplicate": "literal_error"},
        ),
        (b"name,email\nAda,ada@example.com\n", {"kind": "deals"}, {"kind": "literal_error"}),
        (b"city\nLeeds\n", {}, {"mapping": "required"}),
    ],
)
def test_malformed_uploads_are_clear_422s(
    api, tenant, content: bytes, form: dict[str, Any], expected: dict[str, str]
) -> None:
    if isinstance(form.get("mapping"), str):
        r = api.post("/imports", files={"file": ("x.csv", content, "text/csv")}, data=form)
    else:
        r = upload(api, content, **form)
    assert invalid(r) == expected
    assert ok(api.get("/imports"))["items"] == []


def test_missing_file_is_a_422(api) -> None:
    assert "file" in invalid(api.post("/imports", data={"kind": "contacts"}))


def test_latin1_and_semicolons_are_detected(api, tenant) -> None:
    content = "Name;E-mail;City\nJosé Müller;jose@example.com;Köln\n".encode("latin-1")
    started = ok(
        upload(api, content, mapping={"display_name": "Name", "emails": "E-mail", "city": "City"}),
        202,
    )
    assert started["delimiter"] == ";"
    assert started["encoding"].lower().replace("_", "-") in {
        "latin-1",
        "iso-8859-1",
        "cp1252",
        "windows-1252",
        "iso8859-1",
        "cp1250",
    }
    run_worker(tenant)
    done = ok(api.get(f"/imports/{started['id']}"))
    assert done["counts"]["created"] == 1, done
    with tenant.db.session() as s:
        contact = s.scalars(
            select(Contact).where(Contact.workspace_id == tenant.workspace_id)
        ).one()
    assert (contact.display_name, contact.address) == ("José Müller", {"city": "Köln"})
