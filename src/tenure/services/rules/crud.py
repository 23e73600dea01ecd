"""Creating, changing, enabling and reading rules, and reading their runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenure.db.models import Rule
from tenure.db.repositories.pagination import Page, check_limit, decode_cursor, encode_cursor
from tenure.db.repositories.rules import RuleFilter, RuleRepository, RuleRunRepository, RunFilter
from tenure.domain import rules as R
from tenure.domain.access import Permission
from tenure.domain.errors import FieldError, InvalidInput, PreconditionFailed
from tenure.services import audit, automation
from tenure.services.context import Ctx
from tenure.services.members import check_member
from tenure.services.rules.actions import check_references

UPDATABLE = frozenset(
    {"name", "description", "enabled", "trigger", "conditions", "actions", "owner_id"}
)
OUTCOMES = ("done", "failed", "skipped")
MAX_NAME = 200
MAX_DESCRIPTION = 10_000


def _repo(ctx: Ctx) -> RuleRepository:
    return RuleRepository(ctx.session, ctx.workspace_id)


def _validate(ctx: Ctx, values: Mapping[str, Any]) -> R.RuleSpec:
    """Every problem of a rule at once (name, trigger, conditions, actions, references)."""
    errors: list[FieldError] = []
    name = values.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(FieldError("name", "required", "a rule needs a name"))
    elif len(name.strip()) > MAX_NAME:
        errors.append(FieldError("name", "max-length", f"at most {MAX_NAME} characters"))
    description = values.get("description") or ""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        errors.append(
            FieldError("description", "max-length", f"text, at most {MAX_DESCRIPTION} characters")
        )
    check_member(ctx, values.get("owner_id"), errors, "owner_id")
    spec: R.RuleSpec | None = None
    try:
        spec = R.check_rule(
            values.get("trigger"),
            values.get("conditions"),
            values.get("actions"),
            default_timezone=ctx.workspace_timezone,
        )
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if spec is not None:
        errors.extend(check_references(ctx, spec.actions))
    if errors or spec is None:
        raise InvalidInput(errors)
    return spec


def create_rule(
    ctx: Ctx,
    *,
    name: str,
    trigger: Mapping[str, Any],
    actions: list[dict[str, Any]],
    conditions: Mapping[str, Any] | None = None,
    description: str = "",
    enabled: bool = True,
    owner_id: int | None = None,
    builtin: str | None = None,
) -> Rule:
    ctx.require(Permission.ADMIN)
    owner = owner_id if owner_id is not None else ctx.user_id
    spec = _validate(
        ctx,
        {
            "name": name,
            "description": description,
            "trigger": trigger,
            "conditions": conditions,
            "actions": actions,
            "owner_id": owner,
        },
    )
    rule = Rule(
        name=name.strip(),
        description=description,
        enabled=bool(enabled),
        trigger=spec.trigger_json,
        event_type=spec.event_type,
        conditions=spec.conditions,
        actions=spec.actions,
        owner_id=owner,
        builtin=builtin,
        evaluated_until=None,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    _repo(ctx).add(rule)
    ctx.session.flush()
    automation.forget_subscriptions(ctx)
    return rule


def update_rule(
    ctx: Ctx, rule_id: int, *, expected_version: int, changes: Mapping[str, Any]
) -> Rule:
    ctx.require(Permission.ADMIN)
    unknown = sorted(set(changes) - UPDATABLE)
    if unknown:
        raise InvalidInput([FieldError(n, "read-only", "cannot be changed") for n in unknown])
    rule = _repo(ctx).get(rule_id, for_update=True)
    _check_version(rule, expected_version)
    merged = {
        "name": rule.name,
        "description": rule.description,
        "trigger": rule.trigger,
        "conditions": rule.conditions,
        "actions": rule.actions,
        "owner_id": rule.owner_id,
        **{k: v for k, v in changes.items() if k != "enabled"},
    }
    if merged.get("conditions") is None:
        merged["conditions"] = {}
    spec = _validate(ctx, merged)
    new_trigger = spec.trigger_json
    if new_trigger != rule.trigger:
        # A new trigger starts from now: it does not fire for what came due under the old one.
        rule.evaluated_until = ctx.now
    rule.name = str(merged["name"]).strip()
    rule.description = str(merged.get("description") or "")
    rule.trigger = new_trigger
    rule.event_type = spec.event_type
    rule.conditions = spec.conditions
    rule.actions = spec.actions
    rule.owner_id = merged.get("owner_id")
    if "enabled" in changes and changes["enabled"] is not None:
        _enable(ctx, rule, bool(changes["enabled"]))
    rule.updated_at = ctx.now
    ctx.session.flush()
    automation.forget_subscriptions(ctx)
    return rule


def _enable(ctx: Ctx, rule: Rule, enabled: bool) -> None:
    if enabled and not rule.enabled:
        # Switched back on: it acts on what comes due from now, not on the months it was off.
        rule.evaluated_until = ctx.now
    if enabled != rule.enabled:
        audit.log(ctx, "rule.enabled" if enabled else "rule.disabled", rule=rule.id, name=rule.name)
    rule.enabled = enabled


def set_enabled(ctx: Ctx, rule_id: int, enabled: bool) -> Rule:
    ctx.require(Permission.ADMIN)
    rule = _repo(ctx).get(rule_id, for_update=True)
    if rule.enabled != enabled:
        _enable(ctx, rule, enabled)
        rule.updated_at = ctx.now
        ctx.session.flush()
        automation.forget_subscriptions(ctx)
    return rule


def _check_version(rule: Rule, expected: int) -> None:
    if rule.version != expected:
        raise PreconditionFailed(
            f"rule {rule.id} is at version {rule.version}, not {expected}",
            current_version=rule.version,
        )


def get_rule(ctx: Ctx, rule_id: int) -> Rule:
    ctx.require(Permission.READ)
    return _repo(ctx).get(rule_id)


def list_rules(
    ctx: Ctx,
    *,
    enabled: bool | None = None,
    trigger_type: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    ctx.require(Permission.READ)
    check_limit(limit)
    if trigger_type is not None and trigger_type not in R.TRIGGER_TYPES:
        raise InvalidInput.one(
            "trigger_type", "choice", f"must be one of {', '.join(R.TRIGGER_TYPES)}"
        )
    after = decode_cursor(cursor, arity=2, types=(int, int)) if cursor else None
    rows = list(
        _repo(ctx).page(
            RuleFilter(enabled=enabled, trigger_type=trigger_type), after=after, limit=limit
        )
    )
    return _page(rows, limit)


def list_runs(
    ctx: Ctx,
    *,
    rule_id: int | None = None,
    contact_id: int | None = None,
    outcome: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Runs newest first (of one rule, one contact, or all)."""
    ctx.require(Permission.READ)
    check_limit(limit)
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidInput.one("outcome", "choice", f"must be one of {', '.join(OUTCOMES)}")
    if rule_id is not None:
        _repo(ctx).get(rule_id)
    after = decode_cursor(cursor, arity=2, types=(int, int)) if cursor else None
    rows = list(
        RuleRunRepository(ctx.session, ctx.workspace_id).page(
            RunFilter(rule_id=rule_id, contact_id=contact_id, outcome=outcome),
            after=after,
            limit=limit,
        )
    )
    return _page(rows, limit)


def _page(rows: list[Any], limit: int) -> Page:
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].id, rows[-1].id])
    return Page(rows, next_cursor)
