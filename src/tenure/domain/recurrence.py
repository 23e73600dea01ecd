"""Recurrence: RFC 5545 rules, expanded by python-dateutil in local wall time.

A ``Recurrence`` is an ``RRULE`` (``FREQ=MONTHLY;BYMONTHDAY=5``), a ``dtstart`` and ``exdates``
given as *local naive* wall times, the IANA zone they are read in, and an optional ``until``
(local, inclusive) or ``count``. Build one from untrusted input with ``parse_recurrence``: it
names the bad field (``rrule``, ``dtstart``, ``timezone``, ``exdates``, ``until``, ``count``) and
the rule broken.

Conventions (each is also what a calendar app reading our feed does):

* **Wall time is kept.** dateutil expands in local naive time, and only then is each occurrence
  placed on the time line with ``zoneinfo`` (``localize``): 9:00 stays 9:00 across
  daylight-saving changes.
* **Gaps and folds** follow RFC 5545 §3.3.5. A local time that does not exist (a spring-forward
  gap) is read with the UTC offset *before* the gap, so it moves forward by the gap's length
  (02:30 on a one-hour gap happens at 03:30). A local time that happens twice (fall back) means
  the *first* instant (``fold=0``).
* **Identity.** An occurrence is identified by (schedule, *original local start*): the wall time
  the rule generated, before any gap shift or move (``occurrence_key``). It is also the value of
  an iCalendar ``RECURRENCE-ID`` and ``EXDATE``.
* **dtstart is synchronized.** RFC 5545 leaves a ``DTSTART`` that the rule does not generate
  undefined (dateutil skips it, some calendar apps add it). ``parse_recurrence`` moves
  ``dtstart`` to the first occurrence the rule generates, which keeps the sequence (every
  period is counted from the one holding the occurrence) and makes the feed unambiguous.
* **COUNT** counts the occurrences the rule generates, exdates included (as RFC 5545 says).
* **Bounded work.** Sub-daily rules (``FREQ=HOURLY|MINUTELY|SECONDLY``) are accepted only when
  bounded by ``COUNT`` or ``UNTIL``, with at most ``MAX_SUB_DAILY_OCCURRENCES`` occurrences and no
  ``BYxxx`` parts (their steps are wall-clock steps too). Other rules produce at most
  ``MAX_TIMES_PER_DAY`` times a day. Rules that can never produce an occurrence are refused; the
  structurally impossible ones are caught by cheap checks before dateutil is asked (an empty
  dateutil rule scans to the year 9999). Every expansion is over a window of instants;
  ``occurrences_within`` caps it at ``MAX_HORIZON_DAYS``.
* **Seconds.** Microseconds are dropped (dateutil and iCalendar both work in whole seconds).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from itertools import islice, takewhile
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rruleset, rrulestr

from tenure.domain.contacts import is_valid_timezone
from tenure.domain.errors import FieldError, InvalidInput


class Frequency(StrEnum):
    SECONDLY = "SECONDLY"
    MINUTELY = "MINUTELY"
    HOURLY = "HOURLY"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    YEARLY = "YEARLY"


SUB_DAILY = frozenset({Frequency.SECONDLY, Frequency.MINUTELY, Frequency.HOURLY})

MAX_INTERVAL = 1000
MAX_COUNT = 10_000
MAX_SUB_DAILY_OCCURRENCES = 1000
MAX_TIMES_PER_DAY = 24
DEFAULT_HORIZON_DAYS = 90
MAX_HORIZON_DAYS = 3660

#: Rule parts in the order a normalized rule lists them (COUNT and UNTIL are kept apart).
_PART_ORDER = (
    "FREQ",
    "INTERVAL",
    "WKST",
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYMONTHDAY",
    "BYDAY",
    "BYHOUR",
    "BYMINUTE",
    "BYSECOND",
    "BYSETPOS",
)
_KNOWN_PARTS = frozenset({*_PART_ORDER, "COUNT", "UNTIL"})
#: Integer list parts: (smallest, largest, negative values allowed).
_INT_LISTS: dict[str, tuple[int, int, bool]] = {
    "BYSECOND": (0, 59, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_BYDAY_ITEM = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_INTEGER = re.compile(r"[+-]?\d{1,9}")
#: The longest each month can be (February in a leap year).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_LOCAL_FORMAT = "%Y%m%dT%H%M%S"
#: Widening of a window before it is turned into local wall time: more than any UTC offset
#: change (Pacific/Apia skipped a whole day in 2011).
_WINDOW_MARGIN = timedelta(days=2)
_SECOND = timedelta(seconds=1)


# --- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One occurrence: when it happens, and the local start that identifies it."""

    #: The instant it starts (aware, UTC).
    start: datetime
    #: The local naive wall time the rule generated: the occurrence's identity.
    local_start: datetime

    def key(self, schedule_id: int | str) -> str:
        return occurrence_key(schedule_id, self.local_start)


