"""Playbooks: named sequences of steps with day offsets, run per client.

Starting a run (by hand, or by a rule's ``start_playbook``) enqueues one ``playbook.step`` job
per step, due ``day`` days after the start, each with the key ``playbook-step:<run>:<index>``
and a copy of its step: a step is enqueued once, and the job marks the step done in the same
transaction as its effect, so a step is never done twice, even when a worker dies mid-way or
the playbook is edited meanwhile. A run stops when the client's relationship ends
(``on_relationship_ended``, called from the lifecycle) or when someone cancels it; the steps
still queued then do nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenure.db.models import Contact, Job, Playbook, PlaybookRun
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.pagination import Page, check_limit, decode_cursor, encode_cursor
from tenure.db.repositories.rules import (
    PlaybookRepository,
    PlaybookRunRepository,
    RuleRepository,
)
from tenure.domain import playbooks as P
from tenure.domain.access import Permission
from tenure.domain.errors import (
    Conflict,
    DuplicateValue,
    FieldError,
    InvalidInput,
    PreconditionFailed,
)
from tenure.domain.events import EventType
from tenure.services import jobs, timeline
from tenure.services.context import Ctx
from tenure.services.rules import actions as rule_actions
from tenure.services.rules import facts as F

STEP_KIND = "playbook.step"
#: A step whose action keeps failing is dead after this many attempts (visible in /jobs and
#: in the run's progress), instead of retrying for hours.
STEP_MAX_ATTEMPTS = 3
UPDATABLE = frozenset({"name", "description", "steps", "enabled"})
#: The timeline event of each way a run ends.
FINISH_EVENTS = {
    P.RunStatus.COMPLETED.value: EventType.PLAYBOOK_COMPLETED,
    P.RunStatus.STOPPED.value: EventType.PLAYBOOK_STOPPED,
    P.RunStatus.CANCELLED.value: EventType.PLAYBOOK_CANCELLED,
}
MAX_DESCRIPTION = 10_000


@dataclass(frozen=True)
class RunView:
    """A run with its playbook's name and where each step stands."""

    run: PlaybookRun
    playbook_name: str
    steps: list[P.StepProgress] = field(default_factory=list)
    contact_name: str = ""


def _repo(ctx: Ctx) -> PlaybookRepository:
    return PlaybookRepository(ctx.session, ctx.workspace_id)


def _runs(ctx: Ctx) -> PlaybookRunRepository:
    return PlaybookRunRepository(ctx.session, ctx.workspace_id)


# --- playbooks -------------------------------------------------------------------------------


def _check(ctx: Ctx, values: Mapping[str, Any], *, playbook_id: int | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    if "name" in values:
        try:
            out["name"] = P.check_name(values["name"])
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if "description" in values:
        description = values["description"] or ""
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            errors.append(
                FieldError("description", "max-length", f"at most {MAX_DESCRIPTION} characters")
            )
        out["description"] = description
    if "steps" in values:
        try:
            steps = P.check_steps(values["steps"])
            out["steps"] = steps
            errors.extend(
                rule_actions.check_references(
                    ctx, [s["action"] for s in steps], where="steps", suffix=".action"
                )
            )
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if "enabled" in values:
        out["enabled"] = bool(values["enabled"])
    if errors:
        raise InvalidInput(errors)
    if "name" in out:
        same = _repo(ctx).by_name(out["name"])
        if same is not None and same.id != playbook_id:
            raise DuplicateValue(
                f"a playbook named {out['name']!r} exists", field="name", values=[out["name"]]
            )
    return out


def create_playbook(
    ctx: Ctx,
    *,
    name: str,
    steps: list[dict[str, Any]],
    description: str = "",
    enabled: bool = True,
    builtin: str | None = None,
) -> Playbook:
    ctx.require(Permission.ADMIN)
    values = _check(
        ctx,
        {"name": name, "steps": steps, "description": description, "enabled": enabled},
        playbook_id=None,
    )
    playbook = Playbook(**values, builtin=builtin, created_at=ctx.now, updated_at=ctx.now)
    _repo(ctx).add(playbook)
    ctx.session.flush()
    return playbook


def update_playbook(
    ctx: Ctx, playbook_id: int, *, expected_version: int, changes: Mapping[str, Any]
) -> Playbook:
    """Change a playbook; runs already started keep the steps they started with."""
    ctx.require(Permission.ADMIN)
    unknown = sorted(set(changes) - UPDATABLE)
    if unknown:
        raise InvalidInput([FieldError(n, "read-only", "cannot be changed") for n in unknown])
    playbook = _repo(ctx).get(playbook_id, for_update=True)
    if playbook.version != expected_version:
        raise PreconditionFailed(
            f"playbook {playbook_id} is at version {playbook.version}, not {expected_version}",
            current_version=playbook.version,
        )
    values = _check(
        ctx, {k: v for k, v in changes.items() if v is not None}, playbook_id=playbook.id
    )
    for name, value in values.items():
        setattr(playbook, name, value)
    if values:
        playbook.updated_at = ctx.now
        ctx.session.flush()
    return playbook


def delete_playbook(ctx: Ctx, playbook_id: int) -> None:
    """Only a playbook that never ran and that no rule starts (else: disable it)."""
    ctx.require(Permission.ADMIN)
    playbook = _repo(ctx).get(playbook_id, for_update=True)
    if _runs(ctx).count_of_playbook(playbook.id):
        raise Conflict(
            "this playbook has runs, which keep its history: disable it instead",
            playbook_id=playbook.id,
        )
    users = [
        rule.id
        for rule in RuleRepository(ctx.session, ctx.workspace_id).all_rules()
        if any(a.get("playbook_id") == playbook.id for a in rule.actions or [])
    ]
    if users:
        raise Conflict(
            f"rules {', '.join(map(str, users))} use this playbook: change them first",
            rule_ids=users,
        )
    ctx.session.delete(playbook)
    ctx.session.flush()


def get_playbook(ctx: Ctx, playbook_id: int) -> Playbook:
    ctx.require(Permission.READ)
    return _repo(ctx).get(playbook_id)


def list_playbooks(ctx: Ctx, *, cursor: str | None = None, limit: int = 50) -> Page:
    ctx.require(Permission.READ)
    check_limit(limit)
    after = decode_cursor(cursor, arity=2, types=(int, int)) if cursor else None
    rows = list(_repo(ctx).page(after=after, limit=limit))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].id, rows[-1].id])
    return Page(rows, next_cursor)


