"""Playbooks, as pure values: a named sequence of steps with day offsets, and a run's progress.

A step is ``{"day": 3, "name": "Kickoff call", "action": {...}}``: on day 3 after the playbook
started for a client, do the action (the vocabulary of rule actions, ``domain.rules``). Steps
are identified by their position; a run records the positions it has done, so a step is never
done twice. A run is ``running`` until every step is done (``completed``), the relationship
ends (``stopped``) or someone cancels it (``cancelled``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tenure.domain.errors import FieldError, InvalidInput, InvalidTransition
from tenure.domain.rules import collect_action

MAX_STEPS = 50
MAX_STEP_DAY = 3660
MAX_NAME = 200


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"
    CANCELLED = "cancelled"


FINISHED = frozenset({RunStatus.COMPLETED, RunStatus.STOPPED, RunStatus.CANCELLED})


def check_name(name: Any, *, where: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput.one(where, "required", "a playbook needs a name")
    if len(name.strip()) > MAX_NAME:
        raise InvalidInput.one(where, "max-length", f"at most {MAX_NAME} characters")
    return name.strip()


def check_steps(raw: Any, *, where: str = "steps") -> list[dict[str, Any]]:
    """The normalized steps, or InvalidInput naming every bad field (``steps[1].day`` …)."""
    errors: list[FieldError] = []
    if not isinstance(raw, list) or not raw:
        raise InvalidInput.one(where, "non-empty-list", "a playbook needs at least one step")
    if len(raw) > MAX_STEPS:
        raise InvalidInput.one(where, "too-many", f"at most {MAX_STEPS} steps")
    out: list[dict[str, Any]] = []
    for i, step in enumerate(raw):
        path = f"{where}[{i}]"
        if not isinstance(step, Mapping):
            errors.append(FieldError(path, "object", 'a step is {"day": …, "action": {…}}'))
            continue
        for key in sorted(set(step) - {"day", "name", "action"}):
            errors.append(FieldError(f"{path}.{key}", "unknown", "not a field of a step"))
        day = step.get("day", 0)
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= MAX_STEP_DAY:
            errors.append(
                FieldError(f"{path}.day", "range", f"a whole number of days, 0 to {MAX_STEP_DAY}")
            )
            day = 0
        action = collect_action(step.get("action"), f"{path}.action", errors)
        name = step.get("name")
        if name is not None and (not isinstance(name, str) or len(name.strip()) > MAX_NAME):
            errors.append(FieldError(f"{path}.name", "max-length", f"text, at most {MAX_NAME}"))
            name = None
        out.append(
            {"day": day, "name": (name or "").strip() or step_title(action), "action": action}
        )
    if errors:
        raise InvalidInput(errors)
    return out


def step_title(action: Mapping[str, Any]) -> str:
    """A default name for a step, from its action."""
    kind = str(action.get("type", "step"))
    detail = action.get("title") or action.get("subject") or action.get("tag") or ""
    label = kind.replace("_", " ").capitalize()
    return f"{label}: {detail}"[:MAX_NAME] if detail else label


def step_due(started_at: datetime, day: int) -> datetime:
    """When a step of a run started at ``started_at`` comes due."""
    return started_at + timedelta(days=day)


def step_key(run_id: int, index: int) -> str:
    """The idempotency key of a step's job: one job per (run, step), ever."""
    return f"playbook-step:{run_id}:{index}"


def check_can_cancel(status: RunStatus) -> None:
    if status in FINISHED:
        raise InvalidTransition(f"this playbook run is already {status.value}", status=status.value)


@dataclass(frozen=True)
class StepProgress:
    index: int
    day: int
    name: str
    due_at: datetime
    #: done | pending | failed (its job ran out of attempts) | skipped (the run ended first)
    state: str
    error: str = ""


def progress(
    *,
    steps: Sequence[Mapping[str, Any]],
    started_at: datetime,
    done: Sequence[int],
    status: RunStatus,
    dead: Mapping[int, str] | None = None,
) -> list[StepProgress]:
    """Where a run stands, step by step (``dead``: steps whose job died, with the error)."""
    finished = set(done)
    out: list[StepProgress] = []
    for index, step in enumerate(steps):
        day = int(step.get("day", 0))
        if index in finished:
            state, error = "done", ""
        elif dead and index in dead:
            state, error = "failed", dead[index]
        elif status is RunStatus.RUNNING:
            state, error = "pending", ""
        else:
            state, error = "skipped", ""
        out.append(
            StepProgress(
                index, day, str(step.get("name", "")), step_due(started_at, day), state, error
            )
        )
    return out


def is_complete(done: Sequence[int], total: int) -> bool:
    return len(set(done)) >= total
