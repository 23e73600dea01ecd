"""One CSV record → the values to import, or the problems that keep it out.

Pure: no database. Everything that can be checked without one is checked here, so a row that
passes is refused later only for what the database knows (an email another contact has).
Row numbers count records as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tenure.domain.agreements import AgreementKind
from tenure.domain.contacts import (
    MAX_TAG_LENGTH,
    ContactKind,
    is_valid_timezone,
    normalize_email,
    normalize_phone,
    normalize_tag,
)
from tenure.domain.imports.mapping import Resolved
from tenure.domain.imports.values import (
    choice_key,
    minor_units,
    parse_date,
    parse_moment,
    region_of_country,
)
from tenure.domain.lifecycle import USER_END_REASONS, EndReason
from tenure.domain.money import is_currency

CHANNELS = ("email", "call", "meeting", "message", "visit", "note")
DIRECTIONS = ("inbound", "outbound", "internal")
DEFAULT_AGREEMENT_TITLE = "Imported client relationship"
ORGANIZATION_WORDS = {"organization", "organisation", "company", "org", "account", "business"}
PERSON_WORDS = {"person", "individual", "people", "contact"}


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    value: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value[:200],
            "rule": self.rule,
            "message": self.message,
        }


@dataclass(frozen=True)
class AgreementIn:
    title: str
    kind: AgreementKind
    starts_on: date
    ends_on: date | None = None
    value_minor: int | None = None
    currency: str | None = None


@dataclass(frozen=True)
class ContactRow:
    row: int
    kind: ContactKind
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    organization: str | None = None
    job_title: str = ""
    notes: str = ""
    timezone: str | None = None
    address: dict[str, str] | None = None
    external_id: str | None = None
    client_since: date | None = None
    ended_on: date | None = None
    end_reason: EndReason | None = None
    agreement: AgreementIn | None = None

    @property
    def name(self) -> str:
        given = " ".join(p for p in (self.given_name, self.family_name) if p)
        return self.display_name or given


@dataclass(frozen=True)
class InteractionRow:
    row: int
    email: str | None
    external_id: str | None
    occurred_at: datetime
    channel: str
    direction: str
    subject: str = ""
    body: str = ""


@dataclass
class _Cells:
    """The cells of one record as the mapping sees them; collects problems."""

    row: int
    values: Sequence[str]
    resolved: Resolved
    problems: list[Problem] = field(default_factory=list)

    def cells(self, name: str) -> list[tuple[str, str]]:
        """(header, value) of the non-empty cells mapped to ``name``."""
        out = []
        for index, header in self.resolved.columns.get(name, ()):
            value = self.values[index].strip() if index < len(self.values) else ""
            if value:
                out.append((header, value))
        return out

    def one(self, name: str) -> tuple[str, str] | None:
        found = self.cells(name)
        return found[0] if found else None

    def text(self, name: str, limit: int) -> str | None:
        found = self.one(name)
        if found is None:
            return None
        header, value = found
        if len(value) > limit:
            self.fail(header, value, "max-length", f"at most {limit} characters")
            return None
        return value

    def column_of(self, name: str) -> str:
        bound = self.resolved.columns.get(name, ())
        return bound[0][1] if bound else name

    def fail(self, column: str, value: str, rule: str, message: str) -> None:
        self.problems.append(Problem(self.row, column, value, rule, message))

    def day(self, name: str, today: date) -> date | None:
        found = self.one(name)
        if found is None:
            return None
        header, value = found
        day = parse_date(value, self.resolved.mapping.date_formats)
        if day is None:
            formats = ", ".join(["YYYY-MM-DD", *self.resolved.mapping.date_formats])
            self.fail(header, value, "date", f"not a date ({formats})")
        elif day > today:
            self.fail(header, value, "not-future", "must not be in the future")
            return None
        return day


def _no_nul(cells: _Cells) -> bool:
    """PostgreSQL text cannot hold NUL: a mapped cell with one is refused (others are unread)."""
    for bound in cells.resolved.columns.values():
        for index, header in bound:
            value = cells.values[index] if index < len(cells.values) else ""
            if "\x00" in value:
                cells.fail(header, value.replace("\x00", ""), "no-nul", "must not contain NUL")
                return False
    return True


def contact_row(
    row: int,
    values: Sequence[str],
    resolved: Resolved,
    *,
    region: str | None,
    today: date,
) -> tuple[ContactRow | None, list[Problem]]:
    """The contact a record describes, or None and why not (every problem of the row)."""
    cells = _Cells(row, values, resolved)
    if not _no_nul(cells):
        return None, cells.problems
    display = cells.text("display_name", 300)
    given = cells.text("given_name", 150)
    family = cells.text("family_name", 150)
    organization = cells.text("organization", 300)
    kind = _kind(cells, display or given or family, organization)
    if kind is ContactKind.ORGANIZATION:
        display = display or organization or " ".join(p for p in (given, family) if p) or None
        given = family = organization = None
    emails = _emails(cells)
    if not (display or given or family):
        if emails:
            display = emails[0]
        else:
            cells.fail(cells.column_of("display_name"), "", "required", "a name is required")
    country = cells.one("country")
    phones = _phones(cells, region_of_country(country[1] if country else None) or region)
    tz = cells.one("timezone")
    if tz and not is_valid_timezone(tz[1]):
        cells.fail(tz[0], tz[1], "timezone", "not an IANA time zone (like Europe/London)")
    external = cells.text("external_id", 200)
    history = _history(cells, today)
    if cells.problems:
        return None, cells.problems
    address = {
        name: value
        for name in ("street", "city", "region", "postal_code", "country")
        for _, value in cells.cells(name)[:1]
    }
    return (
        ContactRow(
            row=row,
            kind=kind,
            display_name=display,
            given_name=given,
            family_name=family,
            emails=tuple(emails),
            phones=tuple(phones),
            tags=tuple(_tags(cells)),
            organization=organization,
            job_title=(cells.text("job_title", 200) or ""),
            notes="\n\n".join(v for _, v in cells.cells("notes")),
            timezone=tz[1] if tz else None,
            address=address or None,
            external_id=external,
            **history,
        ),
        cells.problems,
    )


def _kind(cells: _Cells, name: str | None, organization: str | None) -> ContactKind:
    given = cells.one("kind")
    if given is None:
        # Exports keep a company-only row (no person's name) as the organization itself.
        return ContactKind.ORGANIZATION if organization and not name else ContactKind.PERSON
    key = choice_key(given[1])
    if key in ORGANIZATION_WORDS:
        return ContactKind.ORGANIZATION
    if key not in PERSON_WORDS:
        cells.fail(given[0], given[1], "choice", "person or organization")
    return ContactKind.PERSON


def _emails(cells: _Cells) -> list[str]:
    out: list[str] = []
    for header, value in cells.cells("emails"):
        for part in value.replace(";", ",").split(","):
            if not part.strip():
                continue
            email, error = normalize_email(part, header)
            if error is not None or email is None:
                cells.fail(header, part.strip(), "email", error.message if error else "invalid")
            elif email not in out:
                out.append(email)
    return out


def _phones(cells: _Cells, region: str | None) -> list[str]:
    out: list[str] = []
    for header, value in cells.cells("phones"):
        number, error = normalize_phone(value, header, region)
        if error is not None or number is None:
            message = error.message if error else "invalid"
            cells.fail(header, value, "phone", message)
        elif number not in out:
            out.append(number)
    return out


def _tags(cells: _Cells) -> list[str]:
    ignored = cells.resolved.mapping.ignored_tags
    out: list[str] = []
    for header, value in cells.cells("tags"):
        for part in value.replace(":::", ",").replace(";", ",").split(","):
            tag = normalize_tag(part.strip().lstrip("*"))
            if not tag or tag in ignored:
                continue
            if len(tag) > MAX_TAG_LENGTH:
                cells.fail(header, part, "max-length", f"a tag has at most {MAX_TAG_LENGTH}")
            elif tag not in out:
                out.append(tag)
    return out


def _history(cells: _Cells, today: date) -> dict[str, Any]:
    """Stage history and the agreement that is its evidence."""
    since = cells.day("client_since", today)
    ended = cells.day("ended_on", today)
    reason = _reason(cells, ended)
    agreement_cells = {
        n: cells.one(f"agreement_{n}") for n in ("title", "kind", "ends_on", "value", "currency")
    }
    if since is None:
        for name in ("ended_on", *(f"agreement_{n}" for n, c in agreement_cells.items() if c)):
            found = cells.one(name)
            if found:
                cells.fail(found[0], found[1], "needs-client-since", "needs the client since date")
                break
        return {}
    if ended is not None and ended < since:
        cells.fail(cells.column_of("ended_on"), str(ended), "after-start", "before client since")
    return {
        "client_since": since,
        "ended_on": ended,
        "end_reason": reason,
        "agreement": _agreement(cells, since, agreement_cells),
    }


def _reason(cells: _Cells, ended: date | None) -> EndReason | None:
    found = cells.one("end_reason")
    if found is None:
        if ended is not None:
            cells.fail(cells.column_of("end_reason"), "", "required", "an end needs a reason")
        return None
    key = choice_key(found[1])
    if key not in {r.value for r in USER_END_REASONS}:
        choices = ", ".join(sorted(r.value for r in USER_END_REASONS))
        cells.fail(found[0], found[1], "choice", f"one of {choices}")
        return None
    return EndReason(key)


def _agreement(
    cells: _Cells, since: date, given: dict[str, tuple[str, str] | None]
) -> AgreementIn | None:
    title = given["title"][1][:300] if given["title"] else DEFAULT_AGREEMENT_TITLE
    kind = AgreementKind.ENGAGEMENT
    if given["kind"]:
        key = choice_key(given["kind"][1])
        if key not in {k.value for k in AgreementKind}:
            cells.fail(*given["kind"], "choice", f"one of {', '.join(AgreementKind)}")
        else:
            kind = AgreementKind(key)
    ends_on = None
    if given["ends_on"]:
        ends_on = parse_date(given["ends_on"][1], cells.resolved.mapping.date_formats)
        if ends_on is None:
            cells.fail(*given["ends_on"], "date", "not a date")
        elif ends_on < since:
            cells.fail(*given["ends_on"], "after-start", "before client since")
    currency_cell = given["currency"]
    currency = currency_cell[1].upper() if currency_cell else None
    if currency_cell and currency and not is_currency(currency):
        cells.fail(*currency_cell, "currency", "not an ISO 4217 code")
    value = None
    if given["value"]:
        if not currency:
            cells.fail(*given["value"], "currency-required", "a value needs its currency")
        elif is_currency(currency):
            value = minor_units(given["value"][1], currency)
            if value is None:
                cells.fail(*given["value"], "amount", f"not an amount in {currency}")
    return AgreementIn(title, kind, since, ends_on, value, currency if value is not None else None)


def interaction_row(
    row: int,
    values: Sequence[str],
    resolved: Resolved,
    *,
    timezone: str,
    now: datetime,
) -> tuple[InteractionRow | None, list[Problem]]:
    cells = _Cells(row, values, resolved)
    if not _no_nul(cells):
        return None, cells.problems
    email = None
    found = cells.one("email")
    if found:
        email, error = normalize_email(found[1], found[0])
        if error:
            cells.fail(found[0], found[1], "email", error.message)
    external = cells.text("external_id", 200)
    if not found and not external:
        cells.fail(cells.column_of("email"), "", "required", "an email or external id")
    occurred = None
    when = cells.one("occurred_at")
    if when is None:
        cells.fail(cells.column_of("occurred_at"), "", "required", "when it happened")
    else:
        occurred = parse_moment(when[1], timezone, resolved.mapping.date_formats)
        if occurred is None:
            cells.fail(*when, "datetime", "not a date and time (ISO 8601)")
        elif occurred > now:
            cells.fail(*when, "not-future", "must not be in the future")
    channel = _choice(cells, "channel", CHANNELS, "note")
    direction = _choice(cells, "direction", DIRECTIONS, "internal" if channel == "note" else "")
    subject = cells.text("subject", 500) or ""
    body = "\n\n".join(v for _, v in cells.cells("body"))
    if cells.problems or occurred is None:
        return None, cells.problems
    return (
        InteractionRow(row, email, external, occurred, channel, direction, subject, body),
        [],
    )


def _choice(cells: _Cells, name: str, choices: Sequence[str], default: str) -> str:
    found = cells.one(name)
    if found is None:
        if not default:
            cells.fail(cells.column_of(name), "", "required", f"one of {', '.join(choices)}")
        return default
    key = choice_key(found[1])
    if key not in choices:
        cells.fail(found[0], found[1], "choice", f"one of {', '.join(choices)}")
        return default
    return key
