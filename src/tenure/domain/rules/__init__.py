"""Automation rules, as pure values: their JSON, its validation, conditions and date arithmetic.

A rule is *when* (a trigger), *if* (conditions) and *do* (actions), each stored as JSON and
checked here on save. Every error names the field (``trigger.offset_days``,
``conditions.all[1].op``, ``actions[0].title``) and the rule it breaks.

Triggers::

    {"type": "event", "event": "contact.converted"}
    {"type": "date", "field": "agreement.renews_on", "offset_days": -30}   30 days before
    {"type": "date", "field": "delivery.delivered_at", "offset_days": 7}   7 days after
    {"type": "date", "field": "contact.client_anniversary", "offset_days": 0}   every year
    {"type": "inactivity", "measure": "touch", "days": 60}     no touch for 60 days
    {"type": "inactivity", "measure": "service", "days": 365}  no service for a year
    {"type": "inactivity", "measure": "cadence", "days": 0}    cadence overdue (by > days)
    {"type": "recurrence", "rrule": "FREQ=MONTHLY;BYMONTHDAY=1",
     "dtstart": "2026-01-01T09:00:00", "timezone": "Europe/Berlin", "scope": "clients"}

Conditions: ``{}`` (always), or a group ``{"all": [...]}`` / ``{"any": [...]}`` of leaves and
groups; a leaf is ``{"field": "contact.stage", "op": "eq", "value": "client"}``. Fields are
``contact.<name>`` (``CONTACT_FIELDS``), ``record.<column>`` (the triggering record: the
agreement, delivery, case … or the contact itself), ``event.<key>`` (the event's type and
data) and ``trigger.<key>`` (``date``, ``field_date``, ``key``, ``occurrence``).

Actions: a list of ``{"type": <ACTION_TYPES>, ...}`` (see ``check_action``); the same
vocabulary is used by playbook steps. Titles may name facts in braces:
``"Renewal of {record.title} for {contact.display_name}"``.

When it fires: a date trigger's occurrence is due on ``field date + offset_days`` (the local
day of the workspace). It fires at the first evaluation on or after that day, once (its
``trigger key`` is recorded); evaluation looks back to the day it last ran, so after downtime
every occurrence that came due meanwhile fires once. An occurrence *before* its date (a
negative offset) that was missed, for instance because the rule is new or the agreement was
signed late, still fires while its date has not passed: a reminder late is better than none.

A package of pure modules: ``triggers``, ``conditions``, ``actions``, ``spec`` (a whole rule,
loop protection) and ``dates`` (when occurrences are due); everything is importable from here.
"""

from tenure.domain.rules.actions import (
    ACTION_KEYS,
    ACTION_TYPES,
    check_action,
    check_actions,
    collect_action,
    collect_actions,
    referenced_ids,
    render_text,
)
from tenure.domain.rules.conditions import (
    CONTACT_FIELDS,
    OPS,
    TRIGGER_FACTS,
    check_conditions,
    compare,
    evaluate,
    explain,
)
from tenure.domain.rules.dates import (
    anniversaries_due,
    anniversary,
    due_day,
    field_range,
    is_due,
    quiet_anchor,
    quiet_through,
    trigger_key,
    window_start,
)
from tenure.domain.rules.spec import RuleSpec, check_rule, depth_of, loop_guard
from tenure.domain.rules.triggers import (
    DATE,
    DATE_FIELDS,
    EVENT,
    INACTIVITY,
    INACTIVITY_MEASURES,
    RECURRENCE,
    RECURRENCE_SCOPES,
    TIME_TRIGGERS,
    TRIGGER_TYPES,
    DateTrigger,
    EventTrigger,
    InactivityTrigger,
    RecurrenceTrigger,
    Trigger,
    collect_trigger,
    describe_trigger,
    parse_trigger,
    trigger_json,
)

__all__ = [
    "ACTION_KEYS",
    "ACTION_TYPES",
    "CONTACT_FIELDS",
    "DATE",
    "DATE_FIELDS",
    "EVENT",
    "INACTIVITY",
    "INACTIVITY_MEASURES",
    "OPS",
    "RECURRENCE",
    "RECURRENCE_SCOPES",
    "TIME_TRIGGERS",
    "TRIGGER_FACTS",
    "TRIGGER_TYPES",
    "DateTrigger",
    "EventTrigger",
    "InactivityTrigger",
    "RecurrenceTrigger",
    "RuleSpec",
    "Trigger",
    "anniversaries_due",
    "anniversary",
    "check_action",
    "check_actions",
    "check_conditions",
    "check_rule",
    "collect_action",
    "collect_actions",
    "collect_trigger",
    "compare",
    "depth_of",
    "describe_trigger",
    "due_day",
    "evaluate",
    "explain",
    "field_range",
    "is_due",
    "loop_guard",
    "parse_trigger",
    "quiet_anchor",
    "quiet_through",
    "referenced_ids",
    "render_text",
    "trigger_json",
    "trigger_key",
    "window_start",
]