@dataclass(frozen=True)
class IcalParts:
    """What a ``VEVENT`` needs to carry the recurrence (values of the properties).

    ``dtstart`` and ``exdates`` are local times meant for a ``TZID=<tzid>`` parameter; ``rrule``
    never holds a DTSTART, and its ``UNTIL`` is in UTC as RFC 5545 requires with a TZID.
    """

    tzid: str
    dtstart: str
    rrule: str
    exdates: tuple[str, ...]

    def lines(self) -> tuple[str, ...]:
        out = [f"DTSTART;TZID={self.tzid}:{self.dtstart}", f"RRULE:{self.rrule}"]
        if self.exdates:
            out.append(f"EXDATE;TZID={self.tzid}:{','.join(self.exdates)}")
        return tuple(out)


@dataclass(frozen=True)
class Recurrence:
    """A validated recurrence (build it with ``parse_recurrence``; stored values are trusted)."""

    #: The normalized rule without COUNT and UNTIL, e.g. ``FREQ=MONTHLY;BYMONTHDAY=5``.
    rule: str
    #: Local naive wall time of the first occurrence.
    dtstart: datetime
    #: IANA zone name the local times are read in.
    timezone: str
    #: Local naive starts of occurrences that do not happen (sorted, unique).
    exdates: tuple[datetime, ...] = ()
    #: Local naive wall time of the last possible start (inclusive).
    until: datetime | None = None
    #: How many occurrences the rule generates (exdates included).
    count: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def frequency(self) -> Frequency:
        return Frequency(_parts_of(self.rule)["FREQ"])

    @property
    def is_bounded(self) -> bool:
        return self.until is not None or self.count is not None

    def rrule_text(self) -> str:
        """The rule with COUNT/UNTIL as dateutil reads it next to a local naive dtstart."""
        text = self.rule
        if self.count is not None:
            text += f";COUNT={self.count}"
        if self.until is not None:
            text += f";UNTIL={self.until.strftime(_LOCAL_FORMAT)}"
        return text

    def with_exdate(self, local_start: datetime) -> Recurrence:
        """This recurrence without the occurrence that starts at ``local_start``."""
        local = _whole_seconds(local_start)
        if local.tzinfo is not None or not generates(self, local):
            raise InvalidInput.one(
                "exdates",
                "not-an-occurrence",
                f"{local_start.isoformat()} is not a local start this rule generates",
            )
        return replace(self, exdates=tuple(sorted({*self.exdates, local})))

    def to_ical_parts(self) -> IcalParts:
        text = self.rule
        if self.count is not None:
            text += f";COUNT={self.count}"
        if self.until is not None:
            text += f";UNTIL={_until_utc(self).strftime('%Y%m%dT%H%M%SZ')}"
        return IcalParts(
            tzid=self.timezone,
            dtstart=self.dtstart.strftime(_LOCAL_FORMAT),
            rrule=text,
            exdates=tuple(x.strftime(_LOCAL_FORMAT) for x in self.exdates),
        )


# --- time zones ------------------------------------------------------------------------------


def load_zone(name: str, *, field: str = "timezone") -> ZoneInfo:
    """The zone of an IANA name, or InvalidInput naming ``field``."""
    if not isinstance(name, str) or not is_valid_timezone(name):
        raise InvalidInput.one(field, "iana-zone", f"{name!r} is not an IANA time zone name")
    return ZoneInfo(name)


def localize(local: datetime, zone: ZoneInfo | str) -> datetime:
    """The UTC instant of a local wall time (a gap moves forward, a fold takes the first)."""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def to_local(instant: datetime, zone: ZoneInfo | str) -> datetime:
    """The local naive wall time of an aware instant."""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    return instant.astimezone(tz).replace(tzinfo=None)


