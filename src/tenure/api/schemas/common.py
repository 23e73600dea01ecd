"""Shared schema pieces."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

#: Dates outside this window are typing mistakes, and near the ends of Python's calendar a
#: time zone shift overflows.
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


class Input(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        """Refuse what no database column can hold (PostgreSQL text cannot contain NUL, and a
        lone surrogate is not UTF-8) and dates outside the plausible window."""
        _check_storable(value)
        return value


def _check_storable(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("no-nul", "must not contain NUL characters")
        try:
            value.encode()
        except UnicodeEncodeError:
            raise PydanticCustomError("utf-8", "must be valid Unicode text") from None
    elif isinstance(value, date):
        day = value.date() if isinstance(value, datetime) else value
        if not EARLIEST <= day <= LATEST:
            raise PydanticCustomError("date-range", f"must be between {EARLIEST} and {LATEST}")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key)
            _check_storable(item)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give a time zone offset, like 2026-03-01T09:00:00+00:00")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
