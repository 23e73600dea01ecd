"""`tenure demo`: load the demo workspace (or keep the one there is) and say how to use it."""

from __future__ import annotations

import time

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tenure.cli.runtime import console, err_console, handle_errors, session_scope
from tenure.config import get_settings
from tenure.services import demo


@handle_errors
def demo_command(
    seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives the same data."),
    replace: bool = typer.Option(
        False,
        "--replace/--keep",
        help="If a demo workspace exists: delete it and load a fresh one, or keep it (the "
        "default) and only print a new API token.",
    ),
) -> None:
    """Load a realistic demo workspace: an accounting firm with two years of client history."""
    started = time.perf_counter()
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    with progress, session_scope() as session:
        if demo.demo_exists(session) and not replace:
            result = demo.refresh_demo(session)
        else:
            task = progress.add_task("Replaying two years of history", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = demo.load_demo(session, seed=seed, replace=replace, progress=advance)
    _summary(result, time.perf_counter() - started)


def _summary(result: demo.DemoResult, seconds: float) -> None:
    settings = get_settings()
    base = f"http://{settings.host}:{settings.port}"
    if result.created:
        console.print(
            f"Loaded the demo workspace [bold]{result.name}[/bold] (slug [bold]{result.slug}"
            f"[/bold], seed {result.seed}) in {seconds:.1f} s.",
            highlight=False,
        )
    else:
        console.print(
            f"The demo workspace [bold]{result.name}[/bold] (slug [bold]{result.slug}[/bold]) "
            "already exists: kept it and made a new API token. "
            "Run `tenure demo --replace` to load it afresh.",
            highlight=False,
        )
    counts = result.counts
    table = Table(show_header=False, box=None, padding=(0, 2))
    for label, value in (
        ("contacts", counts.contacts),
        ("clients", counts.clients),
        ("former clients", counts.former_clients),
        ("reactivations", counts.reactivations),
        ("agreements", counts.agreements),
        ("interactions", counts.interactions),
        ("timeline events", counts.events),
    ):
        table.add_row(label, str(value))
    console.print(table)
    console.print(f"App:       {base}", soft_wrap=True, highlight=False)
    console.print(f"API docs:  {base}/api/docs", soft_wrap=True, highlight=False)
    console.print(f"Log in with password [bold]{result.password}[/bold] as:", highlight=False)
    logins = Table(show_header=False, box=None, padding=(0, 2))
    for member in result.members:
        logins.add_row(member.email, member.role.value, member.name)
    console.print(logins)
    console.print(
        f"API token: {result.token}  (for {result.owner_email}; shown once)",
        soft_wrap=True,
        highlight=False,
    )
    console.print("Try:", highlight=False)
    console.print(
        f'  curl -H "Authorization: Bearer {result.token}" "{base}/api/v1/contacts?stage=client"',
        soft_wrap=True,
        highlight=False,
        markup=False,
    )
