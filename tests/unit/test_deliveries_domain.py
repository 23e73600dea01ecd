"""The service delivery domain without a database: the move table, evidence and holding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.deliveries import (
    DELIVERY_EVENTS,
    DELIVERY_MOVES,
    EVIDENCE_STATUSES,
    FINAL_STATUSES,
    OPEN_STATUSES,
    DeliveryAction,
    DeliveryStatus,
    apply_delivery_action,
    can_cancel,
    can_deliver,
    can_delivery,
    can_mark_no_show,
    can_reschedule,
    can_schedule,
    can_start,
    check_actual_times,
    check_reschedule,
    check_scheduled_window,
    evidence_start,
    holds_relationship,
    initial_status,
    is_evidence,
    is_open,
)
from tenure.domain.errors import InvalidInput, InvalidTransition
from tenure.domain.events import EventType

S = DeliveryStatus
A = DeliveryAction
LEGAL = {
    (S.REQUESTED, A.SCHEDULE): S.SCHEDULED,
    (S.SCHEDULED, A.START): S.IN_PROGRESS,
    (S.SCHEDULED, A.DELIVER): S.DELIVERED,
    (S.IN_PROGRESS, A.DELIVER): S.DELIVERED,
    (S.REQUESTED, A.CANCEL): S.CANCELLED,
    (S.SCHEDULED, A.CANCEL): S.CANCELLED,
    (S.SCHEDULED, A.NO_SHOW): S.NO_SHOW,
}
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_the_table_is_exactly_the_documented_moves() -> None:
    assert DELIVERY_MOVES == LEGAL


@pytest.mark.parametrize(("status", "action"), list(product(S, A)))
def test_every_status_and_action(status: DeliveryStatus, action: DeliveryAction) -> None:
    if (status, action) in LEGAL:
        assert can_delivery(status, action)
        assert apply_delivery_action(status, action) is LEGAL[(status, action)]
    else:
        assert not can_delivery(status, action)
        with pytest.raises(InvalidTransition) as exc:
            apply_delivery_action(status, action)
        assert exc.value.code == "invalid-transition"
        assert exc.value.details == {"status": status.value, "action": action.value}


def test_cancel_and_no_show_sources() -> None:
    assert {s for s in S if can_cancel(s)} == {S.REQUESTED, S.SCHEDULED}
    assert {s for s in S if can_mark_no_show(s)} == {S.SCHEDULED}
    assert {s for s in S if can_schedule(s)} == {S.REQUESTED}
    assert {s for s in S if can_start(s)} == {S.SCHEDULED}
    assert {s for s in S if can_deliver(s)} == {S.SCHEDULED, S.IN_PROGRESS}


def test_final_statuses_have_no_way_out() -> None:
    assert {S.DELIVERED, S.CANCELLED, S.NO_SHOW} == FINAL_STATUSES
    assert {S.REQUESTED, S.SCHEDULED, S.IN_PROGRESS} == OPEN_STATUSES
    for status, action in product(FINAL_STATUSES, A):
        assert not can_delivery(status, action)
    assert all(is_open(s) is (s in OPEN_STATUSES) for s in S)


def test_every_status_has_its_event() -> None:
    assert set(DELIVERY_EVENTS) == set(S)
    assert DELIVERY_EVENTS[S.IN_PROGRESS] is EventType.DELIVERY_STARTED
    assert {e.value for e in DELIVERY_EVENTS.values()} == {
        "delivery.requested",
        "delivery.scheduled",
        "delivery.started",
        "delivery.delivered",
        "delivery.cancelled",
        "delivery.no_show",
    }


@pytest.mark.parametrize("status", list(S))
def test_evidence(status: DeliveryStatus) -> None:
    expected = status in {S.SCHEDULED, S.IN_PROGRESS, S.DELIVERED}
    assert is_evidence(status) is expected
    assert (status in EVIDENCE_STATUSES) is expected


@pytest.mark.parametrize(
    ("status", "start", "holds"),
    [
        (S.SCHEDULED, NOW + timedelta(days=3), True),
        (S.SCHEDULED, NOW, True),
        (S.SCHEDULED, NOW - timedelta(minutes=1), False),  # passed unrecorded
        (S.SCHEDULED, None, False),
        (S.IN_PROGRESS, NOW - timedelta(hours=1), True),
        (S.REQUESTED, NOW + timedelta(days=3), False),
        (S.REQUESTED, None, False),
        (S.DELIVERED, NOW + timedelta(days=3), False),
        (S.CANCELLED, NOW + timedelta(days=3), False),
        (S.NO_SHOW, NOW + timedelta(days=3), False),
    ],
)
def test_holds_relationship(status: DeliveryStatus, start: datetime | None, holds: bool) -> None:
    assert holds_relationship(status, start, NOW) is holds


def test_initial_status_and_rescheduling() -> None:
    assert initial_status(None) is S.REQUESTED
    assert initial_status(NOW) is S.SCHEDULED
    assert {s for s in S if can_reschedule(s)} == {S.SCHEDULED}
    check_reschedule(S.SCHEDULED)
    with pytest.raises(InvalidTransition):
        check_reschedule(S.DELIVERED)


def test_evidence_start_prefers_the_actual_time() -> None:
    assert evidence_start(NOW, NOW + timedelta(days=1)) == NOW
    assert evidence_start(None, NOW) == NOW
    assert evidence_start(None, None) is None


def test_time_checks() -> None:
    check_scheduled_window(NOW, NOW + timedelta(hours=1))
    with pytest.raises(InvalidInput) as exc:
        check_scheduled_window(NOW, NOW)
    assert [(e.field, e.rule) for e in exc.value.errors] == [("scheduled_end", "after-start")]
    with pytest.raises(InvalidInput) as exc:
        check_scheduled_window(datetime(2024, 5, 1), NOW)
    assert [(e.field, e.rule) for e in exc.value.errors] == [("scheduled_start", "aware")]

    check_actual_times(NOW - timedelta(hours=1), NOW, now=NOW)
    check_actual_times(None, None, now=NOW)
    with pytest.raises(InvalidInput) as exc:
        check_actual_times(NOW, NOW - timedelta(hours=1), now=NOW)
    assert [(e.field, e.rule) for e in exc.value.errors] == [("actual_end", "after-start")]
    with pytest.raises(InvalidInput) as exc:
        check_actual_times(NOW + timedelta(hours=1), None, now=NOW)
    assert [(e.field, e.rule) for e in exc.value.errors] == [("actual_start", "not-future")]


@settings(max_examples=200)
@given(st.lists(st.sampled_from(list(A)), max_size=8))
def test_any_sequence_of_actions_follows_the_table(actions: list[DeliveryAction]) -> None:
    status = initial_status(None)
    seen = [status]
    for action in actions:
        if can_delivery(status, action):
            status = apply_delivery_action(status, action)
            seen.append(status)
        else:
            with pytest.raises(InvalidTransition):
                apply_delivery_action(status, action)
    # Once final, a delivery stays where it is; no_show always follows a scheduled time.
    finals = [i for i, s in enumerate(seen) if s in FINAL_STATUSES]
    assert all(i == len(seen) - 1 for i in finals)
    if status is S.NO_SHOW:
        assert seen[-2] is S.SCHEDULED
