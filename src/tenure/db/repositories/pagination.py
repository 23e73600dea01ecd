"""Keyset pagination: opaque cursors over (sort key, id), never OFFSET."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tenure.db.repositories.base import MAX_ID
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


def decode_cursor(
    cursor: str, *, arity: int, types: tuple[type[str] | type[int], ...] | None = None
) -> list[Any]:
    """The values of a cursor, each a string or a 64-bit integer (of ``types``, when given).

    A cursor is client input: a tampered one is refused here rather than reaching the database
    as a parameter it cannot bind."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput.one("cursor", "cursor", "not a cursor this list gave out") from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput.one("cursor", "cursor", "not a cursor this list gave out")
    kinds = types or (None,) * arity
    if not all(_fits(v, k) for v, k in zip(values, kinds, strict=True)):
        raise InvalidInput.one("cursor", "cursor", "not a cursor this list gave out")
    return values


def _fits(value: Any, kind: type[str] | type[int] | None) -> bool:
    """Cursors hold strings and 64-bit integers only (``kind`` None: either)."""
    if type(value) is int:
        return kind in (int, None) and -MAX_ID - 1 <= value <= MAX_ID
    if type(value) is str:
        return kind in (str, None) and "\x00" not in value
    return False


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.one("limit", "range", f"must be between 1 and {MAX_LIMIT}")
    return limit


def by_id(row: Any) -> list[Any]:
    return [row.id, row.id]


def page_of(rows: Sequence[Any], limit: int, key: Callable[[Any], list[Any]] = by_id) -> Page:
    """Cut the one extra row a keyset query fetched (``limit + 1``) into a page and the cursor
    that continues after its last item."""
    items = list(rows)
    if len(items) <= limit:
        return Page(items, None)
    items = items[:limit]
    return Page(items, encode_cursor(key(items[-1])))


def id_cursor(cursor: str | None) -> list[Any] | None:
    """The position of a list ordered by id (the cursor ``page_of`` gives out by default)."""
    return decode_cursor(cursor, arity=2, types=(int, int)) if cursor else None