def occurrence_key(schedule_id: int | str, local_start: datetime) -> str:
    """A stable key for the occurrence of a schedule that starts at ``local_start`` (local)."""
    return f"{schedule_id}@{_whole_seconds(local_start).strftime(_LOCAL_FORMAT)}"


# --- parsing ---------------------------------------------------------------------------------


class _RuleProblem(Exception):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def parse_recurrence(
    rrule_text: str,
    *,
    dtstart: datetime,
    timezone: str,
    exdates: Iterable[datetime] = (),
    until: datetime | None = None,
    count: int | None = None,
) -> Recurrence:
    """Validate and normalize a recurrence; InvalidInput lists every bad field.

    ``rrule_text`` is the value of an RRULE (an ``RRULE:`` prefix is allowed). COUNT and UNTIL
    may be given in it or as arguments, not both. An UNTIL in the text may be a UTC time
    (``...Z``), a local time, or a date (through the end of that local day).
    """
    draft = _read_inputs(rrule_text, dtstart, timezone, exdates, until, count)
    start, until_local, count = draft.start, draft.until, draft.count
    try:
        _check_structure(draft.parts, start, bounded=count is not None or until_local is not None)
    except _RuleProblem as problem:
        raise InvalidInput.one("rrule", problem.rule, problem.message) from None
    if until_local is not None and until_local < start:
        field = "rrule" if draft.until_in_rule else "until"
        raise InvalidInput.one(field, "after-dtstart", "UNTIL must not be before dtstart")

    rule = ";".join(f"{name}={draft.parts[name]}" for name in _PART_ORDER if name in draft.parts)
    candidate = Recurrence(rule, start, timezone, (), until_local, count)
    try:
        raw = _rrule(candidate)
    except ValueError as exc:
        raise InvalidInput.one("rrule", "invalid", str(exc)) from None
    first = next(iter(raw), None)
    if first is None:
        raise InvalidInput.one("rrule", "no-occurrences", "the rule never produces an occurrence")
    if candidate.frequency in SUB_DAILY and (
        sum(1 for _ in islice(raw, MAX_SUB_DAILY_OCCURRENCES + 1)) > MAX_SUB_DAILY_OCCURRENCES
    ):
        raise InvalidInput.one(
            "rrule",
            "too-many-occurrences",
            f"a sub-daily rule may produce at most {MAX_SUB_DAILY_OCCURRENCES} occurrences",
        )
    bad = sorted(x for x in draft.exdates if x not in raw)
    if bad:
        raise InvalidInput.one(
            "exdates",
            "not-an-occurrence",
            "not local starts this rule generates: " + ", ".join(x.isoformat() for x in bad),
        )
    return replace(candidate, dtstart=first, exdates=tuple(sorted(draft.exdates)))


@dataclass(frozen=True)
class _Draft:
    """The inputs, each checked on its own; COUNT and UNTIL taken out of the rule parts."""

    parts: dict[str, str]
    start: datetime
    exdates: frozenset[datetime]
    until: datetime | None
    count: int | None
    until_in_rule: bool


def _read_inputs(
    rrule_text: str,
    dtstart: datetime,
    timezone: str,
    exdates: Iterable[datetime],
    until: datetime | None,
    count: int | None,
) -> _Draft:
    errors: list[FieldError] = []
    zone: ZoneInfo | None = None
    try:
        zone = load_zone(timezone)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    start = _local_field("dtstart", dtstart, errors)
    excluded = [_local_field("exdates", x, errors) for x in exdates]
    until_local = _local_field("until", until, errors) if until is not None else None
    if count is not None and (isinstance(count, bool) or not 1 <= count <= MAX_COUNT):
        errors.append(FieldError("count", "range", f"must be between 1 and {MAX_COUNT}"))

    parts: dict[str, str] = {}
    text_count: int | None = None
    text_until: datetime | None = None
    try:
        parts = _split_rule(rrule_text)
        text_count, text_until = _bounds_of(parts, zone)
    except _RuleProblem as problem:
        errors.append(FieldError("rrule", problem.rule, problem.message))
    if text_count is not None:
        if count is not None:
            errors.append(FieldError("count", "given-twice", "COUNT is also in the rule"))
        count = text_count
    if text_until is not None:
        if until_local is not None:
            errors.append(FieldError("until", "given-twice", "UNTIL is also in the rule"))
        until_local = text_until
    if count is not None and until_local is not None:
        errors.append(FieldError("rrule", "count-and-until", "COUNT and UNTIL cannot both be set"))
    if errors:
        raise InvalidInput(errors)
    assert start is not None
    return _Draft(
        parts=parts,
        start=start,
        exdates=frozenset(x for x in excluded if x is not None),
        until=until_local,
        count=count,
        until_in_rule=text_until is not None,
    )


