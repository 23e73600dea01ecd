"""Reading HTML forms: text fields, numbers, and a refused action's errors by field.

Parsing is the edge's job (a form sends strings); every rule about the values stays in the
services, whose ``InvalidInput`` names the fields the page then marks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tenure.domain.errors import DomainError, FieldError, InvalidInput


def text(form: Any, name: str) -> str:
    """A single-line field, trimmed ("" when missing)."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def raw(form: Any, name: str) -> str:
    """A multi-line field as typed (Markdown and templates keep their whitespace)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def values(form: Any, exclude: Iterable[str] = ("csrf",)) -> dict[str, str]:
    """What the user typed, to put back into the form after a refusal (never the CSRF token
    or a password)."""
    skip = {*exclude, "password", "password_confirm"}
    return {k: v for k, v in form.items() if isinstance(v, str) and k not in skip}


def number(value: str, field: str, errors: list[FieldError], *, required: bool = True) -> Any:
    """An integer field; a bad one is collected in ``errors`` (None then)."""
    if not value.strip():
        if required:
            errors.append(FieldError(field, "required", "give a number"))
        return None
    try:
        return int(value.strip())
    except ValueError:
        errors.append(FieldError(field, "integer", "not a whole number"))
        return None


def errors_of(exc: DomainError) -> dict[str, str]:
    """Field → message, plus ``_`` → the whole message (shown at the top of the form)."""
    if isinstance(exc, InvalidInput):
        return {e.field: e.message for e in exc.errors} | {"_": exc.message}
    field = exc.details.get("field")
    found = {str(field): exc.message} if isinstance(field, str) else {}
    return found | {"_": exc.message}


def raise_if(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidInput(errors)
