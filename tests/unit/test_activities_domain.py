"""The activity domain without a database: moves, timing rules, conflicts and the agenda."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import product
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.activities import (
    ACTIVITY_EVENTS,
    ACTIVITY_MOVES,
    CONFLICT_CHECKED_KINDS,
    DUE_KINDS,
    FLEXIBLE_KINDS,
    TIMED_KINDS,
    ActivityAction,
    ActivityKind,
    ActivityStatus,
    Slot,
    Timing,
    agenda_window,
    apply_activity_action,
    bucket_agenda,
    can_activity,
    can_cancel,
    can_complete,
    can_reschedule,
    check_conflict,
    check_reschedule,
    check_timing,
    find_conflict,
    interaction_channel,
    local_day_bounds,
    overlaps,
)
from tenure.domain.errors import Conflict, InvalidInput, InvalidTransition
from tenure.domain.events import EventType

LEGAL = {
    (ActivityStatus.OPEN, ActivityAction.COMPLETE): ActivityStatus.DONE,
    (ActivityStatus.OPEN, ActivityAction.CANCEL): ActivityStatus.CANCELLED,
}
NY = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fields_of(exc: pytest.ExceptionInfo[InvalidInput]) -> set[tuple[str, str]]:
    return {(e.field, e.rule) for e in exc.value.errors}


# --- moves -----------------------------------------------------------------------------------


def test_the_table_is_exactly_the_documented_moves() -> None:
    assert ACTIVITY_MOVES == LEGAL


@pytest.mark.parametrize(("status", "action"), list(product(ActivityStatus, ActivityAction)))
def test_every_status_and_action(status: ActivityStatus, action: ActivityAction) -> None:
    if (status, action) in LEGAL:
        assert can_activity(status, action)
        assert apply_activity_action(status, action) is LEGAL[(status, action)]
    else:
        assert not can_activity(status, action)
        with pytest.raises(InvalidTransition) as exc:
            apply_activity_action(status, action)
        assert exc.value.code == "invalid-transition"
        assert exc.value.details == {"status": status.value, "action": action.value}


@pytest.mark.parametrize("status", list(ActivityStatus))
def test_helpers_follow_the_table(status: ActivityStatus) -> None:
    is_open = status is ActivityStatus.OPEN
    assert can_complete(status) is is_open
    assert can_cancel(status) is is_open
    assert can_reschedule(status) is is_open
    if is_open:
        check_reschedule(status)
    else:
        with pytest.raises(InvalidTransition):
            check_reschedule(status)


def test_every_move_has_its_event() -> None:
    assert ACTIVITY_EVENTS == {
        ActivityAction.COMPLETE: EventType.ACTIVITY_COMPLETED,
        ActivityAction.CANCEL: EventType.ACTIVITY_CANCELLED,
    }
    assert EventType.ACTIVITY_COMPLETED.value == "activity.completed"


def test_kinds_fall_into_exactly_one_timing_group() -> None:
    assert set(ActivityKind) == DUE_KINDS | TIMED_KINDS | FLEXIBLE_KINDS
    assert not DUE_KINDS & TIMED_KINDS
    assert not DUE_KINDS & FLEXIBLE_KINDS
    assert not TIMED_KINDS & FLEXIBLE_KINDS
    assert {ActivityKind.APPOINTMENT, ActivityKind.VISIT} == CONFLICT_CHECKED_KINDS


def test_interaction_channels() -> None:
    assert interaction_channel(ActivityKind.CALL) == "call"
    assert interaction_channel(ActivityKind.MEETING) == "meeting"
    assert interaction_channel(ActivityKind.VISIT) == "visit"
    assert interaction_channel(ActivityKind.TASK) is None


# --- timing ----------------------------------------------------------------------------------

T0 = utc(2024, 5, 1, 9)
T1 = utc(2024, 5, 1, 10)


@pytest.mark.parametrize(
    ("kind", "due", "start", "end"),
    [
        (ActivityKind.TASK, T0, None, None),
        (ActivityKind.MEETING, None, T0, T1),
        (ActivityKind.APPOINTMENT, None, T0, T1),
        (ActivityKind.VISIT, None, T0, T1),
        (ActivityKind.CALL, T0, None, None),
        (ActivityKind.CALL, None, T0, T1),
        (ActivityKind.REVIEW, T0, None, None),
        (ActivityKind.REVIEW, None, T0, T1),
    ],
)
def test_valid_timings(
    kind: ActivityKind, due: datetime | None, start: datetime | None, end: datetime | None
) -> None:
    timing = check_timing(kind, due_at=due, start_at=start, end_at=end)
    assert timing == Timing(due, start, end)
    assert timing.is_timed is (start is not None)
    assert timing.at == T0


@pytest.mark.parametrize(
    ("kind", "due", "start", "end", "expected"),
    [
        (ActivityKind.TASK, None, None, None, {("due_at", "required")}),
        (ActivityKind.TASK, T0, T0, T1, {("start_at", "not-allowed"), ("end_at", "not-allowed")}),
        (
            ActivityKind.MEETING,
            None,
            None,
            None,
            {("start_at", "required"), ("end_at", "required")},
        ),
        (
            ActivityKind.VISIT,
            T0,
            None,
            None,
            {("due_at", "not-allowed"), ("start_at", "required"), ("end_at", "required")},
        ),
        (ActivityKind.APPOINTMENT, None, T1, T0, {("end_at", "after-start")}),
        (ActivityKind.APPOINTMENT, None, T0, T0, {("end_at", "after-start")}),
        (ActivityKind.CALL, None, None, None, {("due_at", "required")}),
        (ActivityKind.CALL, T0, T0, T1, {("due_at", "not-allowed")}),
        (ActivityKind.REVIEW, None, T0, None, {("end_at", "required")}),
        (ActivityKind.REVIEW, None, None, T1, {("start_at", "required")}),
        (ActivityKind.TASK, datetime(2024, 5, 1, 9), None, None, {("due_at", "aware")}),
        (ActivityKind.MEETING, None, datetime(2024, 5, 1, 9), T1, {("start_at", "aware")}),
    ],
)
def test_invalid_timings_name_every_field(
    kind: ActivityKind,
    due: datetime | None,
    start: datetime | None,
    end: datetime | None,
    expected: set[tuple[str, str]],
) -> None:
    with pytest.raises(InvalidInput) as exc:
        check_timing(kind, due_at=due, start_at=start, end_at=end)
    assert fields_of(exc) == expected


# --- conflicts -------------------------------------------------------------------------------


def test_overlaps_is_half_open() -> None:
    assert overlaps(T0, T1, T0 + timedelta(minutes=59), T1 + timedelta(hours=1))
    assert not overlaps(T0, T1, T1, T1 + timedelta(hours=1))  # back to back
    assert not overlaps(T1, T1 + timedelta(hours=1), T0, T1)
    assert overlaps(T0, T1 + timedelta(hours=5), T0 + timedelta(minutes=5), T1)  # contains


@settings(max_examples=300)
@given(st.integers(0, 50), st.integers(1, 20), st.integers(0, 50), st.integers(1, 20))
def test_overlaps_means_sharing_a_minute(a: int, a_len: int, b: int, b_len: int) -> None:
    def span(start: int, length: int) -> tuple[datetime, datetime]:
        return T0 + timedelta(minutes=start), T0 + timedelta(minutes=start + length)

    minutes_a = set(range(a, a + a_len))
    minutes_b = set(range(b, b + b_len))
    assert overlaps(*span(a, a_len), *span(b, b_len)) is bool(minutes_a & minutes_b)
    assert overlaps(*span(a, a_len), *span(b, b_len)) is overlaps(*span(b, b_len), *span(a, a_len))


SLOTS = [
    Slot(3, utc(2024, 5, 1, 11), utc(2024, 5, 1, 12), "Audit"),
    Slot(1, utc(2024, 5, 1, 9), utc(2024, 5, 1, 10), "Review"),
    Slot(2, utc(2024, 5, 1, 9, 30), utc(2024, 5, 1, 11, 30), "Visit"),
]


def test_find_conflict_returns_the_earliest_clash() -> None:
    assert find_conflict(utc(2024, 5, 1, 9, 45), utc(2024, 5, 1, 11, 15), SLOTS) == SLOTS[1]
    assert find_conflict(utc(2024, 5, 1, 11, 30), utc(2024, 5, 1, 13), SLOTS) == SLOTS[0]
    assert find_conflict(utc(2024, 5, 1, 12), utc(2024, 5, 1, 13), SLOTS) is None
    assert find_conflict(utc(2024, 5, 1, 8), utc(2024, 5, 1, 9), SLOTS) is None
    # Moving activity 1 itself does not clash with itself.
    assert find_conflict(T0, T1, SLOTS, exclude_id=1) == SLOTS[2]
    assert find_conflict(T0, T1, [], exclude_id=1) is None


def test_an_overlapping_appointment_is_refused_naming_the_other() -> None:
    with pytest.raises(Conflict) as exc:
        check_conflict(ActivityKind.APPOINTMENT, T0, T1, SLOTS)
    assert exc.value.code == "conflict"
    assert exc.value.details["conflicting_activity_id"] == 1
    assert "activity 1 (Review)" in exc.value.message
    # Allowed on request, or not checked for kinds other than appointments and visits.
    check_conflict(ActivityKind.APPOINTMENT, T0, T1, SLOTS, allow_overlap=True)
    check_conflict(ActivityKind.MEETING, T0, T1, SLOTS)
    check_conflict(ActivityKind.VISIT, utc(2024, 5, 1, 12), utc(2024, 5, 1, 13), SLOTS)
    with pytest.raises(Conflict):
        check_conflict(ActivityKind.VISIT, utc(2024, 5, 1, 11), utc(2024, 5, 1, 13), SLOTS)


# --- agenda ----------------------------------------------------------------------------------


def test_agenda_buckets_by_the_viewers_local_day() -> None:
    now = utc(2024, 5, 10, 15)  # 11:00 in New York
    items = {
        "yesterday late": utc(2024, 5, 10, 3, 59),  # 9 May 23:59 EDT
        "today early": utc(2024, 5, 10, 4),  # 10 May 00:00 EDT
        "today, already past": utc(2024, 5, 10, 13),
        "tonight (tomorrow in UTC)": utc(2024, 5, 11, 2),  # 10 May 22:00 EDT
        "tomorrow": utc(2024, 5, 11, 4),
        "in seven days": utc(2024, 5, 18, 3, 59),  # 17 May 23:59 EDT
        "in eight days": utc(2024, 5, 18, 4),
        "last month": utc(2024, 4, 1),
    }
    agenda = bucket_agenda(items, when=items.__getitem__, timezone=NY, now=now, days=7)
    assert agenda.overdue == ("last month", "yesterday late")
    assert agenda.today == ("today early", "today, already past", "tonight (tomorrow in UTC)")
    assert agenda.upcoming == ("tomorrow", "in seven days")


def test_agenda_without_upcoming_days() -> None:
    now = utc(2024, 5, 10, 15)
    items = [utc(2024, 5, 10, 16), utc(2024, 5, 11, 16)]
    agenda = bucket_agenda(items, when=lambda t: t, timezone="UTC", now=now, days=0)
    assert agenda.today == (items[0],)
    assert agenda.upcoming == ()


def test_a_daylight_saving_day_is_23_hours_long() -> None:
    start, end = local_day_bounds(date(2024, 3, 10), NY)
    assert (start, end) == (utc(2024, 3, 10, 5), utc(2024, 3, 11, 4))
    window = agenda_window(NY, utc(2024, 3, 10, 12), days=1)
    assert window.today == date(2024, 3, 10)
    assert window.today_end - window.today_start == timedelta(hours=23)
    assert window.upcoming_end == utc(2024, 3, 12, 4)


def test_a_midnight_that_does_not_exist_starts_the_day_at_one() -> None:
    # São Paulo sprang forward at midnight on 15 October 2017: the day began at 01:00 (UTC-2).
    start, _ = local_day_bounds(date(2017, 10, 15), "America/Sao_Paulo")
    assert start == utc(2017, 10, 15, 3)


def test_agenda_input_errors() -> None:
    with pytest.raises(InvalidInput) as exc:
        agenda_window(NY, datetime(2024, 5, 10, 15))
    assert fields_of(exc) == {("now", "aware")}
    for days in (-1, 367, True):
        with pytest.raises(InvalidInput) as exc:
            agenda_window(NY, utc(2024, 5, 10), days)
        assert fields_of(exc) == {("days", "range")}
    with pytest.raises(InvalidInput) as exc:
        agenda_window("Somewhere/Else", utc(2024, 5, 10))
    assert fields_of(exc) == {("timezone", "iana-zone")}
    with pytest.raises(InvalidInput):
        bucket_agenda([datetime(2024, 5, 10)], when=lambda t: t, timezone=NY, now=utc(2024, 5, 10))


ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]


@settings(max_examples=200)
@given(
    st.lists(st.integers(-20 * 24 * 60, 20 * 24 * 60), max_size=30),
    st.sampled_from(ZONES),
    st.integers(0, 10),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31)),
)
def test_agenda_buckets_match_local_dates(
    offsets: list[int], zone: str, days: int, now_naive: datetime
) -> None:
    now = now_naive.replace(tzinfo=UTC)
    items = [now + timedelta(minutes=m) for m in offsets]
    agenda = bucket_agenda(items, when=lambda t: t, timezone=zone, now=now, days=days)
    today = now.astimezone(ZoneInfo(zone)).date()

    def local_date(t: datetime) -> date:
        return t.astimezone(ZoneInfo(zone)).date()

    assert sorted(agenda.overdue) == sorted(t for t in items if local_date(t) < today)
    assert sorted(agenda.today) == sorted(t for t in items if local_date(t) == today)
    assert sorted(agenda.upcoming) == sorted(
        t for t in items if today < local_date(t) <= today + timedelta(days=days)
    )
    for bucket in (agenda.overdue, agenda.today, agenda.upcoming):
        assert list(bucket) == sorted(bucket)
