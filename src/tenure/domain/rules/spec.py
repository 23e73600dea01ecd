"""A whole rule (trigger, conditions, actions checked together) and loop protection."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tenure.domain.errors import FieldError, InvalidInput
from tenure.domain.rules._fields import is_int
from tenure.domain.rules.actions import collect_actions
from tenure.domain.rules.conditions import check_conditions
from tenure.domain.rules.triggers import (
    TIME_TRIGGERS,
    EventTrigger,
    Trigger,
    collect_trigger,
    trigger_json,
)


@dataclass(frozen=True)
class RuleSpec:
    """A validated rule's trigger, conditions and actions, normalized for storage."""

    trigger: Trigger
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]

    @property
    def trigger_json(self) -> dict[str, Any]:
        return trigger_json(self.trigger)

    @property
    def event_type(self) -> str | None:
        return self.trigger.event if isinstance(self.trigger, EventTrigger) else None

    @property
    def is_time_based(self) -> bool:
        return self.trigger.type in TIME_TRIGGERS


def check_rule(
    trigger: Any, conditions: Any, actions: Any, *, default_timezone: str = "UTC"
) -> RuleSpec:
    """Validate a whole rule; InvalidInput lists every bad field of all three parts."""
    errors: list[FieldError] = []
    parsed = collect_trigger(trigger, default_timezone, "trigger", errors)
    normalized: dict[str, Any] = {}
    try:
        normalized = check_conditions(conditions)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    checked = collect_actions(actions, "actions", errors)
    if errors or parsed is None:
        raise InvalidInput(errors or [FieldError("trigger", "invalid", "not a trigger")])
    return RuleSpec(parsed, normalized, checked)


# --- loop protection -------------------------------------------------------------------------


def loop_guard(rule_id: int, origin: Mapping[str, Any] | None, max_depth: int) -> str | None:
    """Why a rule must not act on an event (None: it may).

    ``origin`` is the automation that caused the event (``{"rule_id", "depth"}``): a rule never
    acts on its own effects, and a chain of rules triggering rules stops at ``max_depth``.
    """
    if not origin:
        return None
    if origin.get("rule_id") == rule_id:
        return "own-effect"
    depth = origin.get("depth", 0)
    if is_int(depth) and depth >= max_depth:
        return "max-depth"
    return None


def depth_of(origin: Mapping[str, Any] | None) -> int:
    depth = (origin or {}).get("depth", 0)
    return int(depth) if is_int(depth) else 0