def _local_field(name: str, value: datetime, errors: list[FieldError]) -> datetime | None:
    if not isinstance(value, datetime):
        errors.append(FieldError(name, "datetime", "must be a date and time"))
        return None
    if value.tzinfo is not None:
        errors.append(
            FieldError(name, "local-time", "must be a local wall time without a UTC offset")
        )
        return None
    return _whole_seconds(value)


def _split_rule(text: str) -> dict[str, str]:
    if not isinstance(text, str) or not text.strip():
        raise _RuleProblem("required", "an RRULE is required, e.g. FREQ=WEEKLY;BYDAY=MO")
    body = text.strip().upper()
    if body.startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if any(c.isspace() for c in body) or ":" in body:
        raise _RuleProblem("syntax", "one RRULE value only: no DTSTART, EXDATE or other lines")
    parts: dict[str, str] = {}
    for pair in body.split(";"):
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise _RuleProblem("syntax", f"{pair!r} is not NAME=VALUE")
        if name not in _KNOWN_PARTS:
            raise _RuleProblem("unknown-part", f"{name} is not an RFC 5545 rule part")
        if name in parts:
            raise _RuleProblem("duplicate-part", f"{name} is given twice")
        parts[name] = value
    if "FREQ" not in parts:
        raise _RuleProblem("freq-required", "FREQ is required")
    if parts["FREQ"] not in Frequency.__members__:
        raise _RuleProblem("freq", f"FREQ must be one of {', '.join(Frequency)}")
    for name, (low, high, negative) in _INT_LISTS.items():
        if name in parts:
            _int_list(name, parts[name], low, high, negative=negative)
    for name in ("INTERVAL", "COUNT"):
        if name in parts and not _INTEGER.fullmatch(parts[name]):
            raise _RuleProblem("syntax", f"{name} must be an integer")
    if "INTERVAL" in parts and not 1 <= int(parts["INTERVAL"]) <= MAX_INTERVAL:
        raise _RuleProblem("interval", f"INTERVAL must be between 1 and {MAX_INTERVAL}")
    if "COUNT" in parts and not 1 <= int(parts["COUNT"]) <= MAX_COUNT:
        raise _RuleProblem("count", f"COUNT must be between 1 and {MAX_COUNT}")
    if "WKST" in parts and parts["WKST"] not in _WEEKDAYS:
        raise _RuleProblem("wkst", "WKST must be a weekday: MO, TU, WE, TH, FR, SA or SU")
    if "BYDAY" in parts:
        for item in parts["BYDAY"].split(","):
            if not _BYDAY_ITEM.fullmatch(item):
                raise _RuleProblem("byday", f"BYDAY item {item!r} is not like MO, 1MO or -1FR")
    if "INTERVAL" in parts:
        parts["INTERVAL"] = str(int(parts["INTERVAL"]))
        if parts["INTERVAL"] == "1":
            del parts["INTERVAL"]
    return parts


def _int_list(name: str, value: str, low: int, high: int, *, negative: bool) -> list[int]:
    out: list[int] = []
    for item in value.split(","):
        if not _INTEGER.fullmatch(item):
            raise _RuleProblem("syntax", f"{name} must be a list of integers")
        number = int(item)
        if not (low <= number <= high or (negative and -high <= number <= -low)):
            allowed = f"±{low}..{high}" if negative else f"{low}..{high}"
            raise _RuleProblem(name.lower(), f"{name} values must be in {allowed}")
        out.append(number)
    return out


