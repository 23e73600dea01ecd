"""The shipped defaults: an onboarding playbook started on conversion, a renewal reminder 30
days before renewal, a follow-up 7 days after a delivery, a check-in when the cadence is overdue.

Installed once per workspace (each carries a ``builtin`` key, and installing again adds only
what is missing); afterwards they are ordinary rules and playbooks, editable and disable-able.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tenure.db.models import Workspace
from tenure.db.repositories.rules import PlaybookRepository, RuleRepository
from tenure.domain.access import Permission
from tenure.services.context import Ctx
from tenure.services.rules.crud import create_rule

ONBOARDING_PLAYBOOK: dict[str, Any] = {
    "builtin": "onboarding",
    "name": "Onboarding",
    "description": "Welcome, kickoff and a first review for every new client.",
    "steps": [
        {
            "day": 0,
            "name": "Welcome",
            "action": {
                "type": "create_activity",
                "kind": "task",
                "title": "Welcome {contact.display_name}: send the welcome message",
                "assignee": "owner",
            },
        },
        {
            "day": 3,
            "name": "Kickoff call",
            "action": {
                "type": "create_activity",
                "kind": "call",
                "title": "Kickoff call with {contact.display_name}",
                "assignee": "owner",
            },
        },
        {
            "day": 30,
            "name": "30-day review",
            "action": {
                "type": "create_activity",
                "kind": "review",
                "title": "30-day review with {contact.display_name}",
                "assignee": "owner",
            },
        },
    ],
}


def _default_rules(onboarding_playbook_id: int) -> list[dict[str, Any]]:
    return [
        {
            "builtin": "onboarding",
            "name": "Onboard new clients",
            "description": "Starts the onboarding playbook when a contact becomes a client.",
            "trigger": {"type": "event", "event": "contact.converted"},
            "actions": [{"type": "start_playbook", "playbook_id": onboarding_playbook_id}],
        },
        {
            "builtin": "renewal_reminder",
            "name": "Renewal reminder",
            "description": "Reminds the client's owner 30 days before an agreement renews.",
            "trigger": {"type": "date", "field": "agreement.renews_on", "offset_days": -30},
            "conditions": {"all": [{"field": "contact.stage", "op": "eq", "value": "client"}]},
            "actions": [
                {
                    "type": "create_activity",
                    "kind": "task",
                    "title": "Renewal on {trigger.field_date}: {record.title} "
                    "({contact.display_name})",
                    "assignee": "owner",
                }
            ],
        },
        {
            "builtin": "delivery_follow_up",
            "name": "Follow up after a delivery",
            "description": "A follow-up task 7 days after a service was delivered.",
            "trigger": {"type": "date", "field": "delivery.delivered_at", "offset_days": 7},
            "conditions": {"all": [{"field": "contact.stage", "op": "eq", "value": "client"}]},
            "actions": [
                {
                    "type": "create_activity",
                    "kind": "task",
                    "title": "Follow up with {contact.display_name} on {record.title}",
                    "assignee": "owner",
                }
            ],
        },
        {
            "builtin": "cadence_check_in",
            "name": "Check in when the cadence is overdue",
            "description": "A check-in call when a client has not been touched within their "
            "cadence.",
            "trigger": {"type": "inactivity", "measure": "cadence", "days": 0},
            "actions": [
                {
                    "type": "create_activity",
                    "kind": "call",
                    "title": "Check in with {contact.display_name}",
                    "assignee": "owner",
                }
            ],
        },
    ]


BUILTIN_RULES = ("onboarding", "renewal_reminder", "delivery_follow_up", "cadence_check_in")


def install_defaults(ctx: Ctx) -> dict[str, list[str]]:
    """Add the shipped defaults that this workspace does not have yet (never twice: a default
    someone edited or disabled stays as they left it)."""
    from tenure.services import playbooks

    ctx.require(Permission.ADMIN)
    # One installer at a time per workspace (two admins clicking at once add nothing twice).
    ctx.session.execute(
        select(Workspace.id).where(Workspace.id == ctx.workspace_id).with_for_update()
    )
    installed: list[str] = []
    present: list[str] = []
    books = PlaybookRepository(ctx.session, ctx.workspace_id)
    onboarding = books.by_builtin().get(ONBOARDING_PLAYBOOK["builtin"])
    if onboarding is None:
        name = ONBOARDING_PLAYBOOK["name"]
        if books.by_name(name) is not None:
            name = f"{name} (default)"
        onboarding = playbooks.create_playbook(
            ctx,
            name=name,
            description=ONBOARDING_PLAYBOOK["description"],
            steps=ONBOARDING_PLAYBOOK["steps"],
            builtin=ONBOARDING_PLAYBOOK["builtin"],
        )
        installed.append("playbook:onboarding")
    else:
        present.append("playbook:onboarding")
    existing = RuleRepository(ctx.session, ctx.workspace_id).by_builtin()
    for spec in _default_rules(onboarding.id):
        key = spec.pop("builtin")
        if key in existing:
            present.append(f"rule:{key}")
            continue
        create_rule(ctx, builtin=key, owner_id=None, **spec)
        installed.append(f"rule:{key}")
    return {"installed": installed, "present": present}
