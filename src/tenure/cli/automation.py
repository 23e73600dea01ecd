"""`tenure rules …` and `tenure playbooks …`"""

from __future__ import annotations

import json
from pathlib import Path
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
from tenure.db.models import Playbook, Rule, RuleRun
from tenure.domain import rules as rule_domain
from tenure.domain.errors import DomainError, InvalidInput
from tenure.services import playbooks, rules

rules_app = typer.Typer(help="Automation rules.", no_args_is_help=True)
playbooks_app = typer.Typer(help="Playbooks (sequences of steps per client).", no_args_is_help=True)


def _summary(rule: Rule) -> str:
    try:
        return rule_domain.describe_trigger(rule_domain.parse_trigger(rule.trigger))
    except DomainError:
        return json.dumps(rule.trigger)


def rule_dict(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "description": rule.description,
        "enabled": rule.enabled,
        "trigger": rule.trigger,
        "when": _summary(rule),
        "conditions": rule.conditions,
        "actions": rule.actions,
        "owner_id": rule.owner_id,
        "builtin": rule.builtin,
        "evaluated_until": rule.evaluated_until,
        "version": rule.version,
    }


def run_dict(run: RuleRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "rule_id": run.rule_id,
        "trigger_key": run.trigger_key,
        "contact_id": run.contact_id,
        "event_id": run.event_id,
        "outcome": run.outcome,
        "effects": run.effects,
        "error": run.error,
        "created_at": run.created_at,
    }


def playbook_dict(playbook: Playbook) -> dict[str, Any]:
    return {
        "id": playbook.id,
        "name": playbook.name,
        "description": playbook.description,
        "enabled": playbook.enabled,
        "steps": playbook.steps,
        "builtin": playbook.builtin,
        "version": playbook.version,
    }


@rules_app.command("list")
@handle_errors
def list_rules(
    enabled: bool = typer.Option(None, "--enabled/--disabled", help="Only enabled or disabled."),
    limit: int = typer.Option(200, min=1, max=200),
    cursor: str = typer.Option(None),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """The workspace's rules, oldest first."""
    with workspace_ctx(workspace, write=False) as ctx:
        page = rules.list_rules(ctx, enabled=enabled, cursor=cursor, limit=limit)
        items = [rule_dict(r) for r in page.items]
    if as_json:
        print_json({"items": items, "next_cursor": page.next_cursor})
        return
    table = Table("id", "name", "enabled", "when", "actions", "default")
    for r in items:
        table.add_row(
            str(r["id"]),
            r["name"],
            "yes" if r["enabled"] else "no",
            r["when"],
            ", ".join(a["type"] for a in r["actions"]),
            r["builtin"] or "",
        )
    console.print(table)


@rules_app.command("show")
@handle_errors
def show_rule(
    rule_id: int,
    runs: int = typer.Option(10, min=0, max=200, help="How many recent runs to show."),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """One rule, with its most recent runs."""
    with workspace_ctx(workspace, write=False) as ctx:
        data = rule_dict(rules.get_rule(ctx, rule_id))
        recent = (
            [run_dict(r) for r in rules.list_runs(ctx, rule_id=rule_id, limit=runs).items]
            if runs
            else []
        )
    if as_json:
        print_json({**data, "runs": recent})
        return
    console.print(f"[bold]{data['name']}[/bold] (rule {data['id']}, version {data['version']})")
    console.print(f"when: {data['when']}; {'enabled' if data['enabled'] else 'disabled'}")
    console.print(f"if: {json.dumps(data['conditions']) if data['conditions'] else 'always'}")
    for action in data["actions"]:
        console.print(f"do: {json.dumps(action)}", highlight=False)
    if recent:
        table = Table("run", "at", "contact", "outcome", "what", title="recent runs")
        for run in recent:
            what = run["error"] or ", ".join(e.get("type", "") for e in run["effects"])
            table.add_row(
                str(run["id"]),
                run["created_at"].strftime("%Y-%m-%d %H:%M"),
                str(run["contact_id"] or ""),
                run["outcome"],
                what,
            )
        console.print(table)


def _read_draft(path: Path) -> dict[str, Any]:
    try:
        draft = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInput.one("file", "json", f"cannot read a rule from {path}: {exc}") from None
    if not isinstance(draft, dict):
        raise InvalidInput.one("file", "json", "a rule is a JSON object")
    return draft


@rules_app.command("simulate")
@handle_errors
def simulate_rule(
    rule_id: int = typer.Argument(None, help="A saved rule (or give --file)."),
    file: Path = typer.Option(
        None, "--file", "-f", help="An unsaved rule as JSON: {trigger, conditions, actions}."
    ),
    limit: int = typer.Option(50, min=1, max=200),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """What a rule would do on the current data. Changes nothing."""
    if (rule_id is None) == (file is None):
        raise typer.BadParameter("give a rule id or --file, not both")
    with workspace_ctx(workspace, write=False) as ctx:
        if file is not None:
            answer = rules.simulate(ctx, draft=_read_draft(file), limit=limit)
        else:
            answer = rules.simulate(ctx, rule_id, limit=limit)
    if as_json:
        print_json(answer)
        return
    console.print(
        f"[bold]{answer['name']}[/bold]: {answer['description']} — "
        f"{answer['would_fire']} would fire, {answer['would_fail']} would fail, "
        f"{answer['skipped']} skipped, {answer['already_fired']} already fired",
        highlight=False,
    )
    table = Table("contact", "occurrence", "outcome", "what")
    for item in answer["items"]:
        what = (
            item["error"]
            or "; ".join(item["reasons"])
            or ", ".join(a.get("title") or a.get("tag") or a["type"] for a in item["actions"])
        )
        table.add_row(item["contact_name"] or "", item["trigger_key"], item["outcome"], what)
    console.print(table)
    if answer["truncated"]:
        console.print(f"(showing {len(answer['items'])}; use --limit or --json)")


@rules_app.command("install-defaults")
@handle_errors
def install_defaults(workspace: str = WorkspaceOption, as_json: bool = JsonOption) -> None:
    """Add the shipped default rules and onboarding playbook that are missing (never twice)."""
    with workspace_ctx(workspace) as ctx:
        result = rules.install_defaults(ctx)
    if as_json:
        print_json(result)
        return
    for name in result["installed"]:
        console.print(f"installed {name}")
    for name in result["present"]:
        console.print(f"already there: {name}")


@playbooks_app.command("list")
@handle_errors
def list_playbooks(
    limit: int = typer.Option(200, min=1, max=200),
    cursor: str = typer.Option(None),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """The workspace's playbooks and their steps."""
    with workspace_ctx(workspace, write=False) as ctx:
        page = playbooks.list_playbooks(ctx, cursor=cursor, limit=limit)
        items = [playbook_dict(p) for p in page.items]
    if as_json:
        print_json({"items": items, "next_cursor": page.next_cursor})
        return
    table = Table("id", "name", "enabled", "steps", "default")
    for p in items:
        steps = ", ".join(f"day {s['day']}: {s['name']}" for s in p["steps"])
        table.add_row(
            str(p["id"]), p["name"], "yes" if p["enabled"] else "no", steps, p["builtin"] or ""
        )
    console.print(table)
