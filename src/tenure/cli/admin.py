"""`tenure workspace …`, `tenure token …`, `tenure user …`"""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.table import Table

from tenure.cli.runtime import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    print_json,
    session_scope,
    workspace_ctx,
)
from tenure.domain.access import Role
from tenure.services import access, rules
from tenure.services.context import Ctx

workspace_app = typer.Typer(help="Workspaces (one per business).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
user_app = typer.Typer(help="Members of a workspace.", no_args_is_help=True)


@workspace_app.command("create")
@handle_errors
def create_workspace(
    name: str = typer.Option(..., "--name", help="The business's name."),
    owner_email: str = typer.Option(..., "--owner-email", help="The owner's email (login)."),
    password: str = typer.Option(None, "--password", help="The owner's password (8+ chars)."),
    slug: str = typer.Option(None, "--slug", help="Short name used by the CLI; from the name."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA time zone, like Europe/London."),
    default_automation: bool = typer.Option(
        True,
        "--default-automation/--no-default-automation",
        help="Install the shipped rules and onboarding playbook (editable, disable-able).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Create a workspace and its owner, with the default automation unless told otherwise."""
    installed: list[str] = []
    with session_scope() as session:
        workspace, user = access.create_workspace(
            session,
            name=name,
            owner_email=owner_email,
            owner_password=password,
            slug=slug,
            timezone=timezone,
        )
        if default_automation:
            # In the same transaction: a workspace never exists half set up.
            ctx = Ctx(
                session=session,
                workspace_id=workspace.id,
                user_id=user.id,
                role=Role.OWNER,
                source="cli",
                workspace_timezone=workspace.timezone,
            )
            installed = rules.install_defaults(ctx)["installed"]
    if as_json:
        print_json(
            {
                "id": workspace.id,
                "slug": workspace.slug,
                "owner_id": user.id,
                "default_automation": installed,
            }
        )
        return
    console.print(f"created workspace [bold]{workspace.slug}[/bold] (owner {user.email})")
    if installed:
        console.print(f"default automation: {', '.join(installed)} (see `tenure rules list`)")


@workspace_app.command("list")
@handle_errors
def list_workspaces(as_json: bool = JsonOption) -> None:
    """All workspaces of this installation."""
    from tenure.db.repositories.access import all_workspaces

    with session_scope(write=False) as session:
        rows: list[dict[str, Any]] = [
            {"id": w.id, "slug": w.slug, "name": w.name, "timezone": w.timezone}
            for w in all_workspaces(session)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "slug", "name", "timezone")
    for r in rows:
        table.add_row(str(r["id"]), r["slug"], r["name"], r["timezone"])
    console.print(table)


@token_app.command("create")
@handle_errors
def create_token(
    email: str = typer.Option(..., "--email", help="The member the token acts as."),
    name: str = typer.Option("", "--name", help="What the token is for."),
    workspace: str = WorkspaceOption,
) -> None:
    """Create an API token; prints only the token (shown once, stored hashed)."""
    with session_scope() as session:
        ws = access.resolve_workspace(session, workspace)
        user, _ = access.user_in_workspace(session, ws, email)
        new = access.create_token(session, workspace_id=ws.id, user_id=user.id, name=name)
    sys.stdout.write(new.secret + "\n")


@token_app.command("revoke")
@handle_errors
def revoke_token(
    token_id: int = typer.Argument(..., help="The token's id (see `tenure token list`)."),
    workspace: str = WorkspaceOption,
) -> None:
    """Revoke a token: it stops working at once."""
    with workspace_ctx(workspace) as ctx:
        access.revoke_token(ctx, token_id)
    console.print(f"token {token_id} revoked")


@token_app.command("list")
@handle_errors
def list_tokens(workspace: str = WorkspaceOption, as_json: bool = JsonOption) -> None:
    """Tokens of the workspace (never their secrets)."""
    with workspace_ctx(workspace, write=False) as ctx:
        tokens = access.list_tokens(ctx)
        rows: list[dict[str, Any]] = [
            {
                "id": t.id,
                "user_id": t.user_id,
                "name": t.name,
                "prefix": t.prefix,
                "created_at": t.created_at,
                "last_used_at": t.last_used_at,
                "revoked_at": t.revoked_at,
            }
            for t in tokens
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "user", "name", "prefix", "last used", "revoked")
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["user_id"]),
            r["name"],
            r["prefix"] + "…",
            str(r["last_used_at"] or ""),
            str(r["revoked_at"] or ""),
        )
    console.print(table)


@user_app.command("add")
@handle_errors
def add_user(
    email: str = typer.Option(..., "--email"),
    role: Role = typer.Option(Role.MEMBER, "--role"),
    name: str = typer.Option("", "--name"),
    password: str = typer.Option(None, "--password", help="8+ characters, for the web login."),
    workspace: str = WorkspaceOption,
) -> None:
    """Add a member to a workspace."""
    with workspace_ctx(workspace) as ctx:
        membership, user = access.add_member(
            ctx, email=email, role=role, name=name, password=password
        )
    console.print(f"{user.email} is now {membership.role} (user id {user.id})")


@user_app.command("list")
@handle_errors
def list_users(workspace: str = WorkspaceOption, as_json: bool = JsonOption) -> None:
    """Members and their roles."""
    with workspace_ctx(workspace, write=False) as ctx:
        rows: list[dict[str, Any]] = [
            {"user_id": u.id, "email": u.email, "name": u.name, "role": m.role}
            for m, u in access.list_members(ctx)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("user id", "email", "name", "role")
    for r in rows:
        table.add_row(str(r["user_id"]), r["email"], r["name"], r["role"])
    console.print(table)
