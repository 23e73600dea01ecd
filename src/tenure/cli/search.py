"""`tenure search QUERY [--kind] [--json]` and `tenure search reindex [--workspace]`."""

from __future__ import annotations

from typing import Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from tenure.cli.runtime import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    print_json,
    session_scope,
    workspace_ctx,
)
from tenure.db.repositories import access as access_queries
from tenure.domain.search import DocumentKind
from tenure.services import search as search_service

#: How many contacts `tenure search QUERY` shows above the documents (without --kind).
CONTACTS_SHOWN = 5


class _QueryFirst(TyperGroup):
    """`tenure search WORDS …` runs the search; `tenure search reindex` the subcommand."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in {"--help", "-h"}:
            args = ["query", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_QueryFirst,
    help="Search contacts and what was said, known and asked; `reindex` rebuilds the index.",
    no_args_is_help=True,
)


def _contact_row(result: search_service.ContactResult) -> dict[str, Any]:
    c = result.contact
    return {
        "kind": "contact",
        "id": c.id,
        "contact_id": c.id,
        "title": c.display_name,
        "snippet": " · ".join(
            [
                c.kind,
                c.stage,
                *(e["email"] for e in c.emails[:1]),
                *(p["number"] for p in c.phones[:1]),
            ]
        ),
        "score": result.score,
        "matched": result.matched,
    }


def _document_row(result: search_service.SearchResult) -> dict[str, Any]:
    return {
        "kind": result.kind,
        "id": result.id,
        "contact_id": result.contact_id,
        "title": result.title,
        "snippet": result.snippet,
        "score": result.score,
    }


@app.command("query", hidden=True)
@handle_errors
def query_command(
    query: list[str] = typer.Argument(..., help="Words to look for."),
    kind: str = typer.Option(
        None, "--kind", help="contact, interaction, knowledge, note or case (default: all)."
    ),
    contact: int = typer.Option(None, "--contact", help="Only this contact's records."),
    limit: int = typer.Option(20, min=1, max=200),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Search: contacts first (name, email, phone, organization, tag), then interactions,
    knowledge, notes and cases, best first."""
    q = " ".join(query)
    with workspace_ctx(workspace, write=False) as ctx:
        rows: list[dict[str, Any]] = []
        if kind in (None, DocumentKind.CONTACT.value) and contact is None:
            shown = limit if kind else min(limit, CONTACTS_SHOWN)
            rows += [_contact_row(r) for r in search_service.search_contacts(ctx, q, limit=shown)]
        if kind != DocumentKind.CONTACT.value:
            found = search_service.search(ctx, q, kind=kind, contact_id=contact, limit=limit)
            rows += [_document_row(r) for r in found]
    if as_json:
        print_json({"items": rows})
        return
    if not rows:
        console.print("nothing found")
        return
    table = Table("kind", "id", "contact", "title", "snippet", "score")
    for row in rows:
        table.add_row(
            row["kind"],
            str(row["id"]),
            str(row["contact_id"] or ""),
            row["title"],
            row["snippet"].replace("[", "\\["),
            f"{row['score']:.2f}",
        )
    console.print(table)


@app.command("reindex")
@handle_errors
def reindex_command(
    workspace: str = typer.Option(
        None, "--workspace", "-w", help="Only this workspace (default: every workspace)."
    ),
) -> None:
    """Rebuild the search index and the duplicate keys from the records."""
    with session_scope(write=False) as session:
        slugs = (
            [workspace] if workspace else [w.slug for w in access_queries.all_workspaces(session)]
        )
    for slug in slugs:
        with (
            workspace_ctx(slug) as ctx,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed} records"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress,
        ):
            task = progress.add_task(f"reindexing {slug}", total=None)

            def advance(kind: str, count: int, task: Any = task, slug: str = slug) -> None:
                progress.update(task, advance=count, description=f"{slug}: {kind}")

            report = search_service.reindex(ctx, progress=advance)
        console.print(
            f"{slug}: {report.contacts} contacts and {report.documents} documents indexed"
        )
