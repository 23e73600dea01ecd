"""`tenure agenda`, `tenure schedules …`, `tenure activities …`, `tenure deliveries …`,
`tenure cases …`"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from tenure.cli.listing import CursorOption, LimitOption, add_show_command, cell, print_page
from tenure.cli.runtime import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    print_json,
    workspace_ctx,
)
from tenure.config import get_settings
from tenure.db.models import Activity, Case, Delivery, Schedule
from tenure.db.repositories.scheduling import ActivityFilter, CaseFilter, DeliveryFilter
from tenure.services import activities, cases, deliveries, schedules

schedules_app = typer.Typer(help="Recurring schedules (service plans).", no_args_is_help=True)
activities_app = typer.Typer(
    help="Tasks, calls, meetings, appointments, visits.", no_args_is_help=True
)
deliveries_app = typer.Typer(help="Service deliveries.", no_args_is_help=True)
cases_app = typer.Typer(help="Support cases.", no_args_is_help=True)


def activity_dict(a: Activity) -> dict[str, Any]:
    return {
        "id": a.id,
        "kind": a.kind,
        "title": a.title,
        "contact_id": a.contact_id,
        "assignee_id": a.assignee_id,
        "at": a.at,
        "due_at": a.due_at,
        "start_at": a.start_at,
        "end_at": a.end_at,
        "timezone": a.timezone,
        "status": a.status,
        "origin": a.origin,
        "schedule_id": a.schedule_id,
        "location": a.location,
        "notes": a.notes,
        "version": a.version,
    }


def delivery_dict(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "title": d.title,
        "contact_id": d.contact_id,
        "status": d.status,
        "service_id": d.service_id,
        "assignee_id": d.assignee_id,
        "scheduled_start": d.scheduled_start,
        "scheduled_end": d.scheduled_end,
        "actual_start": d.actual_start,
        "actual_end": d.actual_end,
        "outcome_notes": d.outcome_notes,
        "schedule_id": d.schedule_id,
        "version": d.version,
    }


def case_dict(c: Case) -> dict[str, Any]:
    return {
        "id": c.id,
        "contact_id": c.contact_id,
        "subject": c.subject,
        "priority": c.priority,
        "status": c.status,
        "assignee_id": c.assignee_id,
        "opened_at": c.opened_at,
        "first_response_at": c.first_response_at,
        "resolved_at": c.resolved_at,
        "closed_at": c.closed_at,
        "version": c.version,
    }


def schedule_dict(s: Schedule) -> dict[str, Any]:
    return {
        "id": s.id,
        "contact_id": s.contact_id,
        "title": s.title,
        "produces": s.produces,
        "rrule": s.rrule,
        "dtstart_local": s.dtstart_local,
        "timezone": s.timezone,
        "exdates": s.exdates,
        "status": s.status,
        "assignee_id": s.assignee_id,
        "materialized_until": s.materialized_until,
        "version": s.version,
    }


@handle_errors
def agenda_command(
    member: int = typer.Option(None, "--member", help="A member's user id (default: everyone)."),
    timezone: str = typer.Option(None, "--timezone", help="IANA zone (default: workspace)."),
    days: int = typer.Option(7, min=0, max=366, help="Upcoming range in days."),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """What is overdue, due today and upcoming."""
    with workspace_ctx(workspace, write=False) as ctx:
        view = activities.agenda(ctx, assignee_id=member, timezone=timezone, days=days)
        data = {
            name: {
                "activities": [activity_dict(a) for a in getattr(view.activities, name)],
                "deliveries": [delivery_dict(d) for d in getattr(view.deliveries, name)],
            }
            for name in ("overdue", "today", "upcoming")
        }
    if as_json:
        print_json({"timezone": view.timezone, **data})
        return
    for name in ("overdue", "today", "upcoming"):
        table = Table("when (UTC)", "what", "title", "contact", title=f"{name} ({view.timezone})")
        for a in data[name]["activities"]:
            table.add_row(cell(a["at"]), a["kind"], a["title"], str(a["contact_id"] or ""))
        for d in data[name]["deliveries"]:
            table.add_row(cell(d["scheduled_start"]), "delivery", d["title"], str(d["contact_id"]))
        console.print(table)


@schedules_app.command("extend")
@handle_errors
def extend_command(
    horizon_days: int = typer.Option(
        None, "--horizon-days", min=1, max=3660, help="Default: TENURE_SCHEDULE_HORIZON_DAYS (90)."
    ),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Materialize every active schedule's occurrences up to the horizon (idempotent)."""
    horizon = horizon_days or get_settings().schedule_horizon_days
    with workspace_ctx(workspace) as ctx:
        result = schedules.extend_all(ctx, horizon_days=horizon)
    if as_json:
        print_json(result)
    else:
        console.print(
            f"{result['schedules']} schedules extended to {horizon} days: "
            f"{result['occurrences']} new occurrences"
        )


