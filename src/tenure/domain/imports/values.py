"""Reading cell values: dates, times, money, choices and phone regions, as imports spell them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

#: Currencies whose minor unit is not a hundredth (ISO 4217 exponent).
ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})

#: Countries as exports spell them → phone regions, for numbers written without a +code.
COUNTRY_REGIONS = {
    "united kingdom": "GB",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "gb": "GB",
    "scotland": "GB",
    "wales": "GB",
    "ireland": "IE",
    "united states": "US",
    "usa": "US",
    "us": "US",
    "united states of america": "US",
    "canada": "CA",
    "germany": "DE",
    "deutschland": "DE",
    "france": "FR",
    "italy": "IT",
    "italia": "IT",
    "spain": "ES",
    "españa": "ES",
    "netherlands": "NL",
    "belgium": "BE",
    "austria": "AT",
    "switzerland": "CH",
    "australia": "AU",
    "new zealand": "NZ",
    "portugal": "PT",
    "sweden": "SE",
    "norway": "NO",
    "denmark": "DK",
    "poland": "PL",
    "india": "IN",
}


def parse_date(value: str, formats: Sequence[str] = ()) -> date | None:
    """ISO 8601 (a date, or a date and time whose day is taken), then the given formats."""
    text = value.strip()
    if len(text) >= 10 and text[4] == "-" and (len(text) == 10 or text[10] in " T"):
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a day, no zone
        except ValueError:
            continue
    return None


def parse_moment(value: str, timezone: str, formats: Sequence[str] = ()) -> datetime | None:
    """An aware UTC time: ISO 8601 with or without offset (without: the workspace's zone), a
    date alone (its start), or one of the formats."""
    text = value.strip()
    moment: datetime | None = None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        for fmt in formats:
            try:
                moment = datetime.strptime(text, fmt)  # noqa: DTZ007 - zoned below
                break
            except ValueError:
                continue
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def start_of(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def minor_units(amount: str, currency: str) -> int | None:
    """``"1,200.50"`` in GBP → 120050; None when it is not an amount in that currency's units
    (negative, or finer than its minor unit)."""
    text = amount.strip().replace(" ", "").replace("\u00a0", "").replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0:
        return None
    exponent = 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value() or scaled >= 2**63:
        return None
    return int(scaled)


def choice_key(value: str) -> str:
    """ "No longer needed" → ``no_longer_needed``: choices as people type them."""
    return "_".join(value.strip().lower().replace("-", " ").split())


def region_of_country(country: str | None) -> str | None:
    if not country:
        return None
    key = " ".join(country.strip().lower().split())
    if len(key) == 2 and key.isalpha():
        return key.upper()
    return COUNTRY_REGIONS.get(key)
