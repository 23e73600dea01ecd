"""Contact values: kinds, and the normalization of emails, phones, tags and time zones."""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from tenure.domain.errors import FieldError


class ContactKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


MAX_TAG_LENGTH = 50


def normalize_email(value: str, field: str) -> tuple[str | None, FieldError | None]:
    try:
        info = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        return None, FieldError(field, "email", str(exc))
    return info.normalized.lower(), None


def normalize_phone(
    value: str, field: str, default_region: str | None
) -> tuple[str | None, FieldError | None]:
    """E.164 form; a number without a country code needs the contact's or workspace's region."""
    try:
        parsed = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        return None, FieldError(
            field, "phone", "not a phone number (give it with a + and country code)"
        )
    if not phonenumbers.is_possible_number(parsed):
        return None, FieldError(field, "phone", "not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None


def normalize_tag(value: str) -> str:
    return " ".join(value.strip().lower().split())


def is_valid_timezone(name: str) -> bool:
    if name not in _zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES  # noqa: PLW0603 - cache of a constant set, filled on first use
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def region_of_timezone(tz: str | None) -> str | None:
    """A best-effort phone region for numbers typed without a country code."""
    if not tz:
        return None
    for region, zones in _REGION_ZONES.items():
        if tz in zones:
            return region
    return None


_REGION_ZONES = {
    "GB": {"Europe/London"},
    "IE": {"Europe/Dublin"},
    "US": {
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/Phoenix",
    },
    "DE": {"Europe/Berlin"},
    "FR": {"Europe/Paris"},
    "NL": {"Europe/Amsterdam"},
    "ES": {"Europe/Madrid"},
    "IT": {"Europe/Rome"},
    "AU": {"Australia/Sydney", "Australia/Melbourne"},
}
