"""Knowledge: what the business knows about a client, typed, versioned and kept fresh."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum

from tenure.domain.errors import FieldError, InvalidInput

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
MAX_TEXT = 5000


class KnowledgeKind(StrEnum):
    PREFERENCE = "preference"
    EXPECTATION = "expectation"
    FACT = "fact"
    DO_NOT = "do_not"


def check_entry(text: str, key: str | None) -> list[FieldError]:
    errors: list[FieldError] = []
    if not text.strip():
        errors.append(FieldError("text", "required", "say what is known"))
    elif len(text) > MAX_TEXT:
        errors.append(FieldError("text", "max-length", f"at most {MAX_TEXT} characters"))
    if key is not None and not KEY_PATTERN.match(key):
        errors.append(
            FieldError("key", "key", "lower-case letters, digits and _ (like preferred_channel)")
        )
    return errors


def require_valid(text: str, key: str | None) -> None:
    errors = check_entry(text, key)
    if errors:
        raise InvalidInput(errors)


def is_stale(last_confirmed_at: datetime, now: datetime, stale_days: int) -> bool:
    """Not confirmed for ``stale_days``: shown as something to check with the client."""
    return now - last_confirmed_at > timedelta(days=stale_days)
