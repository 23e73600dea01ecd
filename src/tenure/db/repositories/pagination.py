"""Keyset pagination: opaque cursors over (sort key, id), never OFFSET."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from tenure.domain.errors import InvalidInput

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput.one("cursor", "cursor", "not a cursor this list gave out") from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput.one("cursor", "cursor", "not a cursor this list gave out")
    return values


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.one("limit", "range", f"must be between 1 and {MAX_LIMIT}")
    return limit
