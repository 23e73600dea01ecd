"""Core job kinds: periodic upkeep, event dispatch, and the generic "create an activity"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tenure.domain.activities import ActivityKind, ActivityOrigin
from tenure.services import activities, automation, health, schedules, workspace_settings
from tenure.services.context import Ctx
from tenure.worker.periodic import continue_chain, period_of
from tenure.worker.registry import handler

#: Clients per health batch: one batch (one job, one write transaction) stays well under
#: ~100 ms on SQLite at 40k clients; see the worker tests and the issue's measurements.
HEALTH_BATCH = 10
#: Schedules per extension batch (each may materialize several occurrences).
SCHEDULES_BATCH = 20


@handler("health.snapshot")
def health_snapshot(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """Daily, in batches of clients by id; each batch enqueues the next one."""
    period = period_of(ctx, payload)
    after = int(payload.get("after") or 0)
    scored, more = health.snapshot_batch(ctx, after_id=after, limit=HEALTH_BATCH)
    if more is not None:
        continue_chain(ctx, "health.snapshot", period, str(more), {"after": more})
    return {"clients": scored, "after": after, "more": more is not None}


@handler("schedules.extend")
def schedules_extend(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """Daily, in batches of schedules by id; each batch enqueues the next one."""
    period = period_of(ctx, payload)
    horizon = int(payload.get("horizon_days") or workspace_settings.read(ctx).schedule_horizon_days)
    after = int(payload.get("after") or 0)
    counts, more = schedules.extend_batch(
        ctx, horizon_days=horizon, after_id=after, limit=SCHEDULES_BATCH
    )
    if more is not None:
        rest = {"after": more, "horizon_days": horizon}
        continue_chain(ctx, "schedules.extend", period, str(more), rest)
    return {**counts, "after": after, "more": more is not None}


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
