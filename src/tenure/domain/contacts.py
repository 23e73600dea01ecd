"""Contact values: kinds, and the normalization of emails, phones, tags and time zones."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from phonenumbers import PhoneMetadata

from tenure.domain.errors import FieldError


class ContactKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


MAX_TAG_LENGTH = 50


def normalize_email(value: str, field: str) -> tuple[str | None, FieldError | None]:
    text = value.strip()
    plain = plain_email(text)
    if plain is not None:
        return plain, None
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, FieldError(field, "email", str(exc))
    return info.normalized.lower(), None


#: A plain ASCII address: a dot-atom local part (RFC 5322 atext, as email-validator reads it)
#: at a host name of letters, digits and inner hyphens, with a dot and a top-level domain of
#: letters. Anything else (quotes, Unicode, IDNA, display names) takes the full validator.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[A-Za-z0-9_!#$%&'*+\-/=?^`{|}~]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_SPECIAL_USE = tuple(SPECIAL_USE_DOMAIN_NAMES)


def plain_email(text: str) -> str | None:
    """The normalized form of a plainly valid ASCII address, or None to ask email-validator.

    Imports normalize one address per row; the validator costs ~50 µs an address, this ~1 µs.
    For every address it answers, the answer is the validator's (``normalized``, lower-cased;
    property-tested against it): ASCII needs no Unicode normalization, and a host name of
    plain labels comes back from IDNA lower-cased and otherwise unchanged. What the validator
    would refuse or rewrite is left to it: ``--`` in a label (Punycode and its lookalikes),
    special-use domains, over-long addresses."""
    if len(text) > 254 or "--" in text or _PLAIN_EMAIL.fullmatch(text) is None:
        return None
    domain = text[text.rindex("@") + 1 :].lower()
    if len(domain) > 253:
        return None
    for special in _SPECIAL_USE:
        if domain == special or domain.endswith("." + special):
            return None
    return text.lower()


def normalize_phone(
    value: str, field: str, default_region: str | None
) -> tuple[str | None, FieldError | None]:
    """E.164 form; a number without a country code needs the contact's or workspace's region."""
    e164, rule = _e164(value, default_region)
    if e164 is None:
        message = (
            "not a possible phone number"
            if rule == "impossible"
            else "not a phone number (give it with a + and country code)"
        )
        return None, FieldError(field, "phone", message)
    return e164, None


@lru_cache(maxsize=65536)
def _e164(value: str, default_region: str | None) -> tuple[str | None, str]:
    """(E.164, "") or (None, why): parsed once per number and region (files repeat them)."""
    try:
        parsed = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        return None, "unparsable"
    if not phonenumbers.is_possible_number(parsed):
        return None, "impossible"
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if e164 not in _NATIONAL and _reparses_alike(parsed):
        # The search document needs the national form: keep it from this parse.
        core = phonenumbers.PhoneNumber(
            country_code=parsed.country_code,
            national_number=parsed.national_number,
            italian_leading_zero=parsed.italian_leading_zero,
            number_of_leading_zeros=parsed.number_of_leading_zeros,
        )
        _remember_national(e164, _format_national(core))
    return e164, ""


#: E.164 → national format of numbers seen lately (bounded; see ``national_format``).
_NATIONAL: dict[str, str] = {}
_NATIONAL_LIMIT = 65536


def national_format(e164: str) -> str:
    """The national form of an E.164 number as ``phonenumbers`` parses and formats it ("" when
    it cannot be parsed).

    The same as ``format_number(parse(e164, None), NATIONAL)``, remembered: ``normalize_phone``
    already parsed the number, and a second parse is a third of an imported row's cost."""
    found = _NATIONAL.get(e164)
    if found is None:
        try:
            found = _format_national(phonenumbers.parse(e164, None))
        except phonenumbers.NumberParseException:
            found = ""
        _remember_national(e164, found)
    return found


def _format_national(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def _remember_national(e164: str, national: str) -> None:
    if len(_NATIONAL) >= _NATIONAL_LIMIT:
        _NATIONAL.clear()
    _NATIONAL[e164] = national


def _reparses_alike(parsed: phonenumbers.PhoneNumber) -> bool:
    """Whether parsing the number's E.164 form gives the same number back.

    ``parse("+<code><national number>")`` takes the country code off, then strips what looks
    like a national prefix from the national number (``national_prefix_for_parsing`` at its
    start). When there is nothing to strip, it yields exactly this number (the leading zeros
    are set from the same digits), so its national form is this number's. Otherwise (rare,
    odd numbers) it may not be, and ``national_format`` parses again."""
    code = parsed.country_code
    if code is None:
        return False
    region = phonenumbers.region_code_for_country_code(code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    if metadata is None:
        return False
    prefix = metadata.national_prefix_for_parsing
    if not prefix:
        return True
    national = phonenumbers.national_significant_number(parsed)
    return re.match(prefix, national) is None


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
