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
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeGuard

from tenure.domain.activities import ActivityKind
from tenure.domain.cases import CasePriority
from tenure.domain.contacts import MAX_TAG_LENGTH, normalize_tag
from tenure.domain.errors import FieldError, InvalidInput
from tenure.domain.events import EventType
from tenure.domain.lifecycle import USER_END_REASONS
from tenure.domain.recurrence import Recurrence, load_zone, parse_recurrence

# --- vocabulary ------------------------------------------------------------------------------

EVENT = "event"
DATE = "date"
INACTIVITY = "inactivity"
RECURRENCE = "recurrence"
TRIGGER_TYPES = (EVENT, DATE, INACTIVITY, RECURRENCE)
#: Triggers evaluated by the clock (``rules.time``), not by events.
TIME_TRIGGERS = frozenset({DATE, INACTIVITY, RECURRENCE})

#: Date fields a date trigger may be relative to, and what they mean.
DATE_FIELDS: dict[str, str] = {
    "agreement.renews_on": "the renewal date of an active agreement",
    "agreement.ends_on": "the end date of an active agreement",
    "delivery.delivered_at": "the day a delivery was delivered",
    "contact.client_since": "the day a client became a client (once)",
    "contact.client_anniversary": "every anniversary of becoming a client",
}
#: touch: no interaction/visit/call for N days; service: no delivered service for N days;
#: cadence: the next touch is overdue by more than N days.
INACTIVITY_MEASURES = ("touch", "service", "cadence")
#: Who a recurrence fires for.
RECURRENCE_SCOPES = ("clients", "contacts")

MAX_OFFSET_DAYS = 3660
MAX_INACTIVITY_DAYS = 3660

OPS = ("eq", "ne", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "exists")
ORDER_OPS = frozenset({"gt", "gte", "lt", "lte"})
MAX_CONDITION_DEPTH = 5
MAX_CONDITIONS = 100
MAX_IN_VALUES = 500

#: What ``contact.<name>`` may name (kept current by the services that build the facts).
CONTACT_FIELDS = frozenset(
    {
        "id",
        "kind",
        "stage",
        "display_name",
        "tags",
        "owner_id",
        "health_score",
        "client_since",
        "closed_tenure_days",
        "cadence_days",
        "last_touch_at",
        "last_interaction_at",
        "last_service_at",
        "next_activity_at",
        "next_touch_due",
        "do_not_email",
        "timezone",
        "emails",
        "created_at",
        "days_since_touch",
        "days_since_service",
        "days_as_client",
    }
)
TRIGGER_FACTS = frozenset({"type", "key", "date", "field_date", "occurrence", "days"})
_PATH = re.compile(r"^(contact|record|event|trigger)\.([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)$")
_PLACEHOLDER = re.compile(r"\{((?:contact|record|event|trigger)\.[a-z_][a-z0-9_.]*)\}")

ACTION_TYPES = (
    "create_activity",
    "add_tag",
    "remove_tag",
    "set_owner",
    "end_relationship",
    "start_playbook",
    "stop_playbook",
    "send_email",
    "call_webhook",
    "create_case",
)
MAX_ACTIONS = 20
MAX_TITLE = 300
MAX_NOTE = 2000
MAX_DUE_DAYS = 3660


# --- triggers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventTrigger:
    event: str
    type: str = EVENT


@dataclass(frozen=True)
class DateTrigger:
    field: str
    offset_days: int
    type: str = DATE


@dataclass(frozen=True)
class InactivityTrigger:
    measure: str
    days: int
    type: str = INACTIVITY


@dataclass(frozen=True)
class RecurrenceTrigger:
    recurrence: Recurrence
    scope: str
    type: str = RECURRENCE


Trigger = EventTrigger | DateTrigger | InactivityTrigger | RecurrenceTrigger


def _int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _unknown_keys(
    raw: Mapping[str, Any], allowed: set[str], where: str, errors: list[FieldError]
) -> None:
    for key in sorted(set(raw) - allowed):
        errors.append(FieldError(f"{where}.{key}", "unknown", "not a field of this object"))


def parse_trigger(raw: Any, *, default_timezone: str = "UTC", where: str = "trigger") -> Trigger:
    """The trigger of ``raw`` (JSON), or InvalidInput naming every bad field."""
    errors: list[FieldError] = []
    trigger = _trigger(raw, default_timezone, where, errors)
    if errors or trigger is None:
        raise InvalidInput(errors or [FieldError(where, "invalid", "not a trigger")])
    return trigger