# --- runs ------------------------------------------------------------------------------------


def start(ctx: Ctx, *, playbook_id: int, contact_id: int) -> PlaybookRun:
    """Start a playbook for a client by hand."""
    ctx.require(Permission.WRITE)
    playbook = _repo(ctx).get(playbook_id)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get_writable(
        contact_id, for_update=True
    )
    if not playbook.enabled:
        raise Conflict(f"playbook {playbook.id} is disabled", playbook_id=playbook.id)
    if _runs(ctx).running_of_contact(contact.id, playbook_id=playbook.id):
        raise Conflict(
            f"{playbook.name!r} is already running for this contact", playbook_id=playbook.id
        )
    return start_run(ctx, playbook, contact, rule_id=None)


def start_run(
    ctx: Ctx, playbook: Playbook, contact: Contact, *, rule_id: int | None
) -> PlaybookRun:
    """Create the run and enqueue its steps (one job per step, keyed by run and step)."""
    run = PlaybookRun(
        playbook_id=playbook.id,
        contact_id=contact.id,
        status=P.RunStatus.RUNNING.value,
        started_at=ctx.now,
        started_by_rule_id=rule_id,
        steps_done=[],
        finished_at=None,
        stop_reason="",
    )
    _runs(ctx).add(run)
    ctx.session.flush()
    steps = list(playbook.steps or [])
    _record(
        ctx,
        run,
        EventType.PLAYBOOK_STARTED,
        f"Playbook {playbook.name!r} started ({len(steps)} steps)",
        playbook.name,
    )
    for index, step in enumerate(steps):
        jobs.enqueue(
            ctx,
            STEP_KIND,
            {"run_id": run.id, "index": index, "total": len(steps), "step": step},
            key=P.step_key(run.id, index),
            run_at=P.step_due(ctx.now, int(step.get("day", 0))),
            max_attempts=STEP_MAX_ATTEMPTS,
        )
    return run


def cancel(ctx: Ctx, run_id: int, *, reason: str = "") -> PlaybookRun:
    ctx.require(Permission.WRITE)
    run = _runs(ctx).get(run_id, for_update=True)
    P.check_can_cancel(P.RunStatus(run.status))
    finish_runs(ctx, [run], status=P.RunStatus.CANCELLED.value, reason=reason or "cancelled")
    return run


def finish_runs(ctx: Ctx, runs: Sequence[PlaybookRun], *, status: str, reason: str) -> int:
    """End running runs (stopped or cancelled); their queued steps then do nothing."""
    running = [run for run in runs if run.status == P.RunStatus.RUNNING.value]
    names = _repo(ctx).names(sorted({run.playbook_id for run in running}))
    for run in running:
        run.status = status
        run.finished_at = ctx.now
        run.stop_reason = reason[:2000]
        name = names.get(run.playbook_id, "")
        _record(ctx, run, FINISH_EVENTS[status], f"Playbook {name!r} {status}: {reason}", name)
    ctx.session.flush()
    return len(running)


def on_relationship_ended(ctx: Ctx, contact: Contact, reason: str) -> int:
    """The relationship ended: every playbook still running for the contact stops."""
    runs = _runs(ctx).running_of_contact(contact.id, for_update=True)
    return finish_runs(
        ctx, runs, status=P.RunStatus.STOPPED.value, reason=f"relationship ended: {reason}"
    )


