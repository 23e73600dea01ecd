"""`tenure webhooks list|deliveries`"""

from __future__ import annotations

from datetime import datetime
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
from tenure.db.models import WebhookDelivery, WebhookSubscription
from tenure.services import webhooks

app = typer.Typer(help="Webhook subscriptions and their delivery log.", no_args_is_help=True)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def subscription_dict(s: WebhookSubscription) -> dict[str, Any]:
    """Never the secret: it was shown once, at creation."""
    return {
        "id": s.id,
        "url": s.url,
        "event_types": s.event_types,
        "description": s.description,
        "active": s.active,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
        "version": s.version,
    }


def delivery_dict(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "subscription_id": d.subscription_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "webhook_id": d.webhook_id,
        "status": d.status,
        "attempts": d.attempts,
        "response_status": d.response_status,
        "last_error": d.last_error,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
    }


@app.command("list")
@handle_errors
def list_command(
    active: bool = typer.Option(None, "--active/--inactive", help="Only active or inactive."),
    limit: int = typer.Option(50, min=1, max=200),
    cursor: str = typer.Option(None),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Webhook subscriptions (never their secrets)."""
    with workspace_ctx(workspace, write=False) as ctx:
        page = webhooks.list_subscriptions(ctx, active=active, cursor=cursor, limit=limit)
        items = [subscription_dict(s) for s in page.items]
    if as_json:
        print_json({"items": items, "next_cursor": page.next_cursor})
        return
    table = Table("id", "url", "event types", "active", "description")
    for s in items:
        table.add_row(
            str(s["id"]),
            s["url"],
            ", ".join(s["event_types"]),
            "yes" if s["active"] else "no",
            s["description"][:40],
        )
    console.print(table)


@app.command("deliveries")
@handle_errors
def deliveries_command(
    subscription_id: int = typer.Argument(None, help="A subscription's id (default: all)."),
    status: str = typer.Option(None, help="pending, delivered, failed or dead"),
    limit: int = typer.Option(50, min=1, max=200),
    cursor: str = typer.Option(None),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """The delivery log, newest first (`--status dead` for those that ran out of attempts)."""
    with workspace_ctx(workspace, write=False) as ctx:
        page = webhooks.list_deliveries(
            ctx, subscription_id=subscription_id, status=status, cursor=cursor, limit=limit
        )
        items = [delivery_dict(d) for d in page.items]
    if as_json:
        print_json({"items": items, "next_cursor": page.next_cursor})
        return
    table = Table("id", "webhook", "event", "webhook-id", "status", "tries", "HTTP", "error")
    for d in items:
        table.add_row(
            str(d["id"]),
            str(d["subscription_id"]),
            d["event_type"],
            d["webhook_id"],
            d["status"],
            str(d["attempts"]),
            str(d["response_status"] or ""),
            d["last_error"][:50],
        )
    console.print(table)
