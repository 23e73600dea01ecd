"""Recurrence without a database: parsing, DST-correct expansion, exdates, splits, iCal parts.

The property tests compare with dateutil's own expansion of the same rule from an *aware*
dtstart (a different code path from ours, which expands in local naive time and localizes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrule, rruleset, rrulestr
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from tenure.domain.errors import InvalidInput
from tenure.domain.recurrence import (
    MAX_HORIZON_DAYS,
    MAX_SUB_DAILY_OCCURRENCES,
    Frequency,
    Occurrence,
    Recurrence,
    expand,
    generates,
    is_occurrence,
    load_zone,
    localize,
    next_occurrence,
    occurrence_key,
    occurrences_within,
    parse_recurrence,
    split,
    stop_before,
    to_local,
)

NY = "America/New_York"
LONDON = "Europe/London"
ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "UTC",
    "Australia/Lord_Howe",  # a 30-minute daylight-saving shift
    "America/Sao_Paulo",  # used to spring forward at midnight
]
EVER = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2300, 1, 1, tzinfo=UTC))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def errors_of(exc: pytest.ExceptionInfo[InvalidInput] | InvalidInput) -> set[tuple[str, str]]:
    error = exc if isinstance(exc, InvalidInput) else exc.value
    return {(e.field, e.rule) for e in error.errors}


# --- examples: wall time across daylight saving -----------------------------------------------


def test_nine_stays_nine_in_london_across_both_changes() -> None:
    rec = parse_recurrence(
        "FREQ=MONTHLY;BYMONTHDAY=5", dtstart=datetime(2024, 1, 5, 9), timezone=LONDON
    )
    got = expand(rec, utc(2024, 1, 1), utc(2025, 1, 1))
    assert [o.start.astimezone(rec.zone).hour for o in got] == [9] * 12
    # GMT in winter, BST (UTC+1) from the last Sunday of March to the last Sunday of October.
    assert [o.start.hour for o in got] == [9, 9, 9, 8, 8, 8, 8, 8, 8, 8, 9, 9]


def test_sydney_daylight_saving_is_the_other_way_round() -> None:
    rec = parse_recurrence(
        "FREQ=WEEKLY;BYDAY=MO", dtstart=datetime(2024, 3, 25, 9), timezone="Australia/Sydney"
    )
    got = expand(rec, utc(2024, 3, 24), utc(2024, 4, 16))
    assert [o.local_start.date().isoformat() for o in got] == [
        "2024-03-25",
        "2024-04-01",
        "2024-04-08",
        "2024-04-15",
    ]
    assert [o.start.hour for o in got] == [22, 22, 23, 23]  # AEDT +11 until 7 April, then AEST +10
    assert all(o.start.astimezone(rec.zone).hour == 9 for o in got)


def test_a_time_in_the_spring_forward_gap_moves_forward_by_the_gap() -> None:
    rec = parse_recurrence("FREQ=DAILY;COUNT=3", dtstart=datetime(2024, 3, 9, 2, 30), timezone=NY)
    got = expand(rec, *EVER)
    assert [o.start for o in got] == [
        utc(2024, 3, 9, 7, 30),
        utc(2024, 3, 10, 7, 30),
        utc(2024, 3, 11, 6, 30),
    ]
    walls = [o.start.astimezone(rec.zone).replace(tzinfo=None) for o in got]
    assert walls[1] == datetime(2024, 3, 10, 3, 30)  # 02:30 does not exist that day
    # The identity stays the generated wall time.
    assert [o.local_start.time().isoformat() for o in got] == ["02:30:00"] * 3


def test_an_ambiguous_time_takes_the_first_instant() -> None:
    rec = parse_recurrence("FREQ=DAILY;COUNT=3", dtstart=datetime(2024, 11, 2, 1, 30), timezone=NY)
    got = expand(rec, *EVER)
    # 3 November 01:30 happens twice (EDT, then EST): the first one, 05:30Z.
    assert [o.start for o in got] == [
        utc(2024, 11, 2, 5, 30),
        utc(2024, 11, 3, 5, 30),
        utc(2024, 11, 4, 6, 30),
    ]


def test_localize_and_to_local() -> None:
    assert localize(datetime(2024, 3, 31, 1, 30), LONDON) == utc(
        2024, 3, 31, 1, 30
    )  # gap → 02:30 BST
    assert localize(datetime(2024, 10, 27, 1, 30), ZoneInfo(LONDON)) == utc(2024, 10, 27, 0, 30)
    assert to_local(utc(2024, 7, 1, 8), LONDON) == datetime(2024, 7, 1, 9)


def test_kolkata_has_no_daylight_saving() -> None:
    rec = parse_recurrence("FREQ=YEARLY", dtstart=datetime(2024, 1, 1, 9), timezone="Asia/Kolkata")
    got = expand(rec, utc(2024, 1, 1), utc(2027, 1, 1))
    assert [o.start for o in got] == [
        utc(2024, 1, 1, 3, 30),
        utc(2025, 1, 1, 3, 30),
        utc(2026, 1, 1, 3, 30),
    ]


# --- parsing ---------------------------------------------------------------------------------


def test_parse_normalizes_and_keeps_count_and_until_apart() -> None:
    rec = parse_recurrence(
        "rrule:bymonthday=5;interval=1;freq=monthly;count=4",
        dtstart=datetime(2024, 1, 5, 9, 0, 0, 123),
        timezone=LONDON,
    )
    assert rec == Recurrence(
        "FREQ=MONTHLY;BYMONTHDAY=5", datetime(2024, 1, 5, 9), LONDON, (), None, 4
    )
    assert rec.frequency is Frequency.MONTHLY
    assert rec.is_bounded
    assert rec.rrule_text() == "FREQ=MONTHLY;BYMONTHDAY=5;COUNT=4"


@pytest.mark.parametrize(
    ("until_text", "expected"),
    [
        ("20240705T080000Z", datetime(2024, 7, 5, 9)),  # UTC, read in London (BST)
        ("20240705T090000", datetime(2024, 7, 5, 9)),  # a local time
        ("20240705", datetime(2024, 7, 5, 23, 59, 59)),  # a date: through its end
    ],
)
def test_until_forms(until_text: str, expected: datetime) -> None:
    rec = parse_recurrence(
        f"FREQ=MONTHLY;BYMONTHDAY=5;UNTIL={until_text}",
        dtstart=datetime(2024, 1, 5, 9),
        timezone=LONDON,
    )
    assert rec.until == expected
    assert len(expand(rec, *EVER)) == 7


def test_until_and_count_as_arguments() -> None:
    rec = parse_recurrence(
        "FREQ=DAILY", dtstart=datetime(2024, 1, 1, 9), timezone="UTC", until=datetime(2024, 1, 3, 9)
    )
    assert [o.local_start.day for o in expand(rec, *EVER)] == [1, 2, 3]
    rec = parse_recurrence("FREQ=DAILY", dtstart=datetime(2024, 1, 1, 9), timezone="UTC", count=2)
    assert len(expand(rec, *EVER)) == 2


def test_dtstart_moves_to_the_first_occurrence() -> None:
    # Wednesday 3 January; the rule only generates Mondays.
    rec = parse_recurrence(
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", dtstart=datetime(2024, 1, 3, 9), timezone=LONDON
    )
    assert rec.dtstart == datetime(2024, 1, 15, 9)
    assert [o.local_start.day for o in expand(rec, utc(2024, 1, 1), utc(2024, 2, 20))] == [
        15,
        29,
        12,
    ]


def test_the_day_of_dtstart_is_the_default_day_of_the_month() -> None:
    rec = parse_recurrence("FREQ=MONTHLY", dtstart=datetime(2024, 1, 31, 9), timezone="UTC")
    got = expand(rec, utc(2024, 1, 1), utc(2025, 1, 1))
    assert [o.local_start.month for o in got] == [1, 3, 5, 7, 8, 10, 12]
    rec = parse_recurrence(
        "FREQ=YEARLY;BYMONTH=2,3", dtstart=datetime(2024, 1, 30, 9), timezone="UTC"
    )
    assert rec.dtstart == datetime(2024, 3, 30, 9)


def test_a_bounded_sub_daily_rule_is_allowed() -> None:
    rec = parse_recurrence(
        "FREQ=HOURLY;INTERVAL=2;COUNT=4", dtstart=datetime(2024, 3, 31, 0, 30), timezone=LONDON
    )
    assert [o.start.hour for o in expand(rec, *EVER)] == [0, 1, 3, 5]  # 02:30 BST = 01:30Z …


@pytest.mark.parametrize(
    ("rule", "kwargs", "expected"),
    [
        ("", {}, ("rrule", "required")),
        ("BYDAY=MO", {}, ("rrule", "freq-required")),
        ("FREQ=FORTNIGHTLY", {}, ("rrule", "freq")),
        ("FREQ=DAILY;BYEASTER=0", {}, ("rrule", "unknown-part")),
        ("FREQ=DAILY;FREQ=WEEKLY", {}, ("rrule", "duplicate-part")),
        ("FREQ=DAILY;INTERVAL", {}, ("rrule", "syntax")),
        ("DTSTART:20240101T090000\nRRULE:FREQ=DAILY", {}, ("rrule", "syntax")),
        ("FREQ=DAILY;INTERVAL=0", {}, ("rrule", "interval")),
        ("FREQ=DAILY;INTERVAL=x", {}, ("rrule", "syntax")),
        ("FREQ=DAILY;COUNT=0", {}, ("rrule", "count")),
        ("FREQ=WEEKLY;WKST=XX", {}, ("rrule", "wkst")),
        ("FREQ=WEEKLY;BYDAY=MONDAY", {}, ("rrule", "byday")),
        ("FREQ=MONTHLY;BYMONTHDAY=32", {}, ("rrule", "bymonthday")),
        ("FREQ=MONTHLY;BYMONTHDAY=0", {}, ("rrule", "bymonthday")),
        ("FREQ=YEARLY;BYMONTH=13", {}, ("rrule", "bymonth")),
        ("FREQ=DAILY;BYHOUR=24", {}, ("rrule", "byhour")),
        ("FREQ=DAILY;UNTIL=tomorrow", {}, ("rrule", "until")),
        ("FREQ=HOURLY", {}, ("rrule", "sub-daily-unbounded")),
        ("FREQ=MINUTELY", {}, ("rrule", "sub-daily-unbounded")),
        ("FREQ=SECONDLY", {}, ("rrule", "sub-daily-unbounded")),
        ("FREQ=HOURLY;COUNT=5;BYMONTH=2", {}, ("rrule", "sub-daily-by-part")),
        ("FREQ=MINUTELY;UNTIL=20240301T000000", {}, ("rrule", "too-many-occurrences")),
        ("FREQ=DAILY;BYMINUTE=0,10,20,30,40,50;BYHOUR=8,9,10,11,12", {}, ("rrule", "too-frequent")),
        ("FREQ=MONTHLY;BYWEEKNO=1", {}, ("rrule", "byweekno")),
        ("FREQ=MONTHLY;BYYEARDAY=1", {}, ("rrule", "byyearday")),
        ("FREQ=WEEKLY;BYMONTHDAY=1", {}, ("rrule", "bymonthday")),
        ("FREQ=WEEKLY;BYSETPOS=1", {}, ("rrule", "bysetpos")),
        ("FREQ=WEEKLY;BYDAY=1MO", {}, ("rrule", "byday")),
        ("FREQ=MONTHLY;BYDAY=6MO", {}, ("rrule", "byday")),
        ("FREQ=YEARLY;BYWEEKNO=2;BYDAY=1MO", {}, ("rrule", "byday")),
        ("FREQ=DAILY;COUNT=2;UNTIL=20250101", {}, ("rrule", "count-and-until")),
        ("FREQ=DAILY;COUNT=2", {"count": 2}, ("count", "given-twice")),
        ("FREQ=DAILY;UNTIL=20250101", {"until": datetime(2025, 1, 1)}, ("until", "given-twice")),
        ("FREQ=DAILY", {"count": 0}, ("count", "range")),
        ("FREQ=DAILY", {"until": datetime(2023, 1, 1)}, ("until", "after-dtstart")),
        ("FREQ=DAILY;UNTIL=20230101", {}, ("rrule", "after-dtstart")),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", {}, ("rrule", "no-occurrences")),
        ("FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=-31", {}, ("rrule", "no-occurrences")),
        ("FREQ=MONTHLY;INTERVAL=2;BYMONTH=2,4", {}, ("rrule", "no-occurrences")),
        ("FREQ=DAILY;INTERVAL=7;BYDAY=TU", {}, ("rrule", "no-occurrences")),
        ("FREQ=DAILY;BYHOUR=9;BYSETPOS=2", {}, ("rrule", "no-occurrences")),
        ("FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=3", {}, ("rrule", "no-occurrences")),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6", {}, ("rrule", "no-occurrences")),
        ("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29", {}, ("rrule", "no-occurrences")),
        (
            "FREQ=YEARLY;BYMONTH=2",
            {"dtstart": datetime(2023, 1, 30, 9)},
            ("rrule", "no-occurrences"),
        ),
        (
            "FREQ=MONTHLY;BYMONTH=2,4",
            {"dtstart": datetime(2023, 1, 31, 9)},
            ("rrule", "no-occurrences"),
        ),
        ("FREQ=DAILY;COUNT=3", {"until": datetime(2023, 1, 9)}, ("rrule", "count-and-until")),
        ("FREQ=DAILY", {"exdates": [datetime(2023, 1, 2, 10)]}, ("exdates", "not-an-occurrence")),
        (
            "FREQ=DAILY",
            {"exdates": [datetime(2023, 1, 2, 9, tzinfo=UTC)]},
            ("exdates", "local-time"),
        ),
        ("FREQ=DAILY", {"timezone": "Mars/Olympus"}, ("timezone", "iana-zone")),
        ("FREQ=DAILY", {"timezone": "europe/london"}, ("timezone", "iana-zone")),
        ("FREQ=DAILY", {"dtstart": datetime(2023, 1, 2, 9, tzinfo=UTC)}, ("dtstart", "local-time")),
    ],
)
def test_bad_recurrences_name_the_field_and_the_rule(
    rule: str, kwargs: dict[str, object], expected: tuple[str, str]
) -> None:
    args: dict[str, object] = {"dtstart": datetime(2023, 1, 2, 9), "timezone": "UTC"} | kwargs
    with pytest.raises(InvalidInput) as exc:
        parse_recurrence(rule, **args)  # type: ignore[arg-type]
    assert expected in errors_of(exc)
    assert exc.value.code == "invalid-input"


def test_every_independent_mistake_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_recurrence(
            "FREQ=NEVER",
            dtstart=datetime(2024, 1, 1, tzinfo=UTC),
            timezone="Nowhere/Town",
            exdates=[datetime(2024, 1, 1, tzinfo=UTC)],
        )
    assert errors_of(exc) == {
        ("timezone", "iana-zone"),
        ("dtstart", "local-time"),
        ("exdates", "local-time"),
        ("rrule", "freq"),
    }


def test_load_zone() -> None:
    assert load_zone("Asia/Kolkata") == ZoneInfo("Asia/Kolkata")
    with pytest.raises(InvalidInput) as exc:
        load_zone("../etc/passwd", field="viewer_timezone")
    assert errors_of(exc) == {("viewer_timezone", "iana-zone")}


# --- occurrences, exceptions, editing ---------------------------------------------------------


def monthly() -> Recurrence:
    return parse_recurrence(
        "FREQ=MONTHLY;BYMONTHDAY=5", dtstart=datetime(2024, 1, 5, 9), timezone=LONDON, count=6
    )


def test_occurrence_identity_is_schedule_and_local_start() -> None:
    occ = expand(monthly(), *EVER)[3]
    assert occ == Occurrence(utc(2024, 4, 5, 8), datetime(2024, 4, 5, 9))
    assert occ.key(42) == occurrence_key(42, datetime(2024, 4, 5, 9)) == "42@20240405T090000"
    assert occurrence_key("s-1", datetime(2024, 4, 5, 9, 0, 0, 999)) == "s-1@20240405T090000"


def test_an_exdate_removes_one_occurrence_and_keeps_count() -> None:
    rec = monthly().with_exdate(datetime(2024, 3, 5, 9))
    starts = [o.local_start.month for o in expand(rec, *EVER)]
    assert starts == [1, 2, 4, 5, 6]  # COUNT counts the generated ones, the excluded included
    assert not is_occurrence(rec, datetime(2024, 3, 5, 9))
    assert generates(rec, datetime(2024, 3, 5, 9))
    assert is_occurrence(rec, datetime(2024, 4, 5, 9))
    with pytest.raises(InvalidInput) as exc:
        rec.with_exdate(datetime(2024, 3, 6, 9))
    assert errors_of(exc) == {("exdates", "not-an-occurrence")}


def test_split_this_and_following() -> None:
    rec = monthly().with_exdate(datetime(2024, 2, 5, 9)).with_exdate(datetime(2024, 5, 5, 9))
    before, after = split(rec, datetime(2024, 4, 5, 9))
    assert before is not None
    assert before.until == datetime(2024, 4, 5, 8, 59, 59)
    assert before.count is None
    assert before.exdates == (datetime(2024, 2, 5, 9),)
    assert after.dtstart == datetime(2024, 4, 5, 9)
    assert after.count == 3
    assert after.exdates == (datetime(2024, 5, 5, 9),)
    assert [o.local_start.month for o in expand(before, *EVER)] == [1, 3]
    assert [o.local_start.month for o in expand(after, *EVER)] == [4, 6]


def test_split_at_the_first_occurrence_leaves_nothing_before() -> None:
    before, after = split(monthly(), datetime(2024, 1, 5, 9))
    assert before is None
    assert after == monthly()


def test_split_only_at_an_occurrence() -> None:
    for at in (datetime(2024, 1, 6, 9), datetime(2024, 7, 5, 9), datetime(2023, 12, 5, 9)):
        with pytest.raises(InvalidInput) as exc:
            split(monthly(), at)
        assert errors_of(exc) == {("at", "not-an-occurrence")}
    with pytest.raises(InvalidInput):
        split(monthly(), datetime(2024, 2, 5, 9, tzinfo=UTC))


def test_stop_before_keeps_the_past() -> None:
    rec = parse_recurrence("FREQ=WEEKLY;BYDAY=MO", dtstart=datetime(2024, 1, 1, 9), timezone=LONDON)
    stopped = stop_before(rec, utc(2024, 1, 22, 9))
    assert stopped is not None
    assert stopped.until == datetime(2024, 1, 15, 9)  # 22 January 09:00 GMT is not before 09:00Z
    assert [o.local_start.day for o in expand(stopped, *EVER)] == [1, 8, 15]
    stopped = stop_before(rec, utc(2024, 1, 22, 9, 1))
    assert stopped is not None
    assert [o.local_start.day for o in expand(stopped, *EVER)] == [1, 8, 15, 22]
    assert stop_before(rec, utc(2024, 1, 1, 9)) is None
    assert stop_before(monthly(), utc(2030, 1, 1)) == monthly()


def test_next_occurrence() -> None:
    rec = monthly().with_exdate(datetime(2024, 3, 5, 9))
    assert next_occurrence(rec, utc(2024, 2, 10)) == Occurrence(
        utc(2024, 4, 5, 8), datetime(2024, 4, 5, 9)
    )
    assert next_occurrence(rec, utc(2024, 4, 5, 8)) == Occurrence(
        utc(2024, 4, 5, 8), datetime(2024, 4, 5, 9)
    )
    assert next_occurrence(rec, utc(2024, 6, 6)) is None


def test_expansion_windows_are_half_open_and_aware() -> None:
    rec = monthly()
    assert [o.local_start.month for o in expand(rec, utc(2024, 2, 5, 9), utc(2024, 4, 5, 8))] == [
        2,
        3,
    ]
    assert expand(rec, utc(2024, 4, 1), utc(2024, 3, 1)) == []
    with pytest.raises(InvalidInput) as exc:
        expand(rec, datetime(2024, 1, 1), utc(2025, 1, 1))
    assert errors_of(exc) == {("start", "aware")}


def test_horizon_is_bounded() -> None:
    rec = parse_recurrence("FREQ=DAILY", dtstart=datetime(2024, 1, 1, 9), timezone="UTC")
    assert len(occurrences_within(rec, utc(2024, 1, 1))) == 90
    assert len(occurrences_within(rec, utc(2024, 1, 1), 1)) == 1
    for days in (0, -1, MAX_HORIZON_DAYS + 1, True):
        with pytest.raises(InvalidInput) as exc:
            occurrences_within(rec, utc(2024, 1, 1), days)
        assert errors_of(exc) == {("horizon_days", "range")}


def test_ical_parts() -> None:
    rec = parse_recurrence(
        "FREQ=MONTHLY;BYMONTHDAY=5",
        dtstart=datetime(2024, 1, 5, 9),
        timezone=LONDON,
        until=datetime(2024, 12, 31, 23, 59, 59),
        exdates=[datetime(2024, 8, 5, 9), datetime(2024, 3, 5, 9)],
    )
    parts = rec.to_ical_parts()
    assert parts.rrule == "FREQ=MONTHLY;BYMONTHDAY=5;UNTIL=20241205T090000Z"
    assert parts.lines() == (
        "DTSTART;TZID=Europe/London:20240105T090000",
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=5;UNTIL=20241205T090000Z",
        "EXDATE;TZID=Europe/London:20240305T090000,20240805T090000",
    )
    assert monthly().to_ical_parts().lines() == (
        "DTSTART;TZID=Europe/London:20240105T090000",
        "RRULE:FREQ=MONTHLY;BYMONTHDAY=5;COUNT=6",
    )


def test_sub_daily_cap() -> None:
    rec = parse_recurrence(
        "FREQ=MINUTELY",
        dtstart=datetime(2024, 1, 1),
        timezone="UTC",
        count=MAX_SUB_DAILY_OCCURRENCES,
    )
    assert len(expand(rec, *EVER)) == MAX_SUB_DAILY_OCCURRENCES


# --- properties against dateutil -------------------------------------------------------------

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def rule_texts(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    interval = draw(st.integers(1, 3))
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    if freq in ("DAILY", "WEEKLY") and draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=3, unique=True))
        parts.append("BYDAY=" + ",".join(days))
    elif freq == "MONTHLY":
        form = draw(st.sampled_from(["plain", "monthday", "nth"]))
        if form == "monthday":
            days_ = draw(
                st.lists(
                    st.one_of(st.integers(1, 28), st.just(-1)), min_size=1, max_size=3, unique=True
                )
            )
            parts.append("BYMONTHDAY=" + ",".join(map(str, days_)))
        elif form == "nth":
            nth = draw(st.sampled_from([1, 2, 3, 4, -1]))
            parts.append(f"BYDAY={nth}{draw(st.sampled_from(WEEKDAYS))}")
    elif freq == "YEARLY":
        form = draw(st.sampled_from(["plain", "month", "month-day", "nth"]))
        if form != "plain":
            parts.append(f"BYMONTH={draw(st.integers(1, 12))}")
        if form == "month-day":
            parts.append(f"BYMONTHDAY={draw(st.integers(1, 28))}")
        elif form == "nth":
            parts.append(
                f"BYDAY={draw(st.sampled_from([1, 2, -1]))}{draw(st.sampled_from(WEEKDAYS))}"
            )
    return ";".join(parts)


@dataclass(frozen=True)
class Case:
    rule: str
    dtstart: datetime
    zone: str
    count: int | None
    until: datetime | None


@st.composite
def cases(draw: st.DrawFn) -> Case:
    day = draw(
        st.dates(min_value=datetime(2020, 1, 1).date(), max_value=datetime(2030, 12, 31).date())
    )
    # Hours near daylight-saving changes are drawn often on purpose.
    hour = draw(st.sampled_from([0, 1, 2, 3, 9, 17, 23]))
    minute = draw(st.sampled_from([0, 15, 30, 45]))
    dtstart = datetime(day.year, day.month, day.day, hour, minute)
    bound = draw(st.sampled_from(["none", "count", "until"]))
    count = draw(st.integers(1, 40)) if bound == "count" else None
    until = (
        dtstart + timedelta(days=draw(st.integers(0, 700)), minutes=draw(st.integers(-90, 90)))
        if bound == "until"
        else None
    )
    return Case(draw(rule_texts()), dtstart, draw(st.sampled_from(ZONES)), count, until)


@cache
def transitions(zone_name: str, year: int) -> tuple[tuple[datetime, timedelta], ...]:
    """Each UTC offset change of the year: its first affected local time and its size."""
    zone = ZoneInfo(zone_name)

    def offset(moment: datetime) -> timedelta:
        value = moment.astimezone(zone).utcoffset()
        assert value is not None
        return value

    out: list[tuple[datetime, timedelta]] = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        if offset(day) != offset(day + timedelta(days=1)):
            moment = day
            while offset(moment) == offset(day):
                moment += timedelta(minutes=15)
            old, new = offset(day), offset(moment)
            # A gap starts at the old wall time, a fold at the new one.
            first = (moment + min(old, new)).replace(tzinfo=None)
            out.append((first, abs(new - old)))
        day += timedelta(days=1)
    return tuple(out)


DST_ZONES = [z for z in ZONES if z not in ("UTC", "Asia/Kolkata")]


@st.composite
def dst_cases(draw: st.DrawFn) -> Case:
    """Rules with an occurrence inside a spring-forward gap or a fall-back fold."""
    zone = draw(st.sampled_from(DST_ZONES))
    year = draw(st.integers(2016, 2030))
    changes = transitions(zone, year)
    assume(changes)
    first, size = draw(st.sampled_from(changes))
    inside = first + timedelta(minutes=15 * draw(st.integers(0, size // timedelta(minutes=15) - 1)))
    rule = draw(st.sampled_from(["FREQ=DAILY", "FREQ=WEEKLY", "FREQ=DAILY;INTERVAL=2"]))
    step = {"FREQ=DAILY": 1, "FREQ=WEEKLY": 7, "FREQ=DAILY;INTERVAL=2": 2}[rule]
    dtstart = inside - timedelta(days=step * draw(st.integers(0, 4)))
    bound = draw(st.sampled_from(["none", "count", "until"]))
    count = draw(st.integers(1, 40)) if bound == "count" else None
    until = dtstart + timedelta(days=draw(st.integers(0, 60))) if bound == "until" else None
    return Case(rule, dtstart, zone, count, until)


def any_cases() -> st.SearchStrategy[Case]:
    return st.one_of(cases(), dst_cases())


def parse_case(case: Case, exdates: tuple[datetime, ...] = ()) -> Recurrence | None:
    try:
        return parse_recurrence(
            case.rule,
            dtstart=case.dtstart,
            timezone=case.zone,
            count=case.count,
            until=case.until,
            exdates=exdates,
        )
    except InvalidInput as exc:
        # An UNTIL before the first occurrence, or BYMONTH without dtstart's day of the month.
        assert errors_of(exc) <= {("rrule", "no-occurrences"), ("until", "after-dtstart")}
        assert oracle_raw(case, limit=1) == []
        return None


def oracle_raw(case: Case, *, limit: int) -> list[datetime]:
    """dateutil from an aware dtstart: local wall times (with their zone), UNTIL applied locally."""
    text = case.rule + (f";COUNT={case.count}" if case.count is not None else "")
    generated = rrulestr(text, dtstart=case.dtstart.replace(tzinfo=ZoneInfo(case.zone)))
    out: list[datetime] = []
    for occ in generated:
        if len(out) >= limit or (case.until is not None and occ.replace(tzinfo=None) > case.until):
            break
        out.append(occ)
    return out


def oracle(
    case: Case, start: datetime, end: datetime, exdates: tuple[datetime, ...] = ()
) -> list[Occurrence]:
    out: list[Occurrence] = []
    last_local = end.astimezone(ZoneInfo(case.zone)).replace(tzinfo=None) + timedelta(days=2)
    for occ in oracle_raw(case, limit=5000):
        local = occ.replace(tzinfo=None)
        if local > last_local:
            break
        instant = occ.astimezone(UTC)
        if local not in exdates and start <= instant < end:
            out.append(Occurrence(instant, local))
    return out


def window(case: Case, offset_days: int, length_days: int) -> tuple[datetime, datetime]:
    start = localize(case.dtstart, case.zone) + timedelta(days=offset_days, hours=offset_days % 24)
    return start, start + timedelta(days=length_days)


PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(any_cases(), st.integers(-40, 400), st.integers(1, 400))
def test_expansion_matches_dateutil(case: Case, offset: int, length: int) -> None:
    rec = parse_case(case)
    if rec is None:
        return
    start, end = window(case, offset, length)
    got = expand(rec, start, end)
    assert got == oracle(case, start, end)
    if case.count is not None:
        assert len(expand(rec, *EVER)) == case.count


@PROPERTY
@given(any_cases(), st.integers(1, 400))
def test_the_wall_time_of_dtstart_is_kept_across_daylight_saving(case: Case, length: int) -> None:
    rec = parse_case(case)
    if rec is None:
        return
    zone = ZoneInfo(case.zone)
    for occ in occurrences_within(rec, localize(rec.dtstart, zone), length):
        assert occ.local_start.time() == case.dtstart.time()
        wall = occ.start.astimezone(zone).replace(tzinfo=None)
        before = occ.local_start.replace(tzinfo=zone, fold=0).utcoffset()
        after = occ.local_start.replace(tzinfo=zone, fold=1).utcoffset()
        assert before is not None and after is not None
        if after > before:  # a gap: the start moves forward by its length
            event("an occurrence in a spring-forward gap")
            assert wall == occ.local_start + (after - before)
        else:
            if after < before:
                event("an occurrence in a fall-back fold")
            assert wall == occ.local_start


@PROPERTY
@given(any_cases(), st.data())
def test_exdates_remove_exactly_those_occurrences(case: Case, data: st.DataObject) -> None:
    raw = [occ.replace(tzinfo=None) for occ in oracle_raw(case, limit=30)]
    if not raw:
        return
    exdates = tuple(data.draw(st.lists(st.sampled_from(raw), max_size=5, unique=True)))
    rec = parse_case(case, exdates)
    assert rec is not None
    start, end = (
        localize(raw[0], case.zone) - timedelta(days=1),
        localize(raw[-1], case.zone) + timedelta(days=1),
    )
    got = expand(rec, start, end)
    assert not {o.local_start for o in got} & set(exdates)
    assert got == oracle(case, start, end, exdates)


@PROPERTY
@given(any_cases(), st.data())
def test_split_yields_exactly_the_original_sequence(case: Case, data: st.DataObject) -> None:
    raw = [occ.replace(tzinfo=None) for occ in oracle_raw(case, limit=40)]
    if not raw:
        return
    exdates = tuple(data.draw(st.lists(st.sampled_from(raw), max_size=3, unique=True)))
    rec = parse_case(case, exdates)
    assert rec is not None
    index = data.draw(st.integers(0, len(raw) - 1))
    at = raw[index]
    before, after = split(rec, at)
    start, end = (
        localize(raw[0], case.zone) - timedelta(days=1),
        localize(raw[-1], case.zone) + timedelta(days=400),
    )
    whole = expand(rec, start, end)
    head = expand(before, start, end) if before is not None else []
    tail = expand(after, start, end)
    assert head + tail == whole
    assert all(o.local_start < at for o in head)
    assert all(o.local_start >= at for o in tail)
    assert (before is None) == (index == 0)
    assert after.dtstart == at
    if case.count is not None:
        assert after.count == case.count - index
    assert set(rec.exdates) == set(after.exdates) | set(before.exdates if before else ())
    # The stored form (rrule_text with a local UNTIL) parses back to the same values.
    for part in (rec, before, after):
        if part is not None:
            assert reparse(part) == part


def reparse(rec: Recurrence) -> Recurrence:
    return parse_recurrence(
        rec.rrule_text(), dtstart=rec.dtstart, timezone=rec.timezone, exdates=rec.exdates
    )


@PROPERTY
@given(any_cases(), st.integers(-40, 400), st.integers(1, 120))
def test_horizon_is_bounded_and_complete(case: Case, offset: int, days: int) -> None:
    rec = parse_case(case)
    if rec is None:
        return
    start, end = window(case, offset, days)
    got = occurrences_within(rec, start, days)
    assert all(start <= o.start < end for o in got)
    assert got == expand(rec, start, end)
    assert len(got) <= days + 1


@PROPERTY
@given(any_cases(), st.data())
def test_ical_parts_mean_the_same_to_a_reader(case: Case, data: st.DataObject) -> None:
    raw = [occ.replace(tzinfo=None) for occ in oracle_raw(case, limit=30)]
    if not raw:
        return
    exdates = tuple(data.draw(st.lists(st.sampled_from(raw), max_size=3, unique=True)))
    rec = parse_case(case, exdates)
    assert rec is not None
    read = rrulestr("\n".join(rec.to_ical_parts().lines()), forceset=True, tzids=ZoneInfo)
    assert isinstance(read, rruleset)
    start, end = (
        localize(raw[0], case.zone) - timedelta(days=1),
        localize(raw[-1], case.zone) + timedelta(days=400),
    )
    ours = [o.start for o in expand(rec, start, end)]
    theirs = [occ.astimezone(UTC) for occ in read.between(start, end, inc=True) if occ < end]
    assert ours == theirs


def test_oracle_sanity() -> None:
    # The oracle itself: dateutil with an aware dtstart keeps the wall time too.
    generated = rrule(freq=3, count=2, dtstart=datetime(2024, 3, 9, 9, tzinfo=ZoneInfo(NY)))
    assert [occ.astimezone(UTC).hour for occ in generated] == [14, 13]