def _trigger(
    raw: Any, default_timezone: str, where: str, errors: list[FieldError]
) -> Trigger | None:
    if not isinstance(raw, Mapping):
        errors.append(FieldError(where, "object", "must be an object with a type"))
        return None
    kind = raw.get("type")
    if kind not in TRIGGER_TYPES:
        errors.append(
            FieldError(f"{where}.type", "choice", f"must be one of {', '.join(TRIGGER_TYPES)}")
        )
        return None
    before = len(errors)
    trigger: Trigger | None
    if kind == EVENT:
        trigger = _event_trigger(raw, where, errors)
    elif kind == DATE:
        trigger = _date_trigger(raw, where, errors)
    elif kind == INACTIVITY:
        trigger = _inactivity_trigger(raw, where, errors)
    else:
        trigger = _recurrence_trigger(raw, default_timezone, where, errors)
    return trigger if len(errors) == before else None


def _event_trigger(
    raw: Mapping[str, Any], where: str, errors: list[FieldError]
) -> EventTrigger | None:
    _unknown_keys(raw, {"type", "event"}, where, errors)
    event = raw.get("event")
    if event not in {e.value for e in EventType}:
        errors.append(FieldError(f"{where}.event", "event-type", f"{event!r} is not an event type"))
        return None
    return EventTrigger(str(event))


def _date_trigger(
    raw: Mapping[str, Any], where: str, errors: list[FieldError]
) -> DateTrigger | None:
    _unknown_keys(raw, {"type", "field", "offset_days"}, where, errors)
    field = raw.get("field")
    offset = raw.get("offset_days", 0)
    if field not in DATE_FIELDS:
        errors.append(
            FieldError(f"{where}.field", "choice", f"must be one of {', '.join(DATE_FIELDS)}")
        )
    if not _int(offset) or abs(offset) > MAX_OFFSET_DAYS:
        errors.append(
            FieldError(
                f"{where}.offset_days",
                "range",
                f"a whole number of days from -{MAX_OFFSET_DAYS} to {MAX_OFFSET_DAYS} "
                "(negative: before the date)",
            )
        )
        return None
    return DateTrigger(str(field), int(offset))


def _inactivity_trigger(
    raw: Mapping[str, Any], where: str, errors: list[FieldError]
) -> InactivityTrigger | None:
    _unknown_keys(raw, {"type", "measure", "days"}, where, errors)
    measure = raw.get("measure", "touch")
    days = raw.get("days", 0 if measure == "cadence" else None)
    if measure not in INACTIVITY_MEASURES:
        errors.append(
            FieldError(
                f"{where}.measure", "choice", f"must be one of {', '.join(INACTIVITY_MEASURES)}"
            )
        )
    low = 0 if measure == "cadence" else 1
    if not _int(days) or not low <= days <= MAX_INACTIVITY_DAYS:
        errors.append(
            FieldError(
                f"{where}.days",
                "range",
                f"a whole number of days from {low} to {MAX_INACTIVITY_DAYS}",
            )
        )
        return None
    return InactivityTrigger(str(measure), int(days))


def _recurrence_trigger(
    raw: Mapping[str, Any], default_timezone: str, where: str, errors: list[FieldError]
) -> RecurrenceTrigger | None:
    _unknown_keys(raw, {"type", "rrule", "dtstart", "timezone", "scope"}, where, errors)
    scope = raw.get("scope", "clients")
    if scope not in RECURRENCE_SCOPES:
        errors.append(
            FieldError(f"{where}.scope", "choice", f"must be one of {', '.join(RECURRENCE_SCOPES)}")
        )
    text = raw.get("rrule")
    if not isinstance(text, str) or not text.strip():
        errors.append(FieldError(f"{where}.rrule", "required", "an RFC 5545 RRULE is required"))
        return None
    timezone = raw.get("timezone") or default_timezone
    start_raw = raw.get("dtstart")
    try:
        start = datetime.fromisoformat(str(start_raw)) if start_raw is not None else None
    except ValueError:
        start = None
    if start is None or start.tzinfo is not None:
        errors.append(
            FieldError(
                f"{where}.dtstart",
                "local-time",
                "the first occurrence as a local wall time, like 2026-01-05T09:00:00",
            )
        )
        return None
    try:
        load_zone(timezone, field=f"{where}.timezone")
        recurrence = parse_recurrence(text, dtstart=start, timezone=timezone)
    except InvalidInput as exc:
        errors.extend(
            FieldError(
                e.field if e.field.startswith(where) else f"{where}.{e.field}", e.rule, e.message
            )
            for e in exc.errors
        )
        return None
    return RecurrenceTrigger(recurrence, str(scope))


