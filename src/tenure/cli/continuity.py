"""`tenure brief CONTACT`, `tenure health snapshot`"""

from __future__ import annotations

import dataclasses

import typer
from rich.markdown import Markdown

from tenure.cli.runtime import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    print_json,
    workspace_ctx,
)
from tenure.domain.brief import render_markdown
from tenure.services import brief, health

health_app = typer.Typer(help="Client health scores.", no_args_is_help=True)


@handle_errors
def brief_command(
    contact_id: int = typer.Argument(..., help="The contact's id."),
    raw: bool = typer.Option(False, "--markdown", help="Print the Markdown source."),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Everything to know before talking to this client."""
    with workspace_ctx(workspace, write=False) as ctx:
        result = brief.build(ctx, contact_id)
    if as_json:
        print_json(dataclasses.asdict(result))
    elif raw:
        typer.echo(render_markdown(result), nl=False)
    else:
        console.print(Markdown(render_markdown(result)))


@health_app.command("snapshot")
@handle_errors
def snapshot_command(workspace: str = WorkspaceOption) -> None:
    """Recompute every client's health and keep today's snapshot (run daily)."""
    with workspace_ctx(workspace) as ctx:
        count = health.snapshot_all(ctx)
    console.print(f"{count} clients scored")
