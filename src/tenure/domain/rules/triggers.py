"""Triggers: when a rule fires (an event, a date relative to a field, inactivity, a recurrence)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenure.domain.errors import FieldError, InvalidInput
from tenure.domain.events import EventType
from tenure.domain.recurrence import Recurrence, load_zone, parse_recurrence
from tenure.domain.rules._fields import is_int, unknown_keys

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


def parse_trigger(raw: Any, *, default_timezone: str = "UTC", where: str = "trigger") -> Trigger:
    """The trigger of ``raw`` (JSON), or InvalidInput naming every bad field."""
    errors: list[FieldError] = []
    trigger = collect_trigger(raw, default_timezone, where, errors)
    if errors or trigger is None:
        raise InvalidInput(errors or [FieldError(where, "invalid", "not a trigger")])
    return trigger


def collect_trigger(
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
    unknown_keys(raw, {"type", "event"}, where, errors)
    event = raw.get("event")
    if event not in {e.value for e in EventType}:
        errors.append(FieldError(f"{where}.event", "event-type", f"{event!r} is not an event type"))
        return None
    return EventTrigger(str(event))


def _date_trigger(
    raw: Mapping[str, Any], where: str, errors: list[FieldError]
) -> DateTrigger | None:
    unknown_keys(raw, {"type", "field", "offset_days"}, where, errors)
    field = raw.get("field")
    offset = raw.get("offset_days", 0)
    if field not in DATE_FIELDS:
        errors.append(
            FieldError(f"{where}.field", "choice", f"must be one of {', '.join(DATE_FIELDS)}")
        )
    if not is_int(offset) or abs(offset) > MAX_OFFSET_DAYS:
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
    unknown_keys(raw, {"type", "measure", "days"}, where, errors)
    measure = raw.get("measure", "touch")
    days = raw.get("days", 0 if measure == "cadence" else None)
    if measure not in INACTIVITY_MEASURES:
        errors.append(
            FieldError(
                f"{where}.measure", "choice", f"must be one of {', '.join(INACTIVITY_MEASURES)}"
            )
        )
    low = 0 if measure == "cadence" else 1
    if not is_int(days) or not low <= days <= MAX_INACTIVITY_DAYS:
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
    unknown_keys(raw, {"type", "rrule", "dtstart", "timezone", "scope"}, where, errors)
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