def _bounds_of(parts: dict[str, str], zone: ZoneInfo | None) -> tuple[int | None, datetime | None]:
    """Take COUNT and UNTIL out of the parts (UNTIL as a local naive time)."""
    count = int(parts.pop("COUNT")) if "COUNT" in parts else None
    if "UNTIL" not in parts:
        return count, None
    value = parts.pop("UNTIL")
    try:
        if re.fullmatch(r"\d{8}T\d{6}Z", value):
            moment = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            if zone is None:
                return count, None
            return count, to_local(moment, zone)
        if re.fullmatch(r"\d{8}T\d{6}", value):
            return count, datetime.strptime(value, _LOCAL_FORMAT)  # noqa: DTZ007 - local wall time
        if re.fullmatch(r"\d{8}", value):
            day = datetime.strptime(value, "%Y%m%d").date()  # noqa: DTZ007 - a calendar date
            return count, datetime.combine(day, time(23, 59, 59))
    except ValueError:
        pass
    raise _RuleProblem("until", "UNTIL must be like 20250131T170000Z, 20250131T170000 or 20250131")


def _check_structure(parts: dict[str, str], dtstart: datetime, *, bounded: bool) -> None:
    """RFC 5545's table of which parts go with which FREQ, plus the cheap emptiness checks."""
    freq = Frequency(parts["FREQ"])
    by = {name for name in parts if name.startswith("BY")}
    if freq in SUB_DAILY:
        if not bounded:
            raise _RuleProblem(
                "sub-daily-unbounded",
                f"FREQ={freq} needs COUNT or UNTIL (at most {MAX_SUB_DAILY_OCCURRENCES} "
                "occurrences)",
            )
        if by:
            raise _RuleProblem("sub-daily-by-part", f"FREQ={freq} takes no BYxxx parts")
        return
    if "BYWEEKNO" in by and freq is not Frequency.YEARLY:
        raise _RuleProblem("byweekno", "BYWEEKNO is only allowed with FREQ=YEARLY")
    if "BYYEARDAY" in by and freq is not Frequency.YEARLY:
        raise _RuleProblem("byyearday", "BYYEARDAY is only allowed with FREQ=YEARLY")
    if "BYMONTHDAY" in by and freq is Frequency.WEEKLY:
        raise _RuleProblem("bymonthday", "BYMONTHDAY is not allowed with FREQ=WEEKLY")
    if "BYSETPOS" in by and len(by) == 1:
        raise _RuleProblem("bysetpos", "BYSETPOS needs another BYxxx part")
    times = 1
    for name in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        if name in parts:
            times *= len(set(parts[name].split(",")))
    if times > MAX_TIMES_PER_DAY:
        raise _RuleProblem(
            "too-frequent",
            f"at most {MAX_TIMES_PER_DAY} times a day (BYHOUR x BYMINUTE x BYSECOND)",
        )
    weekdays = _weekdays_of(parts, freq)
    _check_reachable(parts, freq, dtstart, weekdays)
    if "BYSETPOS" in by:
        per_period = _days_per_period(freq, parts, weekdays) * times
        positions = _int_list("BYSETPOS", parts["BYSETPOS"], 1, 366, negative=True)
        if all(abs(p) > per_period for p in positions):
            raise _RuleProblem(
                "no-occurrences", f"BYSETPOS exceeds the {per_period} candidates of a period"
            )


def _weekdays_of(parts: dict[str, str], freq: Frequency) -> list[tuple[int | None, int]]:
    """BYDAY as (ordinal or None, weekday 0-6), with RFC 5545's limits on ordinals."""
    weekdays: list[tuple[int | None, int]] = []
    for item in parts["BYDAY"].split(",") if "BYDAY" in parts else []:
        match = _BYDAY_ITEM.fullmatch(item)
        assert match is not None
        ordinal = int(match.group(1)) if match.group(1) else None
        weekdays.append((ordinal, _WEEKDAYS.index(match.group(2))))
    ordinals = [n for n, _ in weekdays if n is not None]
    if ordinals:
        if freq not in (Frequency.MONTHLY, Frequency.YEARLY):
            raise _RuleProblem("byday", "BYDAY ordinals (1MO, -1FR) need FREQ=MONTHLY or YEARLY")
        if "BYWEEKNO" in parts:
            raise _RuleProblem("byday", "BYDAY ordinals cannot be combined with BYWEEKNO")
        limit = 5 if freq is Frequency.MONTHLY or "BYMONTH" in parts else 53
        if any(n == 0 or abs(n) > limit for n in ordinals):
            raise _RuleProblem("byday", f"BYDAY ordinals must be in ±1..{limit}")
    return weekdays


