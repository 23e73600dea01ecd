"""Small checks shared by the rule parsers (private to ``tenure.domain.rules``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

from tenure.domain.errors import FieldError


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def unknown_keys(
    raw: Mapping[str, Any], allowed: set[str], where: str, errors: list[FieldError]
) -> None:
    for key in sorted(set(raw) - allowed):
        errors.append(FieldError(f"{where}.{key}", "unknown", "not a field of this object"))
