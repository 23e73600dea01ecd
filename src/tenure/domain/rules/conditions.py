"""Conditions: comparisons on the contact, the triggering record, the event and the trigger,
combined with all/any; validated on save, evaluated over a plain dict of facts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from tenure.domain.errors import FieldError, InvalidInput
from tenure.domain.rules._fields import unknown_keys

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
    unknown_keys(raw, {"field", "op", "value"}, where, errors)
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