def trigger_json(trigger: Trigger) -> dict[str, Any]:
    """The normalized JSON stored for a trigger."""
    if isinstance(trigger, EventTrigger):
        return {"type": EVENT, "event": trigger.event}
    if isinstance(trigger, DateTrigger):
        return {"type": DATE, "field": trigger.field, "offset_days": trigger.offset_days}
    if isinstance(trigger, InactivityTrigger):
        return {"type": INACTIVITY, "measure": trigger.measure, "days": trigger.days}
    rec = trigger.recurrence
    return {
        "type": RECURRENCE,
        "rrule": rec.rrule_text(),
        "dtstart": rec.dtstart.isoformat(),
        "timezone": rec.timezone,
        "scope": trigger.scope,
    }


def describe_trigger(trigger: Trigger) -> str:
    """One line for people: 'on contact.converted', '30 days before agreement.renews_on' …"""
    if isinstance(trigger, EventTrigger):
        return f"on {trigger.event}"
    if isinstance(trigger, DateTrigger):
        n = abs(trigger.offset_days)
        if n == 0:
            return f"on {trigger.field}"
        side = "before" if trigger.offset_days < 0 else "after"
        return f"{n} day{'s' if n != 1 else ''} {side} {trigger.field}"
    if isinstance(trigger, InactivityTrigger):
        if trigger.measure == "cadence":
            extra = f" by more than {trigger.days} days" if trigger.days else ""
            return f"when the touch cadence is overdue{extra}"
        return f"after {trigger.days} days without {trigger.measure}"
    return f"{trigger.recurrence.rrule_text()} for {trigger.scope} ({trigger.recurrence.timezone})"


# --- conditions ------------------------------------------------------------------------------


def check_conditions(raw: Any, *, where: str = "conditions") -> dict[str, Any]:
    """The normalized conditions, or InvalidInput naming every bad leaf."""
    errors: list[FieldError] = []
    if raw is None or raw == {}:
        return {}
    counter = [0]
    out = _group(raw, where, 1, errors, counter)
    if counter[0] > MAX_CONDITIONS:
        errors.append(FieldError(where, "too-many", f"at most {MAX_CONDITIONS} conditions"))
    if errors:
        raise InvalidInput(errors)
    return out