@schedules_app.command("list")
@handle_errors
def list_schedules(
    contact: int = typer.Option(None, "--contact"),
    status: str = typer.Option(None, help="active or stopped"),
    limit: int = LimitOption,
    cursor: str = CursorOption,
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Recurring schedules, newest first."""
    with workspace_ctx(workspace, write=False) as ctx:
        page = schedules.list_schedules(
            ctx, contact_id=contact, status=status, cursor=cursor, limit=limit
        )
        items = [schedule_dict(s) for s in page.items]
    print_page(
        items,
        page.next_cursor,
        as_json,
        ("id", "contact_id", "title", "produces", "rrule", "dtstart_local", "status"),
    )


add_show_command(
    schedules_app, argument="schedule_id", get=schedules.get_schedule, to_dict=schedule_dict
)


@activities_app.command("list")
@handle_errors
def list_activities(
    contact: int = typer.Option(None, "--contact"),
    member: int = typer.Option(None, "--member"),
    status: str = typer.Option(None, help="open, done or cancelled"),
    limit: int = LimitOption,
    cursor: str = CursorOption,
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Activities by time, soonest first."""
    with workspace_ctx(workspace, write=False) as ctx:
        page = activities.list_activities(
            ctx,
            filters=ActivityFilter(contact_id=contact, assignee_id=member, status=status),
            cursor=cursor,
            limit=limit,
        )
        items = [activity_dict(a) for a in page.items]
    print_page(
        items, page.next_cursor, as_json, ("id", "at", "kind", "title", "contact_id", "status")
    )


add_show_command(
    activities_app, argument="activity_id", get=activities.get_activity, to_dict=activity_dict
)


@deliveries_app.command("list")
@handle_errors
def list_deliveries(
    contact: int = typer.Option(None, "--contact"),
    status: str = typer.Option(None),
    limit: int = LimitOption,
    cursor: str = CursorOption,
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Service deliveries, newest first."""
    with workspace_ctx(workspace, write=False) as ctx:
        page = deliveries.list_deliveries(
            ctx,
            filters=DeliveryFilter(contact_id=contact, status=status),
            cursor=cursor,
            limit=limit,
        )
        items = [delivery_dict(d) for d in page.items]
    print_page(
        items, page.next_cursor, as_json, ("id", "scheduled_start", "title", "contact_id", "status")
    )


add_show_command(
    deliveries_app, argument="delivery_id", get=deliveries.get_delivery, to_dict=delivery_dict
)


@cases_app.command("list")
@handle_errors
def list_cases(
    status: str = typer.Option(None),
    priority: str = typer.Option(None),
    contact: int = typer.Option(None, "--contact"),
    limit: int = LimitOption,
    cursor: str = CursorOption,
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """The case queue, newest first."""
    with workspace_ctx(workspace, write=False) as ctx:
        page = cases.list_cases(
            ctx,
            filters=CaseFilter(contact_id=contact, status=status, priority=priority),
            cursor=cursor,
            limit=limit,
        )
        items = [case_dict(c) for c in page.items]
    print_page(
        items,
        page.next_cursor,
        as_json,
        ("id", "opened_at", "priority", "status", "subject", "contact_id"),
    )


add_show_command(cases_app, argument="case_id", get=cases.get_case, to_dict=case_dict)
