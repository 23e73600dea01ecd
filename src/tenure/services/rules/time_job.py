"""The ``rules.time`` job: every enabled time-based rule fired for what came due, in bounded
batches.

``engine`` finds a trigger's due occurrences (``due_candidates``) and fires one (``fire``); this
module walks them under a ``Budget`` per job, skips the occurrences already fired with one
lookup per page, and hands the rest to a continuation job with the rule and position to go on
from, so no job holds the write lock for long and a rerun of a batch cannot fork the walk.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from tenure.db.models import Rule
from tenure.db.repositories.rules import RuleRepository, RuleRunRepository
from tenure.domain.errors import DomainError
from tenure.services import jobs
from tenure.services.context import Ctx
from tenure.services.rules import engine

log = logging.getLogger("tenure.rules")

TIME_KIND = "rules.time"


@dataclass
class Budget:
    """What one ``rules.time`` job may do before it hands the rest to a continuation job, so
    no job holds the write lock for long: occurrences looked at (an already-fired one costs a
    share of one indexed lookup) and occurrences built and fired (facts, conditions, actions)."""

    examined: int = 0
    built: int = 0

    def spent(self) -> bool:
        # Read at call time from ``engine``, where all of the walk's sizes live.
        return (
            self.examined >= engine.MAX_EXAMINED_PER_JOB or self.built >= engine.MAX_BUILT_PER_JOB
        )


def evaluate_rule(
    ctx: Ctx,
    rule: Rule,
    *,
    budget: Budget | None = None,
    resume: engine.Position | None = None,
    evaluated_at: datetime | None = None,
    stale_before: bool = False,
) -> dict[str, Any]:
    """Fire one time-based rule for what is due now, from after ``resume``. ``complete`` False
    when it stopped at the budget; ``position`` is then where the next job goes on."""
    budget = budget or Budget()
    trigger = engine.stored_trigger(ctx, rule)
    runs = RuleRunRepository(ctx.session, ctx.workspace_id)
    counts: dict[str, Any] = {"done": 0, "failed": 0, "skipped": 0, "already": 0, "stale": 0}
    candidates = engine.due_candidates(
        ctx,
        trigger,
        created_at=rule.created_at,
        evaluated_until=rule.evaluated_until,
        resume=resume,
    )
    position = resume
    complete = True
    while complete and (chunk := list(islice(candidates, engine.PAGE))):
        seen = runs.fired_keys(rule.id, [c.key for c in chunk])
        for candidate in chunk:
            if budget.spent():
                complete = False
                break
            budget.examined += 1
            if candidate.key in seen:
                counts["already"] += 1
            else:
                budget.built += 1
                counts[_fire_or_skip_stale(ctx, rule, candidate)] += 1
            position = candidate.position
    # A contact skipped for a concurrent write keeps the window where it is, so the next
    # evaluation looks at its occurrence again (date triggers only look since that mark).
    if complete and not (stale_before or counts["stale"]):
        RuleRepository(ctx.session, ctx.workspace_id).set_evaluated_until(
            rule.id, evaluated_at or ctx.now
        )
    counts["complete"] = complete
    counts["position"] = None if complete else position
    return counts


def _fire_or_skip_stale(ctx: Ctx, rule: Rule, candidate: engine.Candidate) -> str:
    """Fire one occurrence in its own SAVEPOINT. When a person saved the contact meanwhile
    (optimistic ``version`` conflict, PostgreSQL), the occurrence is skipped, not retried: its
    key was computed from the contact as it was (a touch may have moved ``next_touch_due``, so
    the overdue occurrence may no longer exist). Its run row is rolled back with the savepoint,
    so the next hourly evaluation finds the occurrence again if it is still due and fires it
    then, once; the job itself (and every other firing in it) carries on."""
    target = candidate.make()
    try:
        with ctx.session.begin_nested():
            return engine.fire(ctx, rule, target, record_skips=False)
    except StaleDataError:
        log.info("rule %s: %s changed meanwhile; left to the next run", rule.id, candidate.key)
        if target.contact is not None:
            ctx.session.expire(target.contact)  # the next rule sees the contact as it is now
        return "stale"


def evaluate_time_triggers(ctx: Ctx, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``rules.time`` job: every enabled time-based rule, for what came due since it last
    ran (after downtime: everything that came due meanwhile, each occurrence once).

    One job does a bounded amount of work (``Budget``) and enqueues its continuation, in its
    own transaction, with the rule and position to go on from. ``started`` (the first job's
    clock) marks the whole walk: it becomes each rule's ``evaluated_until`` and is part of the
    continuation keys, so a rerun of a batch cannot fork the walk."""
    payload = payload or {}
    started = datetime.fromisoformat(payload["started"]) if payload.get("started") else ctx.now
    first = int(payload.get("rule_id") or 0)
    rules = [
        r
        for r in RuleRepository(ctx.session, ctx.workspace_id).enabled_time_based()
        if r.id >= first
    ]
    totals: dict[str, Any] = {"rules": 0, "done": 0, "failed": 0, "stale": 0, "invalid": []}
    budget = Budget()
    for rule in rules:
        resuming = rule.id == first
        stale = bool(payload.get("stale")) if resuming else False
        if budget.spent():
            _continue_time(ctx, started, rule.id, None, stale=False)
            totals["more"] = True
            break
        try:
            counts = evaluate_rule(
                ctx,
                rule,
                budget=budget,
                resume=payload.get("position") if resuming else None,
                evaluated_at=started,
                stale_before=stale,
            )
        except DomainError as exc:  # a stored rule that no longer validates: skip, report
            totals["invalid"].append({"rule_id": rule.id, "error": exc.message})
            continue
        totals["rules"] += 1
        for name in ("done", "failed", "stale"):
            totals[name] += counts[name]
        if not counts["complete"]:
            stale = stale or counts["stale"] > 0
            _continue_time(ctx, started, rule.id, counts["position"], stale=stale)
            totals["more"] = True
            break
    return totals


def _continue_time(
    ctx: Ctx, started: datetime, rule_id: int, position: engine.Position | None, *, stale: bool
) -> None:
    cursor = ",".join(str(p) for p in position or [])
    jobs.enqueue(
        ctx,
        TIME_KIND,
        {
            "started": started.isoformat(),
            "rule_id": rule_id,
            "position": position,
            "stale": stale,
        },
        key=f"{TIME_KIND}:{started.isoformat()}:{rule_id}:{cursor}",
    )
