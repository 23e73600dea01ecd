"""Automation job kinds: time-based rule evaluation and playbook steps."""

from __future__ import annotations

from typing import Any

from tenure.services import playbooks, rules
from tenure.services.context import Ctx
from tenure.worker.registry import handler


@handler(rules.TIME_KIND)
def evaluate_time_rules(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """Hourly: date, inactivity and recurrence triggers (catching up on what came due), in
    bounded batches: each job enqueues its own continuation."""
    return rules.evaluate_time_triggers(ctx, payload)


@handler(playbooks.STEP_KIND)
def playbook_step(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """One step of a playbook run, done once."""
    return playbooks.run_step(ctx, payload)
