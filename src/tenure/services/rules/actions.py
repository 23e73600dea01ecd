"""The one vocabulary of automation actions, for rules and playbook steps alike.

``run_action`` does an action, or with ``dry=True`` only says what it would do (simulate):
both paths resolve the same details (the title with its placeholders filled, the assignee,
the due time) so a dry run shows what a real one does. Database actions call the feature's
service in the current transaction, under ``Ctx.automation``; email and webhooks are handed
to their services, which enqueue the delivery with an idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tenure.db.models import Contact, EmailTemplate, WebhookSubscription
from tenure.db.repositories.access import MembershipRepository
from tenure.db.repositories.rules import PlaybookRepository, PlaybookRunRepository
from tenure.domain.activities import TIMED_KINDS, ActivityKind, ActivityOrigin
from tenure.domain.cases import CasePriority
from tenure.domain.errors import (
    Conflict,
    DomainError,
    FieldError,
    InvalidInput,
    InvalidTransition,
)
from tenure.domain.lifecycle import EndReason, Stage
from tenure.domain.rules import referenced_ids, render_text
from tenure.services import activities, cases, contacts, lifecycle
from tenure.services.context import Ctx
from tenure.services.members import require_member
from tenure.services.rules.facts import Target, jsonable


@dataclass(frozen=True)
class Origin:
    """Who is acting: a rule (for an occurrence) or a playbook run (for a step)."""

    rule_id: int | None
    #: The rule's owner: the assignee of "owner" tasks for contacts without an owner.
    owner_id: int | None
    #: The occurrence's identity (trigger key or step key): the base of effect keys.
    key: str
    rule_name: str = ""
    playbook_run_id: int | None = None


def _needs_contact(target: Target, kind: str) -> Contact:
    if target.contact is None:
        raise Conflict(f"{kind} needs a contact, and this trigger has none", action=kind)
    return target.contact


def _assignee(ctx: Ctx, action: Mapping[str, Any], target: Target, origin: Origin) -> int | None:
    wanted = action.get("assignee", "owner")
    if wanted == "owner":
        if target.contact is not None and target.contact.owner_id is not None:
            return target.contact.owner_id
        return origin.owner_id
    member = int(wanted)
    require_member(ctx, member, "assignee", f"user {member} is not a member")
    return member


def run_action(
    ctx: Ctx, action: Mapping[str, Any], index: int, target: Target, origin: Origin, *, dry: bool
) -> dict[str, Any]:
    """Do one action (or describe it when ``dry``); the effect, as a small JSON dict."""
    kind = str(action.get("type"))
    perform = _ACTIONS.get(kind)
    if perform is None:
        raise InvalidInput.one("type", "choice", f"unknown action {kind!r}")
    return perform(ctx, _Step(action, index, target, origin, dry, {"type": kind}))


@dataclass(frozen=True)
class _Step:
    action: Mapping[str, Any]
    index: int
    target: Target
    origin: Origin
    dry: bool
    effect: dict[str, Any]

    @property
    def facts(self) -> dict[str, Any]:
        return self.target.facts


def _create_activity(ctx: Ctx, step: _Step) -> dict[str, Any]:
    action, effect, target = step.action, step.effect, step.target
    activity_kind = ActivityKind(action.get("kind", "task"))
    title = render_text(str(action["title"]), step.facts).strip() or str(action["title"])
    assignee = _assignee(ctx, action, target, step.origin)
    due = ctx.now + timedelta(days=int(action.get("due_in_days", 0)))
    effect.update(
        kind=activity_kind.value, title=title, assignee_id=assignee, due_at=due.isoformat()
    )
    if step.dry:
        return effect
    timed = activity_kind in TIMED_KINDS
    minutes = int(action.get("duration_minutes", 60))
    activity = activities.create_activity(
        ctx,
        kind=activity_kind,
        title=title[:300],
        contact_id=target.contact.id if target.contact else None,
        assignee_id=assignee,
        due_at=None if timed else due,
        start_at=due if timed else None,
        end_at=due + timedelta(minutes=minutes) if timed else None,
        notes=render_text(str(action.get("notes", "")), step.facts),
        allow_overlap=True,
        origin=ActivityOrigin.AUTOMATION,
    )
    effect["activity_id"] = activity.id
    return effect


def _tag(ctx: Ctx, step: _Step) -> dict[str, Any]:
    kind = step.effect["type"]
    contact = _needs_contact(step.target, kind)
    tag = str(step.action["tag"])
    tags = list(contact.tags or [])
    changed = (kind == "add_tag") != (tag in tags)
    step.effect.update(tag=tag, contact_id=contact.id, changed=changed)
    if step.dry or not changed:
        return step.effect
    new_tags = [*tags, tag] if kind == "add_tag" else [t for t in tags if t != tag]
    contacts.update_contact(
        ctx, contact.id, expected_version=contact.version, changes={"tags": new_tags}
    )
    return step.effect


def _set_owner(ctx: Ctx, step: _Step) -> dict[str, Any]:
    contact = _needs_contact(step.target, "set_owner")
    user_id = int(step.action["user_id"])
    changed = contact.owner_id != user_id
    step.effect.update(user_id=user_id, contact_id=contact.id, changed=changed)
    require_member(ctx, user_id, "user_id", f"user {user_id} is not a member")
    if step.dry or not changed:
        return step.effect
    contacts.update_contact(
        ctx, contact.id, expected_version=contact.version, changes={"owner_id": user_id}
    )
    return step.effect


def _end_relationship(ctx: Ctx, step: _Step) -> dict[str, Any]:
    contact = _needs_contact(step.target, "end_relationship")
    reason = EndReason(str(step.action["reason"]))
    note = render_text(str(step.action.get("note", "")), step.facts)
    step.effect.update(reason=reason.value, note=note, contact_id=contact.id)
    if contact.stage != Stage.CLIENT.value:
        raise InvalidTransition(
            f"only a client's relationship can end; this contact is a {contact.stage}",
            stage=contact.stage,
        )
    if step.dry:
        return step.effect
    transition = lifecycle.end(ctx, contact.id, reason=reason, note=note)
    step.effect["transition_id"] = transition.id
    return step.effect


def _start_playbook(ctx: Ctx, step: _Step) -> dict[str, Any]:
    from tenure.services import playbooks

    contact = _needs_contact(step.target, "start_playbook")
    playbook_id = int(step.action["playbook_id"])
    step.effect.update(playbook_id=playbook_id, contact_id=contact.id)
    playbook = PlaybookRepository(ctx.session, ctx.workspace_id).get(playbook_id)
    if not playbook.enabled:
        raise Conflict(f"playbook {playbook_id} is disabled", playbook_id=playbook_id)
    running = PlaybookRunRepository(ctx.session, ctx.workspace_id).running_of_contact(
        contact.id, playbook_id=playbook_id
    )
    if running:
        step.effect.update(changed=False, run_id=running[0].id, note="already running")
        return step.effect
    step.effect["changed"] = True
    if step.dry:
        return step.effect
    run = playbooks.start_run(ctx, playbook, contact, rule_id=step.origin.rule_id)
    step.effect["run_id"] = run.id
    return step.effect


def _stop_playbook(ctx: Ctx, step: _Step) -> dict[str, Any]:
    from tenure.services import playbooks

    contact = _needs_contact(step.target, "stop_playbook")
    pid = step.action.get("playbook_id")
    step.effect.update(playbook_id=pid, contact_id=contact.id)
    runs = PlaybookRunRepository(ctx.session, ctx.workspace_id).running_of_contact(
        contact.id, playbook_id=int(pid) if pid else None
    )
    own = step.origin.playbook_run_id
    runs = [r for r in runs if r.id != own]  # a step never stops its own run mid-step
    step.effect["run_ids"] = [r.id for r in runs]
    if step.dry or not runs:
        return step.effect
    rule_id = step.origin.rule_id
    playbooks.finish_runs(
        ctx,
        runs,
        status="cancelled",
        reason=f"stopped by rule {rule_id}" if rule_id else "stopped by a playbook step",
    )
    return step.effect


def _send_email(ctx: Ctx, step: _Step) -> dict[str, Any]:
    contact = _needs_contact(step.target, "send_email")
    template_id = int(step.action["template_id"])
    step.effect.update(template_id=template_id, contact_id=contact.id)
    if step.dry:
        emails = [e.get("email") for e in contact.emails or []]
        step.effect["to"] = emails[0] if emails else None
        if contact.do_not_email:
            step.effect.update(sent=False, note="the contact is marked do-not-email")
        return step.effect
    from tenure.services import email

    target, origin = step.target, step.origin
    trigger = {
        **jsonable(target.trigger),
        "key": origin.key,
        "rule_id": origin.rule_id,
        "rule_name": origin.rule_name,
        "playbook_run_id": origin.playbook_run_id,
        "event_id": target.event.id if target.event else None,
        "event_type": target.event.type if target.event else None,
    }
    step.effect["message_id"] = email.send_template(
        ctx,
        contact_id=contact.id,
        template_id=template_id,
        trigger=trigger,
        rule_id=origin.rule_id,
    )
    # None: the email service logged why it was not sent (do-not-email, no address …).
    step.effect["sent"] = step.effect["message_id"] is not None
    return step.effect


def _call_webhook(ctx: Ctx, step: _Step) -> dict[str, Any]:
    target, origin = step.target, step.origin
    subscription_id = int(step.action["subscription_id"])
    event_type = target.event.type if target.event else "rule.fired"
    step.effect.update(subscription_id=subscription_id, event_type=event_type)
    if step.dry:
        return step.effect
    from tenure.services import webhooks

    contact = target.contact
    payload = {
        "rule": {"id": origin.rule_id, "name": origin.rule_name},
        "playbook_run_id": origin.playbook_run_id,
        "trigger": jsonable({**target.trigger, "key": origin.key}),
        "event_id": target.event.id if target.event else None,
        "contact": {
            "id": contact.id,
            "display_name": contact.display_name,
            "stage": contact.stage,
            "tags": list(contact.tags or []),
            "owner_id": contact.owner_id,
        }
        if contact
        else None,
    }
    step.effect["delivery_id"] = webhooks.send_to_subscription(
        ctx,
        subscription_id=subscription_id,
        event_type=event_type,
        payload=payload,
        key=f"{origin.key}:{step.index}",
    )
    return step.effect


def _create_case(ctx: Ctx, step: _Step) -> dict[str, Any]:
    contact = _needs_contact(step.target, "create_case")
    raw = str(step.action["subject"])
    subject = render_text(raw, step.facts).strip() or raw
    priority = CasePriority(str(step.action.get("priority", "normal")))
    step.effect.update(subject=subject, priority=priority.value, contact_id=contact.id)
    if step.dry:
        return step.effect
    case = cases.open_case(
        ctx,
        contact.id,
        subject=subject[:300],
        description=render_text(str(step.action.get("description", "")), step.facts),
        priority=priority,
    )
    step.effect["case_id"] = case.id
    return step.effect


_ACTIONS: dict[str, Callable[[Ctx, _Step], dict[str, Any]]] = {
    "create_activity": _create_activity,
    "add_tag": _tag,
    "remove_tag": _tag,
    "set_owner": _set_owner,
    "end_relationship": _end_relationship,
    "start_playbook": _start_playbook,
    "stop_playbook": _stop_playbook,
    "send_email": _send_email,
    "call_webhook": _call_webhook,
    "create_case": _create_case,
}


def check_references(
    ctx: Ctx, actions: Sequence[Mapping[str, Any]], *, where: str = "actions", suffix: str = ""
) -> list[FieldError]:
    """Errors for actions naming records that do not exist in this workspace (members,
    playbooks, email templates, webhook subscriptions). ``suffix`` completes the path to the
    action (``.action`` for playbook steps)."""
    errors: list[FieldError] = []

    def at(i: int, name: str) -> str:
        return f"{where}[{i}]{suffix}.{name}"

    members = MembershipRepository(ctx.session, ctx.workspace_id)
    wanted_users = referenced_ids(actions, "user_id")
    found_users = members.user_ids([u for _, u in wanted_users]) if wanted_users else set()
    for i, user in wanted_users:
        if user not in found_users:
            name = "assignee" if actions[i].get("type") == "create_activity" else "user_id"
            errors.append(FieldError(at(i, name), "member", f"user {user} is not a member"))
    playbooks = referenced_ids(actions, "playbook_id")
    found = PlaybookRepository(ctx.session, ctx.workspace_id).existing_ids(
        [p for _, p in playbooks]
    )
    for i, pid in playbooks:
        if pid not in found:
            errors.append(FieldError(at(i, "playbook_id"), "exists", f"no playbook {pid}"))
    for key, model, noun in (
        ("template_id", EmailTemplate, "email template"),
        ("subscription_id", WebhookSubscription, "webhook subscription"),
    ):
        wanted = referenced_ids(actions, key)
        if not wanted:
            continue
        stmt = select(model.id).where(
            model.workspace_id == ctx.workspace_id, model.id.in_([x for _, x in wanted])
        )
        present = set(ctx.session.scalars(stmt).all())
        for i, ref_id in wanted:
            if ref_id not in present:
                errors.append(FieldError(at(i, key), "exists", f"no {noun} {ref_id}"))
    return errors


def describe_error(exc: Exception) -> str:
    """An action's failure in one line: a domain error by its message and code, anything else
    by its type and message."""
    if isinstance(exc, DomainError):
        return f"{exc.message} ({exc.code})"
    return f"{type(exc).__name__}: {exc}"
