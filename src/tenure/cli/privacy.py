"""Personal-data access and erasure of a contact, and the audit log, from the CLI.

``tenure contacts personal-data ID [-o FILE]``, ``tenure contacts erase ID --yes`` (registered on
the contacts group here) and ``tenure audit`` (registered on the root app in ``cli.main``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from tenure.cli.contacts import app as contacts_app
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
from tenure.db.repositories.privacy import checkpoint_wal
from tenure.services import audit as audit_service
from tenure.services import privacy


def _write_private(path: Path, content: str) -> None:
    """A copy of someone's personal data: readable by the operator only (mode 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(content)


@contacts_app.command("personal-data")
@handle_errors
def personal_data_command(
    contact_id: int = typer.Argument(..., help="The contact's id."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the JSON to this file."),
    workspace: str = WorkspaceOption,
) -> None:
    """Everything stored about a contact, as JSON (a GDPR access / portability request)."""
    with workspace_ctx(workspace, write=False) as ctx:
        data = privacy.personal_data(ctx, contact_id)
    content = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    if output is None:
        typer.echo(content, nl=False)
        return
    _write_private(output, content)
    kinds = sum(len(rows) for rows in data["records"].values())
    console.print(
        f"Wrote contact {contact_id} and {kinds} related records to {output}", markup=False
    )


@contacts_app.command("erase")
@handle_errors
def erase_command(
    contact_id: int = typer.Argument(..., help="The contact's id."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Erase a contact's personal data everywhere, irreversibly (GDPR Art. 17)."""
    if not yes:
        typer.confirm(
            f"Erase every personal datum of contact {contact_id}? This cannot be undone",
            abort=True,
        )
    with workspace_ctx(workspace) as ctx:
        result = privacy.erase(ctx, contact_id)
    # SQLite: copy the committed erasure out of the write-ahead log into the database file, so
    # the old page images there are overwritten (best effort: a reader can hold it back).
    engine = make_engine(get_settings().database_url, pool_size=1)
    try:
        checkpoint_wal(engine)
    finally:
        engine.dispose()
    data = {
        "contact_id": result.contact_id,
        "erased_at": result.erased_at.isoformat(),
        "merged_ids": result.merged_ids,
        "counts": result.counts,
    }
    if as_json:
        print_json(data)
        return
    touched = sum(result.counts.values())
    merged = f" and merged contacts {result.merged_ids}" if result.merged_ids else ""
    console.print(
        f"Erased contact {contact_id}{merged}: {touched} rows redacted or deleted", markup=False
    )


def _entry(entry: Any, emails: dict[int, str]) -> dict[str, Any]:
    return {
        "id": entry.id,
        "created_at": entry.created_at.isoformat(),
        "action": entry.action,
        "actor_id": entry.actor_id,
        "actor_email": emails.get(entry.actor_id) if entry.actor_id is not None else None,
        "source": entry.source,
        "ip": entry.ip,
        "details": entry.details,
    }


@handle_errors
def audit_command(
    action: str = typer.Option(None, "--action", help="Only this action (login.failed …)."),
    limit: int = typer.Option(50, min=1, max=200),
    cursor: str = typer.Option(None, help="Continue after this cursor (from --json)."),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """The audit log, newest first: logins, tokens, roles, settings, exports, erasures."""
    with workspace_ctx(workspace, write=False) as ctx:
        page = audit_service.entries(ctx, action=action, cursor=cursor, limit=limit)
        emails = audit_service.actor_emails(ctx, page.items)
        items = [_entry(e, emails) for e in page.items]
    if as_json:
        print_json({"items": items, "next_cursor": page.next_cursor})
        return
    table = Table("when", "action", "who", "source", "ip", "details")
    for item in items:
        who = item["actor_email"] or (f"#{item['actor_id']}" if item["actor_id"] else "-")
        cells = (
            item["created_at"][:19],
            item["action"],
            who,
            item["source"],
            item["ip"] or "-",
            json.dumps(item["details"], ensure_ascii=False),
        )
        table.add_row(*(Text(c) for c in cells))  # data, never markup
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")
