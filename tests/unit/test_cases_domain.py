"""The support case domain without a database: the move table, events, priority and clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.cases import (
    ACTIVE_STATUSES,
    CASE_EVENTS,
    CASE_MOVES,
    DONE_STATUSES,
    CaseAction,
    CaseClock,
    CasePriority,
    CaseStatus,
    advance_clock,
    apply_case_action,
    can_case,
    can_close,
    can_mark_pending,
    can_reopen,
    can_resolve,
    can_resume,
    is_active,
    priority_rank,
    record_first_response,
)
from tenure.domain.errors import InvalidInput, InvalidTransition
from tenure.domain.events import EventType

S = CaseStatus
A = CaseAction
LEGAL = {
    (S.OPEN, A.MARK_PENDING): S.PENDING,
    (S.PENDING, A.RESUME): S.OPEN,
    (S.OPEN, A.RESOLVE): S.RESOLVED,
    (S.PENDING, A.RESOLVE): S.RESOLVED,
    (S.RESOLVED, A.CLOSE): S.CLOSED,
    (S.RESOLVED, A.REOPEN): S.OPEN,
    (S.CLOSED, A.REOPEN): S.OPEN,
}
OPENED = datetime(2024, 5, 1, 9, tzinfo=UTC)


def test_the_table_is_exactly_the_documented_moves() -> None:
    assert CASE_MOVES == LEGAL


@pytest.mark.parametrize(("status", "action"), list(product(S, A)))
def test_every_status_and_action(status: CaseStatus, action: CaseAction) -> None:
    if (status, action) in LEGAL:
        assert can_case(status, action)
        assert apply_case_action(status, action) is LEGAL[(status, action)]
    else:
        assert not can_case(status, action)
        with pytest.raises(InvalidTransition) as exc:
            apply_case_action(status, action)
        assert exc.value.code == "invalid-transition"
        assert exc.value.details == {"status": status.value, "action": action.value}


def test_helpers_follow_the_table() -> None:
    assert {s for s in S if can_mark_pending(s)} == {S.OPEN}
    assert {s for s in S if can_resume(s)} == {S.PENDING}
    assert {s for s in S if can_resolve(s)} == {S.OPEN, S.PENDING}
    assert {s for s in S if can_close(s)} == {S.RESOLVED}
    assert {s for s in S if can_reopen(s)} == {S.RESOLVED, S.CLOSED}
    assert set(S) == ACTIVE_STATUSES | DONE_STATUSES
    assert not ACTIVE_STATUSES & DONE_STATUSES
    assert [s for s in S if is_active(s)] == [S.OPEN, S.PENDING]


def test_every_move_has_its_event() -> None:
    assert set(CASE_EVENTS) == set(A)
    assert CASE_EVENTS[A.REOPEN] is EventType.CASE_REOPENED
    assert CASE_EVENTS[A.RESOLVE].value == "case.resolved"
    assert EventType.CASE_OPENED.value == "case.opened"


def test_priorities_rank_urgent_first() -> None:
    ranked = sorted(CasePriority, key=priority_rank, reverse=True)
    assert ranked == [CasePriority.URGENT, CasePriority.HIGH, CasePriority.NORMAL, CasePriority.LOW]


def test_the_clock() -> None:
    clock = CaseClock(OPENED)
    assert clock.response_time() is None
    assert clock.resolution_time() is None
    clock = record_first_response(clock, OPENED + timedelta(minutes=30))
    clock = record_first_response(clock, OPENED + timedelta(hours=5))  # kept once
    assert clock.response_time() == timedelta(minutes=30)
    clock = advance_clock(clock, A.MARK_PENDING, OPENED + timedelta(hours=1))
    assert clock == CaseClock(OPENED, OPENED + timedelta(minutes=30))
    clock = advance_clock(clock, A.RESOLVE, OPENED + timedelta(hours=2))
    assert clock.resolution_time() == timedelta(hours=2)
    clock = advance_clock(clock, A.CLOSE, OPENED + timedelta(days=1))
    assert clock.closed_at == OPENED + timedelta(days=1)
    clock = advance_clock(clock, A.REOPEN, OPENED + timedelta(days=2))
    assert clock == CaseClock(OPENED, OPENED + timedelta(minutes=30), None, None)


def test_resolving_counts_as_the_first_response() -> None:
    clock = advance_clock(CaseClock(OPENED), A.RESOLVE, OPENED + timedelta(hours=3))
    assert clock.first_response_at == OPENED + timedelta(hours=3)


def test_first_response_errors() -> None:
    with pytest.raises(InvalidInput) as exc:
        record_first_response(CaseClock(OPENED), OPENED - timedelta(seconds=1))
    assert [(e.field, e.rule) for e in exc.value.errors] == [("first_response_at", "after-opened")]
    with pytest.raises(InvalidInput):
        record_first_response(CaseClock(OPENED), datetime(2024, 5, 1, 10))


@settings(max_examples=200)
@given(st.lists(st.sampled_from(list(A)), max_size=10))
def test_the_clock_agrees_with_the_status(actions: list[CaseAction]) -> None:
    status, clock, now = S.OPEN, CaseClock(OPENED), OPENED
    for action in actions:
        now += timedelta(hours=1)
        if not can_case(status, action):
            with pytest.raises(InvalidTransition):
                apply_case_action(status, action)
            continue
        status = apply_case_action(status, action)
        clock = advance_clock(clock, action, now)
    assert (clock.resolved_at is not None) is (status in DONE_STATUSES)
    assert (clock.closed_at is not None) is (status is S.CLOSED)
    if clock.resolved_at is not None:
        assert clock.first_response_at is not None
        assert clock.first_response_at <= clock.resolved_at
