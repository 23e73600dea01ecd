"""Rule, rule run, playbook and playbook run schemas.

Triggers, conditions, actions and steps are JSON objects validated by the domain
(``tenure.domain.rules``, ``tenure.domain.playbooks``), which names the bad field
(``trigger.offset_days``, ``actions[0].title``) in a 422 problem; the examples below show
each shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from tenure.api.schemas.common import Input, Output

TRIGGER_DOC = (
    'One of: {"type": "event", "event": "contact.converted"}; '
    '{"type": "date", "field": "agreement.renews_on" | "agreement.ends_on" | '
    '"delivery.delivered_at" | "contact.client_since" | "contact.client_anniversary", '
    '"offset_days": -30 (negative: before)}; '
    '{"type": "inactivity", "measure": "touch" | "service" | "cadence", "days": 30}; '
    '{"type": "recurrence", "rrule": "FREQ=MONTHLY;BYMONTHDAY=1", '
    '"dtstart": "2026-01-01T09:00:00", "timezone": "Europe/Berlin", '
    '"scope": "clients" | "contacts"}.'
)
CONDITIONS_DOC = (
    '{} (always) or {"all": [...]} / {"any": [...]} of groups and leaves '
    '{"field": "contact.stage", "op": "eq", "value": "client"}. Fields: contact.<name>, '
    "record.<column> (the triggering record), event.<key>, trigger.<key>. "
    "Ops: eq, ne, in, not_in, contains, gt, gte, lt, lte, exists."
)
ACTIONS_DOC = (
    'Each {"type": …}: create_activity {kind, title, notes, due_in_days, assignee: '
    '"owner" | user id, duration_minutes}; add_tag {tag}; remove_tag {tag}; set_owner '
    "{user_id}; end_relationship {reason, note}; start_playbook {playbook_id}; stop_playbook "
    "{playbook_id?}; send_email {template_id}; call_webhook {subscription_id}; create_case "
    "{subject, description, priority}. Texts may name facts: {contact.display_name}."
)

TRIGGER_EXAMPLE = {"type": "date", "field": "agreement.renews_on", "offset_days": -30}
CONDITIONS_EXAMPLE = {"all": [{"field": "contact.stage", "op": "eq", "value": "client"}]}
ACTIONS_EXAMPLE = [
    {
        "type": "create_activity",
        "kind": "task",
        "title": "Renewal of {record.title} on {trigger.field_date}",
        "due_in_days": 0,
        "assignee": "owner",
    }
]
STEPS_EXAMPLE = [
    {"day": 0, "name": "Welcome", "action": {"type": "send_email", "template_id": 1}},
    {
        "day": 3,
        "name": "Kickoff call",
        "action": {"type": "create_activity", "kind": "call", "title": "Kickoff call"},
    },
    {
        "day": 30,
        "name": "Review",
        "action": {"type": "create_activity", "kind": "review", "title": "30-day review"},
    },
]


class RuleCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    enabled: bool = True
    trigger: dict[str, Any] = Field(description=TRIGGER_DOC, examples=[TRIGGER_EXAMPLE])
    conditions: dict[str, Any] = Field(
        default_factory=dict, description=CONDITIONS_DOC, examples=[CONDITIONS_EXAMPLE]
    )
    actions: list[dict[str, Any]] = Field(
        min_length=1, max_length=20, description=ACTIONS_DOC, examples=[ACTIONS_EXAMPLE]
    )
    owner_id: int | None = Field(
        default=None,
        description="Who the rule belongs to (default: you); assignee of its 'owner' tasks "
        "for contacts without an owner.",
    )


class RuleUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    enabled: bool | None = None
    trigger: dict[str, Any] | None = Field(default=None, description=TRIGGER_DOC)
    conditions: dict[str, Any] | None = Field(default=None, description=CONDITIONS_DOC)
    actions: list[dict[str, Any]] | None = Field(
        default=None, min_length=1, max_length=20, description=ACTIONS_DOC
    )
    owner_id: int | None = None


class RuleDraft(Input):
    """An unsaved rule to simulate."""

    name: str = Field(default="", max_length=200)
    trigger: dict[str, Any] = Field(description=TRIGGER_DOC, examples=[TRIGGER_EXAMPLE])
    conditions: dict[str, Any] = Field(default_factory=dict, description=CONDITIONS_DOC)
    actions: list[dict[str, Any]] = Field(description=ACTIONS_DOC, examples=[ACTIONS_EXAMPLE])


class RuleRead(Output):
    id: int
    name: str
    description: str
    enabled: bool
    trigger: dict[str, Any]
    event_type: str | None
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    owner_id: int | None
    builtin: str | None = Field(description="The shipped default this rule came from.")
    evaluated_until: datetime | None = Field(
        description="Time-based triggers: evaluated up to here."
    )
    created_at: datetime
    updated_at: datetime
    version: int


class RulePage(Output):
    items: list[RuleRead]
    next_cursor: str | None


class RuleRunRead(Output):
    id: int
    rule_id: int
    trigger_key: str = Field(description="The trigger occurrence: a rule fires once per key.")
    contact_id: int | None
    event_id: int | None
    outcome: str = Field(description="done | failed | skipped (conditions not met)")
    effects: list[dict[str, Any]] = Field(description="What each action did.")
    error: str
    created_at: datetime


class RuleRunPage(Output):
    items: list[RuleRunRead]
    next_cursor: str | None


class SimulationItem(Output):
    trigger_key: str
    contact_id: int | None
    contact_name: str | None
    event_id: int | None
    record_type: str | None
    record_id: int | None
    trigger: dict[str, Any]
    outcome: str = Field(
        description="would_fire | would_fail | skipped | already_fired | suppressed"
    )
    reasons: list[str] = Field(description="Skipped: the conditions that did not hold.")
    actions: list[dict[str, Any]] = Field(description="What each action would do.")
    error: str


class SimulationRead(Output):
    rule_id: int | None
    name: str
    trigger: dict[str, Any]
    description: str
    evaluated_at: datetime
    window: dict[str, Any]
    examined: int
    would_fire: int
    would_fail: int
    skipped: int
    already_fired: int
    suppressed: int
    items: list[SimulationItem]
    truncated: bool


class DefaultsInstalled(Output):
    installed: list[str]
    present: list[str]


class PlaybookCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    enabled: bool = True
    steps: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=50,
        description='Each {"day": N (after the start), "name": "…", "action": {…}} with the '
        "actions of rules.",
        examples=[STEPS_EXAMPLE],
    )


class PlaybookUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    enabled: bool | None = None
    steps: list[dict[str, Any]] | None = Field(default=None, min_length=1, max_length=50)


class PlaybookRead(Output):
    id: int
    name: str
    description: str
    enabled: bool
    steps: list[dict[str, Any]]
    builtin: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class PlaybookPage(Output):
    items: list[PlaybookRead]
    next_cursor: str | None


class PlaybookStart(Input):
    playbook_id: int


class PlaybookCancel(Input):
    reason: str = Field(default="", max_length=2000)


class StepProgressRead(Output):
    index: int
    day: int
    name: str
    due_at: datetime
    state: str = Field(description="done | pending | failed | skipped")
    error: str


class PlaybookRunRead(Output):
    id: int
    playbook_id: int
    playbook_name: str
    contact_id: int
    status: str = Field(description="running | completed | stopped | cancelled")
    started_at: datetime
    started_by_rule_id: int | None
    finished_at: datetime | None
    stop_reason: str
    steps: list[StepProgressRead]


class PlaybookRunList(Output):
    items: list[PlaybookRunRead]
