"""`tenure import vcard` / `tenure export vcard`: contacts as vCard 3.0 / 4.0."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tenure.cli.data import export_app, import_app
from tenure.cli.runtime import (
    JsonOption,
    WorkspaceOption,
    console,
    err_console,
    handle_errors,
    print_json,
    text_output,
    workspace_ctx,
)
from tenure.db.repositories.contacts import ContactFilter
from tenure.domain.errors import InvalidInput
from tenure.services import vcard

#: Problems printed after the summary (all of them are in --json).
SHOWN_PROBLEMS = 20


@import_app.command("vcard")
@handle_errors
def import_vcard(
    file: Path = typer.Argument(..., help="A .vcf file (vCard 2.1, 3.0 or 4.0)."),
    on_duplicate: str = typer.Option(
        "update",
        "--on-duplicate",
        help="A card that matches a contact (UID, email, phone): skip, update or create.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Report what would happen; write nothing."
    ),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Import the cards of a .vcf file as contacts; bad cards are reported, the others import."""
    try:
        text = vcard.decode_bytes(file.read_bytes())
    except OSError as exc:
        raise InvalidInput.one("file", "readable", f"{file}: {exc.strerror or exc}") from None
    with workspace_ctx(workspace) as ctx:
        report = vcard.import_vcards(ctx, text, on_duplicate=on_duplicate, dry_run=dry_run)
    if as_json:
        print_json(report.as_dict())
    else:
        _print_report(report)
    if report.failed:
        # Scripts can tell a partial import from a clean one.
        raise typer.Exit(1)


def _print_report(report: vcard.ImportReport) -> None:
    prefix = "dry run: would have " if report.dry_run else ""
    console.print(
        f"{prefix}{report.cards} cards: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.skipped} skipped, {report.failed} not imported"
        + (
            f"; {report.organizations_created} organizations created"
            if report.organizations_created
            else ""
        ),
        highlight=False,
    )
    if not report.problems:
        return
    table = Table("card", "name", "field", "value", "rule", "message")
    for p in report.problems[:SHOWN_PROBLEMS]:
        table.add_row(str(p.card), p.name, p.field, p.value, p.rule, p.message)
    console.print(table)
    if len(report.problems) > SHOWN_PROBLEMS:
        console.print(f"… and {len(report.problems) - SHOWN_PROBLEMS} more (see --json)")


@export_app.command("vcard")
@handle_errors
def export_vcard(
    contact: int = typer.Option(None, "--contact", help="Only this contact."),
    stage: str = typer.Option(None, help="contact, client or former_client"),
    tag: str = typer.Option(None),
    owner_id: int = typer.Option(None, "--owner-id"),
    kind: str = typer.Option(None, help="person or organization"),
    q: str = typer.Option(None, "--q", "-q", help="Search (one ranked page, as in the list)."),
    sort: str = typer.Option("name", help="As the list: name, -created, health …"),
    version: str = typer.Option("3.0", "--version", help="vCard 3.0 or 4.0."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Write to this file (default stdout)."
    ),
    workspace: str = WorkspaceOption,
) -> None:
    """Contacts as a .vcf file: one (--contact), or the list with its filters and sort."""
    vcard.check_version(version)
    count = 0
    with workspace_ctx(workspace, write=False) as ctx, text_output(output) as out:
        if contact is not None:
            out.write(vcard.export_contact(ctx, contact, version=version).text)
            count = 1
        else:
            filters = ContactFilter(stage=stage, tag=tag, owner_id=owner_id, kind=kind, q=q or None)
            for page in vcard.export_stream(ctx, filters=filters, version=version, sort=sort):
                out.write(page)
                count += page.count("BEGIN:VCARD\r\n")
    if output is not None:
        err_console.print(f"wrote {count} cards to {output}")
