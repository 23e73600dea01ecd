"""`tenure worker` and `tenure jobs …`"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

import typer
from rich.table import Table

from tenure.cli.runtime import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    print_json,
    workspace_ctx,
)
from tenure.config import get_settings
from tenure.db.engine import make_engine
from tenure.heap import freeze_startup_heap
from tenure.services import jobs
from tenure.worker.runner import Worker, WorkerConfig

jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)


def worker_command(
    once: bool = typer.Option(False, "--once", help="Run what is due, then exit."),
    batch: int = typer.Option(10, min=1, max=1000, help="Jobs claimed at a time."),
    lease: float = typer.Option(60.0, min=1.0, help="Seconds a claimed job is held."),
    poll: float = typer.Option(1.0, min=0.05, help="Seconds between polls when idle."),
    tick: float = typer.Option(60.0, min=0.1, help="Seconds between periodic-job ticks."),
) -> None:
    """Run background jobs (any number of workers, on any machine, against PostgreSQL)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = get_settings()
    engine = make_engine(settings.database_url, pool_size=2)
    worker = Worker(
        engine, WorkerConfig(lease_seconds=lease, poll_seconds=poll, batch=batch, tick_seconds=tick)
    )
    if settings.freeze_heap_at_start:
        freeze_startup_heap()
    try:
        if once:
            worker.tick()
            console.print(f"{worker.run_until_idle()} jobs run")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        worker.run(stop)
    finally:
        engine.dispose()


def job_dict(job: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "run_at": job.run_at,
        "key": job.key,
        "last_error": job.last_error,
        "payload": job.payload,
        "result": job.result,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


@jobs_app.command("list")
@handle_errors
def list_jobs(
    status: str = typer.Option(None, help="queued, running, done or dead"),
    limit: int = typer.Option(50, min=1, max=200),
    cursor: str = typer.Option(None),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Jobs, newest first (dead ones: `--status dead`)."""
    with workspace_ctx(workspace, write=False) as ctx:
        page = jobs.list_jobs(ctx, status=status, cursor=cursor, limit=limit)
        items = [job_dict(j) for j in page.items]
    if as_json:
        print_json({"items": items, "next_cursor": page.next_cursor})
        return
    table = Table("id", "kind", "status", "attempts", "run at", "error")
    for j in items:
        table.add_row(
            str(j["id"]),
            j["kind"],
            j["status"],
            f"{j['attempts']}/{j['max_attempts']}",
            j["run_at"].strftime("%Y-%m-%d %H:%M:%S"),
            j["last_error"][:60],
        )
    console.print(table)


@jobs_app.command("retry")
@handle_errors
def retry_job(job_id: int = typer.Argument(...), workspace: str = WorkspaceOption) -> None:
    """Put a dead job back in the queue."""
    with workspace_ctx(workspace) as ctx:
        jobs.retry(ctx, job_id)
    console.print(f"job {job_id} queued again")
