"""Actions: what a rule (or a playbook step) does, one vocabulary for both."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from tenure.domain.activities import ActivityKind
from tenure.domain.cases import CasePriority
from tenure.domain.contacts import MAX_TAG_LENGTH, normalize_tag
from tenure.domain.errors import FieldError, InvalidInput
from tenure.domain.lifecycle import USER_END_REASONS
from tenure.domain.rules._fields import is_int, unknown_keys

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


def check_actions(raw: Any, *, where: str = "actions") -> list[dict[str, Any]]:
    """The normalized list of actions, or InvalidInput naming every bad field."""
    errors: list[FieldError] = []
    out = collect_actions(raw, where, errors)
    if errors:
        raise InvalidInput(errors)
    return out


def collect_actions(raw: Any, where: str, errors: list[FieldError]) -> list[dict[str, Any]]:
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
    if not is_int(value) or not 1 <= value <= 2**63 - 1:
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


ACTION_KEYS: dict[str, set[str]] = {
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


def _activity(
    raw: Mapping[str, Any], where: str, errors: list[FieldError], out: dict[str, Any]
) -> None:
    out["kind"] = _choice(
        raw, "kind", where, errors, [k.value for k in ActivityKind], ActivityKind.TASK.value
    )
    out["title"] = _text(raw, "title", where, errors, required=True, limit=MAX_TITLE)
    out["notes"] = _text(raw, "notes", where, errors, required=False, limit=MAX_NOTE)
    due = raw.get("due_in_days", 0)
    if not is_int(due) or not 0 <= due <= MAX_DUE_DAYS:
        errors.append(FieldError(f"{where}.due_in_days", "range", f"0 to {MAX_DUE_DAYS} days"))
    out["due_in_days"] = due if is_int(due) else 0
    assignee = raw.get("assignee", "owner")
    if assignee != "owner" and (not is_int(assignee) or assignee < 1):
        errors.append(FieldError(f"{where}.assignee", "assignee", '"owner" or a member\'s user id'))
    out["assignee"] = assignee
    minutes = raw.get("duration_minutes", 60)
    if not is_int(minutes) or not 1 <= minutes <= 24 * 60:
        errors.append(FieldError(f"{where}.duration_minutes", "range", "1 to 1440 minutes"))
    out["duration_minutes"] = minutes if is_int(minutes) else 60


def collect_action(raw: Any, where: str, errors: list[FieldError]) -> dict[str, Any]:
    """One action normalized (defaults filled in), its problems added to ``errors`` under
    ``where`` (``actions[0]``, ``steps[2].action``)."""
    if not isinstance(raw, Mapping):
        errors.append(FieldError(where, "object", 'an action is {"type": …, …}'))
        return {}
    kind = raw.get("type")
    if kind not in ACTION_TYPES:
        errors.append(
            FieldError(f"{where}.type", "choice", f"must be one of {', '.join(ACTION_TYPES)}")
        )
        return {}
    unknown_keys(raw, {"type"} | ACTION_KEYS[kind], where, errors)
    out: dict[str, Any] = {"type": kind}
    if kind == "create_activity":
        _activity(raw, where, errors, out)
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
        if is_int(value):
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