def _group(
    raw: Any, where: str, depth: int, errors: list[FieldError], counter: list[int]
) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or len(raw) != 1 or next(iter(raw)) not in ("all", "any"):
        errors.append(FieldError(where, "group", 'a group is {"all": [...]} or {"any": [...]}'))
        return {}
    if depth > MAX_CONDITION_DEPTH:
        errors.append(FieldError(where, "depth", f"groups nest at most {MAX_CONDITION_DEPTH} deep"))
        return {}
    key = next(iter(raw))
    items = raw[key]
    if not isinstance(items, list) or not items:
        errors.append(FieldError(f"{where}.{key}", "non-empty-list", "a non-empty list"))
        return {}
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        path = f"{where}.{key}[{i}]"
        if isinstance(item, Mapping) and ("all" in item or "any" in item):
            out.append(_group(item, path, depth + 1, errors, counter))
        else:
            counter[0] += 1
            out.append(_leaf(item, path, errors))
    return {key: out}


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _leaf(raw: Any, where: str, errors: list[FieldError]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        errors.append(FieldError(where, "condition", 'like {"field": …, "op": …, "value": …}'))
        return {}
    _unknown_keys(raw, {"field", "op", "value"}, where, errors)
    field = raw.get("field")
    op = raw.get("op")
    ok = True
    if not isinstance(field, str) or not _PATH.match(field):
        errors.append(
            FieldError(
                f"{where}.field",
                "field-path",
                "contact.<name>, record.<name>, event.<name> or trigger.<name>",
            )
        )
        ok = False
    else:
        scope, _, name = field.partition(".")
        if scope == "contact" and name not in CONTACT_FIELDS:
            errors.append(
                FieldError(f"{where}.field", "contact-field", f"contacts have no field {name!r}")
            )
            ok = False
        if scope == "trigger" and name not in TRIGGER_FACTS:
            errors.append(
                FieldError(
                    f"{where}.field",
                    "trigger-field",
                    f"one of {', '.join(sorted('trigger.' + f for f in TRIGGER_FACTS))}",
                )
            )
            ok = False
    if op not in OPS:
        errors.append(FieldError(f"{where}.op", "choice", f"must be one of {', '.join(OPS)}"))
        return {}
    value = raw.get("value", True if op == "exists" else None)
    if op == "exists":
        if not isinstance(value, bool):
            errors.append(FieldError(f"{where}.value", "boolean", "exists takes true or false"))
            ok = False
    elif op in ("in", "not_in"):
        if (
            not isinstance(value, list)
            or len(value) > MAX_IN_VALUES
            or not all(_scalar(v) for v in value)
        ):
            errors.append(
                FieldError(
                    f"{where}.value",
                    "list",
                    f"{op} takes a list of at most {MAX_IN_VALUES} plain values",
                )
            )
            ok = False
    elif op in ORDER_OPS:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            errors.append(
                FieldError(f"{where}.value", "comparable", f"{op} takes a number or a date")
            )
            ok = False
    elif op == "contains":
        if value is None or not _scalar(value):
            errors.append(FieldError(f"{where}.value", "scalar", "contains takes a plain value"))
            ok = False
    elif not _scalar(value) and not (isinstance(value, list) and all(_scalar(v) for v in value)):
        errors.append(FieldError(f"{where}.value", "scalar", f"{op} takes a plain value"))
        ok = False
    if "value" not in raw and op not in ("exists", "eq", "ne"):
        errors.append(FieldError(f"{where}.value", "required", f"{op} needs a value"))
        ok = False
    return {"field": field, "op": op, "value": value} if ok else {}


def evaluate(conditions: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Whether the (validated) conditions hold for the facts; ``{}`` always holds."""
    return not explain(conditions, facts)


def explain(conditions: Mapping[str, Any], facts: Mapping[str, Any]) -> list[str]:
    """Why the conditions do not hold (the failing leaves, as text); empty when they hold."""
    if not conditions:
        return []
    return _explain_group(conditions, facts)


def _explain_group(group: Mapping[str, Any], facts: Mapping[str, Any]) -> list[str]:
    key = "all" if "all" in group else "any"
    failures: list[str] = []
    for item in group[key]:
        sub = (
            _explain_group(item, facts)
            if ("all" in item or "any" in item)
            else _leaf_fails(item, facts)
        )
        if key == "any" and not sub:
            return []
        failures.extend(sub)
    return failures


def _leaf_fails(leaf: Mapping[str, Any], facts: Mapping[str, Any]) -> list[str]:
    actual = facts.get(leaf["field"])
    if compare(leaf["op"], actual, leaf.get("value")):
        return []
    return [f"{leaf['field']} {leaf['op']} {leaf.get('value')!r} (is {_show(actual)})"]


def _show(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return repr(value)


def compare(op: str, actual: Any, expected: Any) -> bool:
    """One comparison of a fact with a condition's value (never raises: a mismatch is false)."""
    if op == "exists":
        present = actual is not None and actual not in ([], "")
        return present is bool(expected)
    if op == "eq":
        return _equal(actual, expected)
    if op == "ne":
        return not _equal(actual, expected)
    if op in ("in", "not_in"):
        values = expected if isinstance(expected, list) else [expected]
        if isinstance(actual, list):
            hit = any(_equal(a, v) for a in actual for v in values)
        else:
            hit = any(_equal(actual, v) for v in values)
        return hit if op == "in" else not hit
    if op == "contains":
        if isinstance(actual, list):
            return any(_equal(a, expected) for a in actual)
        if isinstance(actual, str) and expected is not None:
            return str(expected).casefold() in actual.casefold()
        return False
    if actual is None or expected is None:
        return False
    left, right = _comparable(actual, expected)
    if left is None or right is None:
        return False
    try:
        if op == "gt":
            return bool(left > right)
        if op == "gte":
            return bool(left >= right)
        if op == "lt":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        return False


def _equal(actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.casefold() == expected.casefold()
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    left, right = _comparable(actual, expected)
    return left is not None and left == right


def _comparable(actual: Any, expected: Any) -> tuple[Any, Any]:
    """Bring a condition value to the fact's type (dates given as ISO text, numbers)."""
    if isinstance(actual, datetime):
        moment = _as_datetime(expected)
        return (actual if actual.tzinfo else actual.replace(tzinfo=UTC)), moment
    if isinstance(actual, date):
        return actual, _as_date(expected)
    if isinstance(actual, bool):
        return actual, expected if isinstance(expected, bool) else None
    if isinstance(actual, int | float):
        if isinstance(expected, bool):
            return None, None
        if isinstance(expected, int | float):
            return actual, expected
        try:
            return actual, float(str(expected))
        except ValueError:
            return None, None
    if isinstance(actual, str):
        if isinstance(expected, str):
            return actual, expected
        if isinstance(expected, int | float) and not isinstance(expected, bool):
            try:
                return float(actual), expected
            except ValueError:
                return None, None
        return None, None
    return (actual, expected) if type(actual) is type(expected) else (None, None)


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


# --- actions ---------------------------------------------------------------------------------


def check_actions(raw: Any, *, where: str = "actions") -> list[dict[str, Any]]:
    """The normalized list of actions, or InvalidInput naming every bad field."""
    errors: list[FieldError] = []
    out = _actions(raw, where, errors)
    if errors:
        raise InvalidInput(errors)
    return out


def _actions(raw: Any, where: str, errors: list[FieldError]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        errors.append(FieldError(where, "non-empty-list", "a rule needs at least one action"))
        return []
    if len(raw) > MAX_ACTIONS:
        errors.append(FieldError(where, "too-many", f"at most {MAX_ACTIONS} actions"))
        return []
    return [collect_action(item, f"{where}[{i}]", errors) for i, item in enumerate(raw)]


def check_action(raw: Any, *, where: str = "action") -> dict[str, Any]:
    errors: list[FieldError] = []
    out = collect_action(raw, where, errors)
    if errors:
        raise InvalidInput(errors)
    return out


def _text(
    raw: Mapping[str, Any],
    name: str,
    where: str,
    errors: list[FieldError],
    *,
    required: bool,
    limit: int,
    default: str = "",
) -> str:
    value = raw.get(name, default)
    if not isinstance(value, str):
        errors.append(FieldError(f"{where}.{name}", "text", "must be text"))
        return ""
    text: str = value.strip()
    if required and not text:
        errors.append(FieldError(f"{where}.{name}", "required", "must not be empty"))
    elif len(text) > limit:
        errors.append(FieldError(f"{where}.{name}", "max-length", f"at most {limit} characters"))
    return text


def _id(raw: Mapping[str, Any], name: str, where: str, errors: list[FieldError]) -> int:
    value = raw.get(name)
    if not _int(value) or not 1 <= value <= 2**63 - 1:
        errors.append(FieldError(f"{where}.{name}", "id", "must be the id of a record"))
        return 0
    return int(value)


def _choice(
    raw: Mapping[str, Any],
    name: str,
    where: str,
    errors: list[FieldError],
    choices: Sequence[str],
    default: str,
) -> str:
    value = raw.get(name, default)
    if value not in choices:
        errors.append(
            FieldError(f"{where}.{name}", "choice", f"must be one of {', '.join(choices)}")
        )
        return default
    return str(value)


_ACTION_KEYS: dict[str, set[str]] = {
    "create_activity": {"kind", "title", "notes", "due_in_days", "assignee", "duration_minutes"},
    "add_tag": {"tag"},
    "remove_tag": {"tag"},
    "set_owner": {"user_id"},
    "end_relationship": {"reason", "note"},
    "start_playbook": {"playbook_id"},
    "stop_playbook": {"playbook_id"},
    "send_email": {"template_id"},
    "call_webhook": {"subscription_id"},
    "create_case": {"subject", "description", "priority"},
}


def collect_action(raw: Any, where: str, errors: list[FieldError]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        errors.append(FieldError(where, "object", 'an action is {"type": …, …}'))
        return {}
    kind = raw.get("type")
    if kind not in ACTION_TYPES:
        errors.append(
            FieldError(f"{where}.type", "choice", f"must be one of {', '.join(ACTION_TYPES)}")
        )
        return {}
    _unknown_keys(raw, {"type"} | _ACTION_KEYS[kind], where, errors)
    out: dict[str, Any] = {"type": kind}
    if kind == "create_activity":
        out["kind"] = _choice(
            raw, "kind", where, errors, [k.value for k in ActivityKind], ActivityKind.TASK.value
        )
        out["title"] = _text(raw, "title", where, errors, required=True, limit=MAX_TITLE)
        out["notes"] = _text(raw, "notes", where, errors, required=False, limit=MAX_NOTE)
        due = raw.get("due_in_days", 0)
        if not _int(due) or not 0 <= due <= MAX_DUE_DAYS:
            errors.append(FieldError(f"{where}.due_in_days", "range", f"0 to {MAX_DUE_DAYS} days"))
        out["due_in_days"] = due if _int(due) else 0
        assignee = raw.get("assignee", "owner")
        if assignee != "owner" and (not _int(assignee) or assignee < 1):
            errors.append(
                FieldError(f"{where}.assignee", "assignee", '"owner" or a member\'s user id')
            )
        out["assignee"] = assignee
        minutes = raw.get("duration_minutes", 60)
        if not _int(minutes) or not 1 <= minutes <= 24 * 60:
            errors.append(FieldError(f"{where}.duration_minutes", "range", "1 to 1440 minutes"))
        out["duration_minutes"] = minutes if _int(minutes) else 60
    elif kind in ("add_tag", "remove_tag"):
        tag = normalize_tag(_text(raw, "tag", where, errors, required=True, limit=500))
        if len(tag) > MAX_TAG_LENGTH:
            errors.append(
                FieldError(f"{where}.tag", "max-length", f"at most {MAX_TAG_LENGTH} characters")
            )
        out["tag"] = tag
    elif kind == "set_owner":
        out["user_id"] = _id(raw, "user_id", where, errors)
    elif kind == "end_relationship":
        out["reason"] = _choice(
            raw, "reason", where, errors, sorted(r.value for r in USER_END_REASONS), "other"
        )
        if "reason" not in raw:
            errors.append(FieldError(f"{where}.reason", "required", "say why it ends"))
        out["note"] = _text(raw, "note", where, errors, required=False, limit=MAX_NOTE)
    elif kind == "start_playbook":
        out["playbook_id"] = _id(raw, "playbook_id", where, errors)
    elif kind == "stop_playbook":
        if raw.get("playbook_id") is not None:
            out["playbook_id"] = _id(raw, "playbook_id", where, errors)
        else:
            out["playbook_id"] = None
    elif kind == "send_email":
        out["template_id"] = _id(raw, "template_id", where, errors)
    elif kind == "call_webhook":
        out["subscription_id"] = _id(raw, "subscription_id", where, errors)
    elif kind == "create_case":
        out["subject"] = _text(raw, "subject", where, errors, required=True, limit=MAX_TITLE)
        out["description"] = _text(
            raw, "description", where, errors, required=False, limit=MAX_NOTE
        )
        out["priority"] = _choice(
            raw,
            "priority",
            where,
            errors,
            [p.value for p in CasePriority],
            CasePriority.NORMAL.value,
        )
    return out


def referenced_ids(actions: Sequence[Mapping[str, Any]], key: str) -> list[tuple[int, int]]:
    """(action index, id) of every action that names a record by ``key`` (``playbook_id`` …)."""
    out: list[tuple[int, int]] = []
    for i, action in enumerate(actions):
        value = action.get(key)
        if key == "user_id" and action.get("type") == "create_activity":
            value = action.get("assignee")
        if _int(value):
            out.append((i, int(value)))
    return out


def render_text(template: str, facts: Mapping[str, Any]) -> str:
    """Fill ``{contact.display_name}``-style placeholders from the facts (unknown: empty)."""

    def fill(match: re.Match[str]) -> str:
        value = facts.get(match.group(1))
        if value is None:
            return ""
        if isinstance(value, datetime | date):
            return value.isoformat()[:10] if not isinstance(value, datetime) else value.isoformat()
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    return _PLACEHOLDER.sub(fill, template)


# --- a whole rule ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    """A validated rule's trigger, conditions and actions, normalized for storage."""

    trigger: Trigger
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]

    @property
    def trigger_json(self) -> dict[str, Any]:
        return trigger_json(self.trigger)

    @property
    def event_type(self) -> str | None:
        return self.trigger.event if isinstance(self.trigger, EventTrigger) else None

    @property
    def is_time_based(self) -> bool:
        return self.trigger.type in TIME_TRIGGERS


def check_rule(
    trigger: Any, conditions: Any, actions: Any, *, default_timezone: str = "UTC"
) -> RuleSpec:
    """Validate a whole rule; InvalidInput lists every bad field of all three parts."""
    errors: list[FieldError] = []
    parsed = _trigger(trigger, default_timezone, "trigger", errors)
    normalized: dict[str, Any] = {}
    try:
        normalized = check_conditions(conditions)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    checked = _actions(actions, "actions", errors)
    if errors or parsed is None:
        raise InvalidInput(errors or [FieldError("trigger", "invalid", "not a trigger")])
    return RuleSpec(parsed, normalized, checked)


# --- loop protection -------------------------------------------------------------------------


def loop_guard(rule_id: int, origin: Mapping[str, Any] | None, max_depth: int) -> str | None:
    """Why a rule must not act on an event (None: it may).

    ``origin`` is the automation that caused the event (``{"rule_id", "depth"}``): a rule never
    acts on its own effects, and a chain of rules triggering rules stops at ``max_depth``.
    """
    if not origin:
        return None
    if origin.get("rule_id") == rule_id:
        return "own-effect"
    depth = origin.get("depth", 0)
    if _int(depth) and depth >= max_depth:
        return "max-depth"
    return None


def depth_of(origin: Mapping[str, Any] | None) -> int:
    depth = (origin or {}).get("depth", 0)
    return int(depth) if _int(depth) else 0


# --- date arithmetic -------------------------------------------------------------------------


def due_day(field_date: date, offset_days: int) -> date:
    """The day an occurrence relative to ``field_date`` comes due."""
    return field_date + timedelta(days=offset_days)


def window_start(evaluated_until: date | None, first_day: date) -> date:
    """The first day an evaluation looks at: the day of the last evaluation (re-examined, so a
    record added later that day is not missed), else the day the rule was made."""
    return evaluated_until if evaluated_until is not None else first_day


def is_due(field_date: date, offset_days: int, since: date, today: date) -> bool:
    """Whether an occurrence fires in an evaluation covering days ``since`` … ``today``."""
    due = due_day(field_date, offset_days)
    if due > today:
        return False
    if due >= since:
        return True
    # A reminder before a date that was missed (new rule, late record) while the date is ahead.
    return offset_days < 0 and field_date >= today


def field_range(offset_days: int, since: date, today: date) -> tuple[date, date]:
    """The field dates (inclusive) whose occurrences ``is_due`` may accept: what to query."""
    high = today - timedelta(days=offset_days)
    low = since - timedelta(days=offset_days)
    if offset_days < 0:
        low = min(low, today)
    return low, high


def anniversary(since: date, year: int) -> date:
    """The anniversary of ``since`` in ``year`` (29 February is kept on 28 February)."""
    try:
        return since.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def anniversaries_due(
    since: date, offset_days: int, window_from: date, today: date
) -> list[tuple[int, date]]:
    """(year, due day) of each anniversary (year 1 on) that fires in the window."""
    out: list[tuple[int, date]] = []
    first_year = since.year + 1
    span = abs(offset_days) // 365 + 1
    for year in range(max(first_year, window_from.year - span), today.year + span + 1):
        field_date = anniversary(since, year)
        if is_due(field_date, offset_days, window_from, today):
            out.append((year, due_day(field_date, offset_days)))
    return out


def quiet_anchor(last_day: date | None, client_since: date | None) -> date | None:
    """Since when a client has been quiet: the last touch (or service), else becoming a
    client; the later of the two (a returning client's quiet starts at their return)."""
    if last_day is None:
        return client_since
    if client_since is not None and client_since > last_day:
        return client_since
    return last_day


def quiet_through(today: date, days: int) -> date:
    """The latest anchor that counts as 'quiet for ``days`` days' today."""
    return today - timedelta(days=days)


def trigger_key(*parts: object) -> str:
    """The identity of one trigger occurrence (a rule fires once per key)."""
    return ":".join(str(p) for p in parts)[:200]
