"""The agreement domain without a database: the move table, date rules, monthly value."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.domain.agreements import (
    AGREEMENT_MOVES,
    MONTHS_PER_PERIOD,
    AgreementAction,
    AgreementStatus,
    BillingPeriod,
    apply_agreement_action,
    can_agreement,
    check_agreement_dates,
    check_end_date,
    fate_when_relationship_ends,
    monthly_value,
)
from tenure.domain.errors import InvalidInput, InvalidTransition

LEGAL = {
    (AgreementStatus.DRAFT, AgreementAction.CONFIRM): AgreementStatus.ACTIVE,
    (AgreementStatus.ACTIVE, AgreementAction.END): AgreementStatus.ENDED,
    (AgreementStatus.DRAFT, AgreementAction.CANCEL): AgreementStatus.CANCELLED,
    (AgreementStatus.ACTIVE, AgreementAction.WITHDRAW): AgreementStatus.CANCELLED,
}


def test_the_table_is_exactly_the_documented_moves() -> None:
    assert AGREEMENT_MOVES == LEGAL


@pytest.mark.parametrize(("status", "action"), list(product(AgreementStatus, AgreementAction)))
def test_every_status_and_action(status: AgreementStatus, action: AgreementAction) -> None:
    if (status, action) in LEGAL:
        assert can_agreement(status, action)
        assert apply_agreement_action(status, action) is LEGAL[(status, action)]
    else:
        assert not can_agreement(status, action)
        with pytest.raises(InvalidTransition) as raised:
            apply_agreement_action(status, action)
        assert raised.value.code == "invalid-transition"
        assert raised.value.details == {"status": status.value, "action": action.value}


@pytest.mark.parametrize("status", [AgreementStatus.ENDED, AgreementStatus.CANCELLED])
def test_ended_and_cancelled_are_final(status: AgreementStatus) -> None:
    assert not any(can_agreement(status, action) for action in AgreementAction)


def test_nothing_returns_to_draft() -> None:
    assert AgreementStatus.DRAFT not in AGREEMENT_MOVES.values()


# --- dates ------------------------------------------------------------------------------------

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


def _fields(exc: InvalidInput) -> list[tuple[str, str]]:
    return [(e.field, e.rule) for e in exc.errors]


@given(starts=st.none() | days, ends=st.none() | days, renews=st.none() | days)
def test_check_agreement_dates(starts: date | None, ends: date | None, renews: date | None) -> None:
    ends_bad = starts is not None and ends is not None and ends < starts
    renews_bad = starts is not None and renews is not None and renews < starts
    if not ends_bad and not renews_bad:
        check_agreement_dates(starts, ends, renews)
        return
    with pytest.raises(InvalidInput) as raised:
        check_agreement_dates(starts, ends, renews)
    # The first broken rule is named, with its field.
    expected = ("ends_on", "after-start") if ends_bad else ("renews_on", "after-start")
    assert _fields(raised.value) == [expected]


def test_same_day_end_and_renewal_are_allowed() -> None:
    d = date(2025, 5, 5)
    check_agreement_dates(d, d, d)


@given(ended=days, starts=st.none() | days, today=days)
def test_check_end_date(ended: date, starts: date | None, today: date) -> None:
    if ended > today:
        with pytest.raises(InvalidInput) as raised:
            check_end_date(ended, starts_on=starts, today=today)
        assert _fields(raised.value) == [("ended_on", "not-future")]
    elif starts is not None and ended < starts:
        with pytest.raises(InvalidInput) as raised:
            check_end_date(ended, starts_on=starts, today=today)
        assert _fields(raised.value) == [("ended_on", "after-start")]
    else:
        assert check_end_date(ended, starts_on=starts, today=today) == ended


def test_an_agreement_may_end_on_its_first_day_and_today() -> None:
    d = date(2025, 5, 5)
    assert check_end_date(d, starts_on=d, today=d) == d
    with pytest.raises(InvalidInput):
        check_end_date(d + timedelta(days=1), starts_on=d, today=d)


@given(starts=st.none() | days, ended=days)
def test_a_relationship_end_never_dates_an_agreement_before_its_start(
    starts: date | None, ended: date
) -> None:
    fate = fate_when_relationship_ends(starts, ended)
    if starts is not None and starts > ended:
        # It never ran: withdrawn, i.e. cancelled, never ended.
        assert fate is AgreementAction.WITHDRAW
        assert apply_agreement_action(AgreementStatus.ACTIVE, fate) is AgreementStatus.CANCELLED
    else:
        # Ended on the relationship's end date, which the end-date rules accept.
        assert fate is AgreementAction.END
        assert check_end_date(ended, starts_on=starts, today=ended) == ended


def test_an_agreement_starting_on_the_end_date_ends_that_day() -> None:
    d = date(2025, 5, 5)
    assert fate_when_relationship_ends(d, d) is AgreementAction.END
    assert fate_when_relationship_ends(d + timedelta(days=1), d) is AgreementAction.WITHDRAW


# --- value ------------------------------------------------------------------------------------


def test_months_per_period_covers_every_period() -> None:
    assert set(MONTHS_PER_PERIOD) == set(BillingPeriod)


@pytest.mark.parametrize(
    ("value", "period", "expected"),
    [
        (12000, BillingPeriod.MONTHLY, 12000),
        (12000, BillingPeriod.QUARTERLY, 4000),
        (12000, BillingPeriod.YEARLY, 1000),
        (12000, BillingPeriod.ONE_OFF, 0),
        (100, BillingPeriod.QUARTERLY, 33),  # rounds down: never more than was agreed
        (11, BillingPeriod.YEARLY, 0),
        (0, BillingPeriod.MONTHLY, 0),
        (None, BillingPeriod.MONTHLY, 0),
        (None, BillingPeriod.ONE_OFF, 0),
    ],
)
def test_monthly_value_examples(value: int | None, period: BillingPeriod, expected: int) -> None:
    assert monthly_value(value, period) == expected


@given(value=st.integers(min_value=0, max_value=10**15), period=st.sampled_from(BillingPeriod))
def test_monthly_value_is_the_floor_of_value_per_month(value: int, period: BillingPeriod) -> None:
    result = monthly_value(value, period)
    assert isinstance(result, int)
    months = MONTHS_PER_PERIOD[period]
    if months is None:
        assert result == 0
    else:
        assert result * months <= value < (result + 1) * months
