"""`tenure export workspace|contacts|timeline`, `tenure import archive`: archives and CSV."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import typer

from tenure.cli.data import export_app, import_app
from tenure.cli.runtime import (
    JsonOption,
    WorkspaceOption,
    console,
    err_console,
    handle_errors,
    print_json,
    session_scope,
    text_output,
    workspace_ctx,
)
from tenure.db.repositories.contacts import ContactFilter
from tenure.domain.access import Role
from tenure.domain.errors import InvalidInput
from tenure.domain.health import band_range
from tenure.services import access, exports
from tenure.services.context import Ctx

OutputOption = typer.Option(None, "--output", "-o", help="Write to this file (default stdout).")


def _report(path: Path | None, rows: int) -> None:
    if path is not None:
        err_console.print(f"wrote {rows} rows to {path}")


@export_app.command("contacts")
@handle_errors
def export_contacts(
    stage: str = typer.Option(None, help="contact, client or former_client"),
    tag: str = typer.Option(None),
    owner_id: int = typer.Option(None, "--owner-id"),
    kind: str = typer.Option(None, help="person or organization"),
    q: str = typer.Option(None, "--q", "-q", help="Search (one ranked page, as in the list)."),
    health_band: str = typer.Option(None, "--health-band", help="at_risk, watch or healthy"),
    touch_overdue: bool = typer.Option(False, "--touch-overdue"),
    renewal_within_days: int = typer.Option(None, "--renewal-within-days", min=0, max=3660),
    sort: str = typer.Option("name", help="As the list: name, -created, health …"),
    output: Path = OutputOption,
    workspace: str = WorkspaceOption,
) -> None:
    """The contact list as CSV, with the list's filters and sort."""
    if health_band and health_band not in ("at_risk", "watch", "healthy"):
        raise InvalidInput.one("health_band", "choice", "must be at_risk, watch or healthy")
    with workspace_ctx(workspace, write=False) as ctx, text_output(output) as out:
        filters = ContactFilter(
            stage=stage,
            tag=tag,
            owner_id=owner_id,
            kind=kind,
            q=q or None,
            health=band_range(health_band) if health_band else None,
            touch_due_before=ctx.today if touch_overdue else None,
            renewal_between=(ctx.today, ctx.today + timedelta(days=renewal_within_days))
            if renewal_within_days is not None
            else None,
        )
        rows = exports.contacts_csv(ctx, out, filters=filters, sort=sort)
    _report(output, rows)


@export_app.command("timeline")
@handle_errors
def export_timeline(
    contact_id: int = typer.Argument(..., help="The contact's id."),
    output: Path = OutputOption,
    workspace: str = WorkspaceOption,
) -> None:
    """One contact's timeline as CSV, newest first."""
    with workspace_ctx(workspace, write=False) as ctx, text_output(output) as out:
        rows = exports.timeline_csv(ctx, out, contact_id=contact_id)
    _report(output, rows)


@export_app.command("workspace")
@handle_errors
def export_workspace(
    output: Path = typer.Option(..., "--output", "-o", help="The archive to write (.zip)."),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """The whole workspace as a versioned archive (zip of JSON Lines; no secrets)."""
    partial = output.with_name(output.name + ".partial")
    try:
        with workspace_ctx(workspace, write=False) as ctx, partial.open("wb") as out:
            manifest = exports.write_archive(ctx, out)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    if as_json:
        print_json({"file": str(output), **manifest})
        return
    total = sum(manifest["counts"].values())
    console.print(f"wrote {output}: {total} records of {len(manifest['counts'])} tables")


@import_app.command("archive")
@handle_errors
def import_archive(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A workspace archive."),
    name: str = typer.Option(..., "--name", help="The new workspace's name."),
    slug: str = typer.Option(..., "--slug", help="The new workspace's short name."),
    owner_email: str = typer.Option(..., "--owner-email", help="Its owner (matched by email)."),
    as_json: bool = JsonOption,
) -> None:
    """Create a workspace and fill it from an archive: all or nothing."""
    with session_scope() as session, file.open("rb") as source:
        workspace, _owner = access.create_workspace(
            session, name=name, owner_email=owner_email, slug=slug
        )
        ctx = Ctx(
            session=session,
            workspace_id=workspace.id,
            user_id=None,
            role=Role.OWNER,
            source="cli",
            workspace_timezone=workspace.timezone,
        )
        report = exports.import_archive(ctx, source)
    if as_json:
        print_json({"workspace": slug, **report.__dict__})
        return
    total = sum(report.counts.values())
    console.print(
        f"imported {total} records into [bold]{slug}[/bold] "
        f"({report.members_added} members, {report.users_created} new users without a password: "
        "invite them to set one)"
    )
