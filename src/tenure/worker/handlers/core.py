"""Core job kinds: periodic upkeep, event dispatch, and the generic "create an activity"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tenure.domain.activities import ActivityKind, ActivityOrigin
from tenure.services import activities, automation, health, schedules, workspace_settings
from tenure.services.context import Ctx
from tenure.worker.registry import handler


@handler("health.snapshot")
def health_snapshot(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    return {"clients": health.snapshot_all(ctx)}


@handler("schedules.extend")
def schedules_extend(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    horizon = int(payload.get("horizon_days") or workspace_settings.read(ctx).schedule_horizon_days)
    return schedules.extend_all(ctx, horizon_days=horizon)


@handler("test.noop")
def noop(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """Does nothing (used to check the engine itself)."""
    return {"echo": payload.get("value")}


@handler("activity.create")
def create_activity(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """Create a task (or other activity) for a contact: automation's most common effect."""
    due = ctx.now + timedelta(days=float(payload.get("due_in_days", 0)))
    kind = ActivityKind(payload.get("kind", "task"))
    timed = kind is not ActivityKind.TASK and payload.get("duration_minutes")
    activity = activities.create_activity(
        ctx,
        kind=kind,
        title=str(payload["title"]),
        contact_id=payload.get("contact_id"),
        assignee_id=payload.get("assignee_id"),
        due_at=None if timed else due,
        start_at=due if timed else None,
        end_at=due + timedelta(minutes=int(payload["duration_minutes"])) if timed else None,
        notes=str(payload.get("notes", "")),
        allow_overlap=True,
        origin=ActivityOrigin.AUTOMATION,
    )
    return {"activity_id": activity.id}


@handler(automation.DISPATCH_KIND)
def dispatch_event(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """Hand one timeline event to the rules and the webhooks."""
    return automation.dispatch(ctx, int(payload["event_id"]))