def runs_of_contact(ctx: Ctx, contact_id: int) -> list[RunView]:
    """A contact's playbook runs, newest first, with each step's progress."""
    ctx.require(Permission.READ)
    ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    return _views(ctx, list(_runs(ctx).of_contact(contact_id)))


def runs_of_playbook(ctx: Ctx, playbook_id: int, *, limit: int = 100) -> list[RunView]:
    """A playbook's runs (running first, then newest), with each client's name and progress."""
    ctx.require(Permission.READ)
    check_limit(limit)
    _repo(ctx).get(playbook_id)
    runs = list(_runs(ctx).of_playbook(playbook_id, limit=limit))
    names = _runs(ctx).contact_names(sorted({r.contact_id for r in runs}))
    return [
        RunView(v.run, v.playbook_name, v.steps, names.get(v.run.contact_id, ""))
        for v in _views(ctx, runs)
    ]


def get_run(ctx: Ctx, run_id: int) -> RunView:
    ctx.require(Permission.READ)
    return _views(ctx, [_runs(ctx).get(run_id)])[0]


def _views(ctx: Ctx, runs: list[PlaybookRun]) -> list[RunView]:
    names = _repo(ctx).names(sorted({r.playbook_id for r in runs}))
    by_run: dict[int, dict[int, Job]] = {}
    for job in _runs(ctx).step_jobs([r.id for r in runs]):
        payload = job.payload or {}
        by_run.setdefault(int(payload.get("run_id", 0)), {})[int(payload.get("index", 0))] = job
    views: list[RunView] = []
    for run in runs:
        step_jobs = by_run.get(run.id, {})
        steps = [dict(step_jobs[i].payload.get("step") or {}) for i in sorted(step_jobs)]
        dead = {i: j.last_error for i, j in step_jobs.items() if j.status == "dead"}
        views.append(
            RunView(
                run,
                names.get(run.playbook_id, ""),
                P.progress(
                    steps=steps,
                    started_at=run.started_at,
                    done=list(run.steps_done or []),
                    status=P.RunStatus(run.status),
                    dead=dead,
                ),
            )
        )
    return views


def _record(ctx: Ctx, run: PlaybookRun, type: EventType, summary: str, name: str) -> None:
    """A run's start and end on the client's timeline (its steps' effects record their own)."""
    timeline.record(
        ctx,
        contact_id=run.contact_id,
        type=type,
        subject_type="playbook_run",
        subject_id=run.id,
        summary=summary,
        data={"playbook_id": run.playbook_id, "playbook": name, "status": run.status},
    )


def run_step(ctx: Ctx, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``playbook.step`` job: do one step of a run, once."""
    run_id, index = int(payload["run_id"]), int(payload["index"])
    step: Mapping[str, Any] = payload.get("step") or {}
    total = int(payload.get("total", index + 1))
    run = _runs(ctx).find(run_id, for_update=True)
    if run is None:
        return {"skipped": "the run is gone"}
    if run.status != P.RunStatus.RUNNING.value:
        return {"skipped": f"the run is {run.status}"}
    if index in (run.steps_done or []):
        return {"skipped": "done already"}
    contact = F.load_contact(ctx, run.contact_id)
    key = P.step_key(run.id, index)
    trigger = {
        "type": "playbook",
        "key": key,
        "playbook_id": run.playbook_id,
        "run_id": run.id,
        "step": index,
        "day": int(step.get("day", 0)),
    }
    target = F.Target(
        key=key,
        contact=contact,
        facts=F.build(ctx, contact=contact, record=contact, event=None, trigger=trigger),
        record_type="contact",
        record_id=run.contact_id,
        trigger=trigger,
    )
    origin = rule_actions.Origin(
        rule_id=run.started_by_rule_id,
        owner_id=None,
        key=key,
        rule_name=str(step.get("name", "")),
        playbook_run_id=run.id,
    )
    previous = ctx.automation
    automation: dict[str, int] = {"depth": 1, "playbook_run_id": run.id}
    if run.started_by_rule_id is not None:
        automation["rule_id"] = run.started_by_rule_id
    ctx.automation = automation
    try:
        effect = rule_actions.run_action(
            ctx, step.get("action") or {}, index, target, origin, dry=False
        )
    finally:
        ctx.automation = previous
    run.steps_done = sorted({*(run.steps_done or []), index})
    if run.status == P.RunStatus.RUNNING.value and P.is_complete(run.steps_done, total):
        run.status = P.RunStatus.COMPLETED.value
        run.finished_at = ctx.now
        name = _repo(ctx).names([run.playbook_id]).get(run.playbook_id, "")
        _record(ctx, run, EventType.PLAYBOOK_COMPLETED, f"Playbook {name!r} completed", name)
    ctx.session.flush()
    return {"run_id": run.id, "step": index, "effect": F.jsonable(effect)}