def _check_reachable(
    parts: dict[str, str],
    freq: Frequency,
    dtstart: datetime,
    weekdays: list[tuple[int | None, int]],
) -> None:
    """Refuse the filters that the INTERVAL steps (or the calendar) can never meet."""
    interval = int(parts.get("INTERVAL", "1"))
    months = (
        _int_list("BYMONTH", parts["BYMONTH"], 1, 12, negative=False) if "BYMONTH" in parts else []
    )
    if freq is Frequency.MONTHLY and months:
        step = math.gcd(interval, 12)
        if all((m - dtstart.month) % step for m in months):
            raise _RuleProblem(
                "no-occurrences", "every INTERVAL months from dtstart never lands in BYMONTH"
            )
    if "BYMONTHDAY" in parts:
        days = _int_list("BYMONTHDAY", parts["BYMONTHDAY"], 1, 31, negative=True)
        if not any(abs(d) <= _MONTH_DAYS[m - 1] for m in months or range(1, 13) for d in days):
            raise _RuleProblem("no-occurrences", "no month in BYMONTH has a day in BYMONTHDAY")
    elif (
        freq in (Frequency.MONTHLY, Frequency.YEARLY)
        and months
        and not {"BYDAY", "BYYEARDAY", "BYWEEKNO"} & parts.keys()
        and all(dtstart.day > _MONTH_DAYS[m - 1] for m in months)
    ):
        # Without a day part the day of the month is dtstart's (RFC 5545 and dateutil).
        raise _RuleProblem(
            "no-occurrences", f"no month in BYMONTH has a day {dtstart.day} (dtstart's day)"
        )
    if (
        freq is Frequency.DAILY
        and weekdays
        and interval % 7 == 0
        and all(day != dtstart.weekday() for _, day in weekdays)
    ):
        raise _RuleProblem(
            "no-occurrences", "every INTERVAL days from dtstart never lands in BYDAY"
        )


def _days_per_period(
    freq: Frequency, parts: dict[str, str], weekdays: list[tuple[int | None, int]]
) -> int:
    """An upper bound on the days one period of the rule can hold."""
    if freq is Frequency.DAILY:
        return 1
    if freq is Frequency.WEEKLY:
        return len({day for _, day in weekdays}) or 1
    if freq is Frequency.MONTHLY:
        if "BYMONTHDAY" in parts:
            return len(set(parts["BYMONTHDAY"].split(",")))
        if weekdays:
            return sum(1 if n is not None else 5 for n, _ in weekdays)
        return 1
    return 366


def _parts_of(rule: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in rule.split(";"))


def _whole_seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)


# --- expansion -------------------------------------------------------------------------------


def _rrule(recurrence: Recurrence) -> rrule:
    """The rule as dateutil generates it, in local naive time, without the exdates."""
    parsed = rrulestr(recurrence.rrule_text(), dtstart=recurrence.dtstart)
    if not isinstance(parsed, rrule):  # pragma: no cover - one RRULE line is one rrule
        raise TypeError("expected a single rule")
    return parsed


def _ruleset(recurrence: Recurrence) -> rruleset:
    rules = rruleset()
    rules.rrule(_rrule(recurrence))
    for excluded in recurrence.exdates:
        rules.exdate(excluded)
    return rules


