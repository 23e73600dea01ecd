"""Dry runs: what a rule (saved or not) would do on the current data, changing nothing.

Nothing is written: the same code that fires a rule resolves each occurrence's facts,
conditions and action details with ``dry=True`` (which never calls a writing service), and the
whole computation runs inside a SAVEPOINT that is rolled back, so even a mistake could not
leave a trace.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from itertools import islice
from typing import Any

from tenure.db.models import Rule
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.db.repositories.rules import RuleRepository, RuleRunRepository
from tenure.domain import rules as R
from tenure.domain.access import Permission
from tenure.domain.errors import DomainError, InvalidInput
from tenure.services import automation
from tenure.services.context import Ctx
from tenure.services.rules import engine
from tenure.services.rules import facts as F
from tenure.services.rules.actions import Origin, check_references, describe_error, run_action

#: Occurrences examined at most (the answer says when it stopped early).
MAX_EXAMINED = 5000
#: Occurrences looked up together (whether each already fired: one query per batch).
BATCH = 200


def simulate(
    ctx: Ctx,
    rule_id: int | None = None,
    *,
    draft: Mapping[str, Any] | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """What the rule would do now: each occurrence due (or, for an event trigger, each recent
    event of its type), whether its conditions hold, and the actions it would take."""
    ctx.require(Permission.READ)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.one("limit", "range", f"must be between 1 and {MAX_LIMIT}")
    nested = ctx.session.begin_nested()
    try:
        return _simulate(ctx, rule_id, draft, limit)
    finally:
        nested.rollback()


def _simulate(
    ctx: Ctx, rule_id: int | None, draft: Mapping[str, Any] | None, limit: int
) -> dict[str, Any]:
    rule: Rule | None = None
    if rule_id is not None:
        rule = RuleRepository(ctx.session, ctx.workspace_id).get(rule_id)
        spec = R.RuleSpec(engine.stored_trigger(ctx, rule), rule.conditions or {}, rule.actions)
        created_at: datetime = rule.created_at
        evaluated_until = rule.evaluated_until
        owner_id, name = rule.owner_id, rule.name
    else:
        body = draft or {}
        spec = R.check_rule(
            body.get("trigger"),
            body.get("conditions"),
            body.get("actions"),
            default_timezone=ctx.workspace_timezone,
        )
        errors = check_references(ctx, spec.actions)
        if errors:
            raise InvalidInput(errors)
        created_at, evaluated_until = ctx.now, None
        owner_id, name = ctx.user_id, str(body.get("name") or "unsaved rule")

    targets: Iterator[F.Target]
    if isinstance(spec.trigger, R.EventTrigger):
        targets = (
            engine.event_target(ctx, event, (event.data or {}).get("automation"))
            for event in engine.recent_events(ctx, spec.trigger.event, limit)
        )
        window: dict[str, Any] = {"recent_events": limit}
    else:
        targets = engine.due_targets(
            ctx, spec.trigger, created_at=created_at, evaluated_until=evaluated_until
        )
        window = _window(ctx, spec.trigger, created_at, evaluated_until)

    counts = {"would_fire": 0, "would_fail": 0, "skipped": 0, "already_fired": 0, "suppressed": 0}
    items: list[dict[str, Any]] = []
    examined = 0
    truncated = False
    runs = RuleRunRepository(ctx.session, ctx.workspace_id)
    pending = iter(targets)
    while batch := list(islice(pending, min(BATCH, MAX_EXAMINED - examined))):
        fired = runs.fired_keys(rule.id, [t.key for t in batch]) if rule else set()
        for target in batch:
            examined += 1
            item = _item(ctx, rule, spec, target, owner_id, name, target.key in fired)
            counts[item["outcome"]] += 1
            if len(items) < limit:
                items.append(item)
            else:
                truncated = True
    if examined >= MAX_EXAMINED and next(pending, None) is not None:
        truncated = True
    return {
        "rule_id": rule.id if rule else None,
        "name": name,
        "trigger": spec.trigger_json,
        "description": R.describe_trigger(spec.trigger),
        "evaluated_at": ctx.now.isoformat(),
        "window": window,
        "examined": examined,
        **counts,
        "items": items,
        "truncated": truncated,
    }


def _window(
    ctx: Ctx, trigger: R.Trigger, created_at: datetime, evaluated_until: datetime | None
) -> dict[str, Any]:
    if isinstance(trigger, R.DateTrigger):
        since = engine.window_start(ctx, created_at, evaluated_until)
        return {"from": since.isoformat(), "to": ctx.today.isoformat()}
    if isinstance(trigger, R.RecurrenceTrigger):
        return {"from": (evaluated_until or created_at).isoformat(), "to": ctx.now.isoformat()}
    return {"on": ctx.today.isoformat()}


def _item(
    ctx: Ctx,
    rule: Rule | None,
    spec: R.RuleSpec,
    target: F.Target,
    owner_id: int | None,
    name: str,
    already_fired: bool,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "trigger_key": target.key,
        "contact_id": target.contact.id if target.contact else None,
        "contact_name": target.contact.display_name if target.contact else None,
        "event_id": target.event.id if target.event else None,
        "record_type": target.record_type,
        "record_id": target.record_id,
        "trigger": F.jsonable(target.trigger),
        "reasons": [],
        "actions": [],
        "error": "",
    }
    if rule is not None and target.event is not None:
        guard = R.loop_guard(
            rule.id, (target.event.data or {}).get("automation"), automation.MAX_DEPTH
        )
        if guard:
            item.update(outcome="suppressed", reasons=[guard])
            return item
    if already_fired:
        item["outcome"] = "already_fired"
        return item
    failures = R.explain(spec.conditions, target.facts)
    if failures:
        item.update(outcome="skipped", reasons=failures)
        return item
    origin = Origin(
        rule_id=rule.id if rule else None, owner_id=owner_id, key=target.key, rule_name=name
    )
    item["outcome"] = "would_fire"
    for index, action in enumerate(spec.actions):
        try:
            item["actions"].append(run_action(ctx, action, index, target, origin, dry=True))
        except DomainError as exc:
            item["outcome"] = "would_fail"
            item["error"] = f"actions[{index}] ({action.get('type')}): {describe_error(exc)}"
            break
    return item
