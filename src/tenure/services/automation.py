"""From events to automation: the outbox dispatch.

Every timeline event is a potential trigger. When the workspace has an enabled rule or an
active webhook subscription for the event's type, ``on_event`` enqueues one ``event.dispatch``
job in the same transaction as the change (a rolled-back change dispatches nothing). The job
(``dispatch``) runs after commit in the worker and hands the event to the rules engine
(``services.rules.on_event``) and the webhooks (``services.webhooks.on_event``).

Loop protection: effects of a rule run under ``Ctx.automation = {"rule_id", "depth"}``; the
events they cause carry it, a rule never fires on an event it caused itself, and a chain of
rules triggering rules stops at ``MAX_DEPTH``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, bindparam, cast, null, select, union_all

from tenure.db.models import Rule, TimelineEvent, WebhookSubscription
from tenure.db.types import JSONType
from tenure.services import jobs
from tenure.services.context import Ctx

DISPATCH_KIND = "event.dispatch"
MAX_DEPTH = 3


def _subscriptions_statement() -> Any:
    """Enabled rules' event types and active subscriptions' type lists in one statement (a
    ``UNION ALL``, one round trip on every write that records an event), built once."""
    ws: BindParameter[int] = bindparam("ws")
    rules = select(
        Rule.event_type.label("rule_type"), cast(null(), JSONType).label("hook_types")
    ).where(Rule.workspace_id == ws, Rule.enabled.is_(True), Rule.event_type.is_not(None))
    hooks = select(cast(null(), Rule.event_type.type), WebhookSubscription.event_types).where(
        WebhookSubscription.workspace_id == ws, WebhookSubscription.active.is_(True)
    )
    return union_all(rules, hooks)


_SUBSCRIPTIONS = _subscriptions_statement()


def subscribed_types(ctx: Ctx) -> frozenset[str]:
    """Event types that anything listens to, once per unit of work (one small query)."""
    cached = ctx.cache.get("subscribed_types")
    if isinstance(cached, frozenset):
        return cached
    types: set[str] = set()
    for rule_type, hook_types in ctx.session.execute(_SUBSCRIPTIONS, {"ws": ctx.workspace_id}):
        if rule_type:
            types.add(rule_type)
        types.update(hook_types or ())
    frozen = frozenset(types)
    ctx.cache["subscribed_types"] = frozen
    return frozen


def forget_subscriptions(ctx: Ctx) -> None:
    """Call after changing rules or subscriptions inside a unit of work."""
    ctx.cache.pop("subscribed_types", None)


def on_event(ctx: Ctx, event: TimelineEvent) -> None:
    types = subscribed_types(ctx)
    if event.type not in types and "*" not in types:
        return
    depth = (ctx.automation or {}).get("depth", 0)
    if depth >= MAX_DEPTH:
        return
    ctx.session.flush()  # the event needs its id
    jobs.enqueue(ctx, DISPATCH_KIND, {"event_id": event.id}, key=f"dispatch:{event.id}")


def dispatch(ctx: Ctx, event_id: int) -> dict[str, Any]:
    """Run by the worker: hand the event to rules and webhooks (each idempotent per event)."""
    from tenure.services import rules, webhooks

    event = ctx.session.scalars(
        select(TimelineEvent).where(
            TimelineEvent.workspace_id == ctx.workspace_id, TimelineEvent.id == event_id
        )
    ).one_or_none()
    if event is None:  # erased since (personal-data rights): nothing left to act on
        return {"skipped": "event gone"}
    return {
        "rules": rules.on_event(ctx, event),
        "webhooks": webhooks.on_event(ctx, event),
    }
