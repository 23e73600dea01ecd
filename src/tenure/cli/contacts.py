"""`tenure contacts …` and `tenure timeline CONTACT`"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from tenure.cli.listing import add_show_command
from tenure.cli.runtime import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    print_json,
    workspace_ctx,
)
from tenure.db.models import Contact, TimelineEvent
from tenure.db.repositories.contacts import ContactFilter
from tenure.domain.lifecycle import tenure_days
from tenure.services import contacts as contact_service
from tenure.services import lifecycle, timeline
from tenure.services.context import Ctx

app = typer.Typer(help="Contacts and clients.", no_args_is_help=True)


def contact_dict(contact: Contact, today: Any) -> dict[str, Any]:
    return {
        "id": contact.id,
        "kind": contact.kind,
        "display_name": contact.display_name,
        "stage": contact.stage,
        "client_since": contact.client_since,
        "tenure_days": tenure_days(contact.closed_tenure_days, contact.client_since, today),
        "emails": contact.emails,
        "phones": contact.phones,
        "tags": contact.tags,
        "owner_id": contact.owner_id,
        "timezone": contact.timezone,
        "address": contact.address,
        "notes": contact.notes,
        "last_interaction_at": contact.last_interaction_at,
        "last_service_at": contact.last_service_at,
        "next_activity_at": contact.next_activity_at,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "version": contact.version,
    }


def event_dict(event: TimelineEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "summary": event.summary,
        "actor_id": event.actor_id,
        "data": event.data,
    }


@app.command("list")
@handle_errors
def list_command(
    stage: str = typer.Option(None, help="contact, client or former_client"),
    tag: str = typer.Option(None),
    q: str = typer.Option(None, "--q", "-q", help="Name, email or phone contains."),
    limit: int = typer.Option(50, min=1, max=200),
    cursor: str = typer.Option(None, help="Next page: the cursor the previous page printed."),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """List contacts, by name."""
    with workspace_ctx(workspace, write=False) as ctx:
        page = contact_service.list_contacts(
            ctx, filters=ContactFilter(stage=stage, tag=tag, q=q), cursor=cursor, limit=limit
        )
        items = [contact_dict(c, ctx.today) for c in page.items]
    if as_json:
        print_json({"items": items, "next_cursor": page.next_cursor})
        return
    table = Table("id", "name", "stage", "client since", "email", "tags")
    for c in items:
        table.add_row(
            str(c["id"]),
            c["display_name"],
            c["stage"],
            str(c["client_since"] or ""),
            c["emails"][0]["email"] if c["emails"] else "",
            ", ".join(c["tags"]),
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


def contact_details(ctx: Ctx, contact_id: int) -> dict[str, Any]:
    """One contact with its lifecycle history and the organizations it works at."""
    view = contact_service.get_contact(ctx, contact_id)
    data = contact_dict(view.contact, ctx.today)
    data["transitions"] = [
        {
            "from": t.from_stage,
            "to": t.to_stage,
            "effective_on": t.effective_on,
            "reason": t.reason,
            "evidence": f"{t.evidence_kind} {t.evidence_id}" if t.evidence_kind else None,
        }
        for t in lifecycle.transitions(ctx, contact_id)
    ]
    data["organizations"] = [
        {"organization_id": a.organization_id, "name": a.organization_name, "title": a.title}
        for a in view.affiliations
        if a.person_id == contact_id
    ]
    return data


def print_contact(data: dict[str, Any]) -> None:
    console.print(f"[bold]{data['display_name']}[/bold] ({data['kind']}, #{data['id']})")
    console.print(
        f"stage: {data['stage']}  client since: {data['client_since'] or '-'}  "
        f"tenure: {data['tenure_days']} days"
    )
    for e in data["emails"]:
        console.print(f"email: {e['email']}{' (primary)' if e['primary'] else ''}")
    for p in data["phones"]:
        console.print(f"phone: {p['number']}")
    if data["tags"]:
        console.print(f"tags: {', '.join(data['tags'])}")
    for o in data["organizations"]:
        console.print(f"works at: {o['name']} {('— ' + o['title']) if o['title'] else ''}")
    for t in data["transitions"]:
        console.print(
            f"  {t['effective_on']}: {t['from']} → {t['to']} {t['reason'] or t['evidence'] or ''}"
        )


# ``contact_details`` already gives the dict: ``to_dict`` only copies it.
add_show_command(
    app,
    argument="contact_id",
    get=contact_details,
    to_dict=dict,
    help="One contact with its lifecycle history.",
    render=print_contact,
)


@handle_errors
def timeline_command(
    contact_id: int = typer.Argument(..., help="The contact's id."),
    type: list[str] = typer.Option(None, "--type", help="Only these event types."),
    limit: int = typer.Option(50, min=1, max=200),
    cursor: str = typer.Option(None),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """A contact's timeline, newest first."""
    with workspace_ctx(workspace, write=False) as ctx:
        page = timeline.page(
            ctx, contact_id=contact_id, types=type or None, cursor=cursor, limit=limit
        )
        items = [event_dict(e) for e in page.items]
    if as_json:
        print_json({"items": items, "next_cursor": page.next_cursor})
        return
    table = Table("when", "event", "summary")
    for e in items:
        table.add_row(e["occurred_at"].strftime("%Y-%m-%d %H:%M"), e["type"], e["summary"])
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")
