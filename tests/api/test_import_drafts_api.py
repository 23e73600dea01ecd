"""Discarding import drafts over HTTP (``DELETE /imports/{id}``) and their expiry by the
worker: the draft, its uploaded file and its dry runs go; started imports, other workspaces'
drafts and viewers are refused; and the upload's default batch size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tenure.db.models import AuditEntry, ImportFile, ImportJob
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.services.imports import drafts
from tenure.services.imports.jobs import ImportRequest
from tenure.worker.runner import Worker, WorkerConfig
from tests.api.helpers import ok, problem
from tests.api.test_imports_api import run_worker, upload
from tests.conftest import client_for

CSV = b"name,email\nAda Lovelace,ada@example.com\nGrace Hopper,grace@example.com\n"


def stage(tenant, *, now: datetime | None = None, filename: str = "people.csv") -> int:
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        if now is not None:
            ctx.now = now
        return drafts.stage(ctx, CSV, ImportRequest(), filename=filename, kind="contacts").id


def dry_run(tenant, draft_id: int) -> int:
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        return drafts.start(tenant.ctx(session), draft_id, dry_run=True).id


def imports_of(tenant) -> dict[int, str]:
    """id → status of the workspace's imports."""
    with tenant.db.session() as s:
        stmt = select(ImportJob.id, ImportJob.status).where(
            ImportJob.workspace_id == tenant.workspace_id
        )
        return dict(s.execute(stmt).all())


def files_of(tenant) -> list[int]:
    """The imports whose uploaded file is kept."""
    with tenant.db.session() as s:
        stmt = select(ImportFile.import_id).where(ImportFile.workspace_id == tenant.workspace_id)
        return sorted(s.scalars(stmt))


def test_a_draft_is_discarded_with_its_file_and_its_dry_runs(api, tenant) -> None:
    draft = stage(tenant)
    first, second = dry_run(tenant, draft), dry_run(tenant, draft)
    kept = stage(tenant, filename="other.csv")
    run_worker(tenant)
    assert ok(api.get(f"/imports/{first}"))["status"] == "done"
    assert files_of(tenant) == sorted([draft, first, second, kept])

    r = api.delete(f"/imports/{draft}")
    assert r.status_code == 204, r.text
    assert r.content == b""
    for gone in (draft, first, second):
        problem(api.get(f"/imports/{gone}"), 404)
    assert imports_of(tenant) == {kept: "pending"}
    assert files_of(tenant) == [kept]
    with tenant.db.session() as s:
        actions = s.scalars(
            select(AuditEntry.action).where(AuditEntry.workspace_id == tenant.workspace_id)
        ).all()
    assert "import.discarded" in actions
    problem(api.delete(f"/imports/{draft}"), 404)


def test_started_imports_cannot_be_discarded(api, tenant, monkeypatch) -> None:
    from tenure.services.imports import jobs as service

    uploaded = ok(upload(api, CSV, batch_size=1), 202)["id"]
    problem(api.delete(f"/imports/{uploaded}"), 409)  # enqueued, waiting for the worker
    monkeypatch.setattr(service, "STEP_ROWS", 1)  # the first step writes one row of two
    Worker(tenant.db.engine, WorkerConfig(worker_id="w-one", batch=1)).run_once()
    assert imports_of(tenant)[uploaded] == "running"
    problem(api.delete(f"/imports/{uploaded}"), 409)
    run_worker(tenant)
    assert imports_of(tenant)[uploaded] == "done"
    problem(api.delete(f"/imports/{uploaded}"), 409)

    draft = stage(tenant)
    dry = dry_run(tenant, draft)
    problem(api.delete(f"/imports/{draft}"), 409)  # its dry run has not run yet
    problem(api.delete(f"/imports/{dry}"), 409)  # a dry run is an import, not a draft
    run_worker(tenant)
    assert api.delete(f"/imports/{draft}").status_code == 204
    assert uploaded in imports_of(tenant) and uploaded in files_of(tenant)


def test_other_workspaces_and_viewers_cannot_discard(server, api, tenant, other_tenant) -> None:
    theirs = stage(other_tenant)
    ours = stage(tenant)
    problem(api.delete(f"/imports/{theirs}"), 404)
    problem(api.delete("/imports/987654"), 404)
    with client_for(server, tenant.member(Role.VIEWER).token) as viewer:
        problem(viewer.delete(f"/imports/{ours}"), 403)
    with client_for(server, None) as anonymous:
        problem(anonymous.delete(f"/imports/{ours}"), 401)
    assert imports_of(other_tenant) == {theirs: "pending"}
    assert files_of(other_tenant) == [theirs] and files_of(tenant) == [ours]


def test_drafts_not_started_within_a_week_expire(api, tenant, other_tenant, monkeypatch) -> None:
    from tenure.services.imports import jobs as service
    from tenure.services.imports.source import open_bytes
    from tenure.worker.handlers import imports as handlers

    now = datetime.now(UTC)
    old = now - timedelta(days=drafts.DRAFT_DAYS, minutes=1)
    stale = [stage(tenant, now=old, filename=f"old{i}.csv") for i in range(3)]
    with_dry_run = stage(tenant, now=old)
    dry = dry_run(tenant, with_dry_run)
    run_worker(tenant)  # the dry run is over: it goes with its draft
    fresh = stage(tenant, now=now - timedelta(days=drafts.DRAFT_DAYS - 1))
    theirs = stage(other_tenant, now=now - timedelta(days=drafts.DRAFT_DAYS - 1))
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        ctx.now = old
        # A CLI import interrupted before its first batch: pending, not a draft.
        unfinished = service.prepare(
            ctx, open_bytes(CSV), ImportRequest(), filename="cli.csv", sha256="0" * 64
        ).id
    monkeypatch.setattr(handlers, "EXPIRE_BATCH", 2)  # a chain of batches

    worker = Worker(tenant.db.engine, WorkerConfig(worker_id="w-expire"), clock=lambda: now)
    worker.tick()
    worker.run_until_idle()
    assert imports_of(tenant) == {fresh: "pending", unfinished: "pending"}
    assert files_of(tenant) == [fresh]
    assert imports_of(other_tenant) == {theirs: "pending"}
    for gone in (*stale, with_dry_run, dry):
        problem(api.get(f"/imports/{gone}"), 404)
    with tenant.db.session() as s:
        expired = s.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.workspace_id == tenant.workspace_id,
                AuditEntry.action == "import.expired",
            )
        )
    assert expired == 4


def test_an_upload_batches_as_the_engine_does_by_default(api, tenant) -> None:
    from tenure.services.imports.engine import DEFAULT_BATCH

    uploaded = ok(upload(api, CSV), 202)["id"]
    with tenant.db.session() as s:
        assert s.get(ImportJob, uploaded).options["batch_size"] == DEFAULT_BATCH == 2000