def _aware_field(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput.one(name, "aware", "must be a date and time with a UTC offset")
    return value


def _shift(local: datetime, delta: timedelta) -> datetime:
    try:
        return local + delta
    except OverflowError:
        # A window at the ends of the calendar: clamp (local naive wall time by design).
        return datetime.max if delta > timedelta(0) else datetime.min  # noqa: DTZ901


def expand(recurrence: Recurrence, start: datetime, end: datetime) -> list[Occurrence]:
    """The occurrences that start in ``[start, end)`` (aware instants), in the rule's order."""
    start = _aware_field("start", start)
    end = _aware_field("end", end)
    if end <= start:
        return []
    zone = recurrence.zone
    low = _shift(to_local(start, zone), -_WINDOW_MARGIN)
    high = _shift(to_local(end, zone), _WINDOW_MARGIN)
    out: list[Occurrence] = []
    for local in _ruleset(recurrence).between(low, high, inc=True):
        instant = localize(local, zone)
        if start <= instant < end:
            out.append(Occurrence(instant, local))
    return out


def occurrences_within(
    recurrence: Recurrence, start: datetime, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> list[Occurrence]:
    """The occurrences from ``start`` to ``horizon_days`` later: what gets materialized."""
    if isinstance(horizon_days, bool) or not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise InvalidInput.one(
            "horizon_days", "range", f"must be between 1 and {MAX_HORIZON_DAYS} days"
        )
    start = _aware_field("start", start)
    return expand(recurrence, start, start + timedelta(days=horizon_days))


def next_occurrence(recurrence: Recurrence, after: datetime) -> Occurrence | None:
    """The first occurrence that starts at or after ``after``, or None when the rule is over."""
    after = _aware_field("after", after)
    zone = recurrence.zone
    low = _shift(to_local(after, zone), -_WINDOW_MARGIN)
    for local in _ruleset(recurrence).xafter(low, inc=True):
        instant = localize(local, zone)
        if instant >= after:
            return Occurrence(instant, local)
    return None


def generates(recurrence: Recurrence, local_start: datetime) -> bool:
    """Whether the rule generates this local start (exdates not considered)."""
    return _whole_seconds(local_start) in _rrule(recurrence)


def is_occurrence(recurrence: Recurrence, local_start: datetime) -> bool:
    """Whether an occurrence starts at this local time (generated and not excluded)."""
    local = _whole_seconds(local_start)
    return local not in recurrence.exdates and generates(recurrence, local)


# --- editing ---------------------------------------------------------------------------------


def split(recurrence: Recurrence, at_local: datetime) -> tuple[Recurrence | None, Recurrence]:
    """Cut for "this and following" at the occurrence that starts at ``at_local`` (local).

    Returns (before, after): ``before`` ends with ``UNTIL = at_local - 1 s`` and keeps the
    exdates before the cut (None when nothing comes before); ``after`` starts at ``at_local``,
    keeps the exdates from it on, the original UNTIL, and the COUNT that remains. Together they
    generate exactly the original sequence. ``at_local`` must be a start the rule generates
    (an excluded one is allowed).
    """
    if not isinstance(at_local, datetime) or at_local.tzinfo is not None:
        raise InvalidInput.one("at", "local-time", "must be a local wall time without offset")
    at = _whole_seconds(at_local)
    raw = _rrule(recurrence)
    if at not in raw:
        raise InvalidInput.one(
            "at", "not-an-occurrence", f"{at.isoformat()} is not a local start of this schedule"
        )
    before_count = sum(1 for _ in takewhile(lambda local: local < at, raw))
    after = replace(
        recurrence,
        dtstart=at,
        exdates=tuple(x for x in recurrence.exdates if x >= at),
        count=None if recurrence.count is None else recurrence.count - before_count,
    )
    if before_count == 0:
        return None, after
    before = replace(
        recurrence,
        exdates=tuple(x for x in recurrence.exdates if x < at),
        until=at - _SECOND,
        count=None,
    )
    return before, after


def stop_before(recurrence: Recurrence, moment: datetime) -> Recurrence | None:
    """The recurrence keeping only occurrences that start before ``moment`` (aware).

    Used when a schedule stops (the relationship or agreement ended): past occurrences stay,
    later ones end. None when no occurrence starts before ``moment``.
    """
    moment = _aware_field("at", moment)
    zone = recurrence.zone
    high = _shift(to_local(moment, zone), _WINDOW_MARGIN)
    raw = _rrule(recurrence)
    last: datetime | None = None
    later = False
    for local in takewhile(lambda x: x <= high, raw):
        if localize(local, zone) < moment:
            last = local
        else:
            later = True
    if last is None:
        return None
    if not later and raw.after(high) is None:
        return recurrence  # it is over before ``moment`` anyway
    return replace(
        recurrence,
        exdates=tuple(x for x in recurrence.exdates if x <= last),
        until=last,
        count=None,
    )


def _until_utc(recurrence: Recurrence) -> datetime:
    """UNTIL as a UTC instant: the latest instant of an occurrence up to the local UNTIL."""
    assert recurrence.until is not None
    zone = recurrence.zone
    raw = _rrule(recurrence)
    last = raw.before(recurrence.until, inc=True)
    if last is None:
        return localize(recurrence.until, zone)
    # In a spring-forward gap a local start can map later than a start just after the gap.
    recent = raw.between(_shift(last, -_WINDOW_MARGIN), last, inc=True)
    return max(localize(local, zone) for local in recent)
