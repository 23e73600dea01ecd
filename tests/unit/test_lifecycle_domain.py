"""The lifecycle domain without a database: the move table, evidence, effective dates, and the
tenure arithmetic checked against a brute-force day count.

Tenure convention (what ``Spell.days`` implements): a spell covers the half-open day range
``[started_on, ended_on)``, and an open spell covers ``[started_on, today)``. So the day a
relationship ends is not a client day, the day it starts is, a convert and an end on the same
day count 0 days, and a spell that started today has 0 days so far (tenure counts whole days
elapsed). A reactivation on the day of the previous end makes spells that touch but never
overlap, so no day is ever counted twice.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import product

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tenure.domain.errors import (
    Conflict,
    EvidenceRequired,
    InvalidEffectiveDate,
    InvalidEvidence,
    InvalidTransition,
)
from tenure.domain.lifecycle import (
    MOVES,
    USER_END_REASONS,
    EndReason,
    Evidence,
    EvidenceKind,
    Move,
    Spell,
    Stage,
    Standing,
    TransitionFact,
    apply_move,
    can_become_client,
    can_end,
    can_move,
    check_effective_date,
    check_evidence,
    default_effective_date,
    move_to_client,
    replay,
    spells_of,
    tenure_days,
)

# --- the move table ---------------------------------------------------------------------------

LEGAL = {
    (Stage.CONTACT, Move.CONVERT): Stage.CLIENT,
    (Stage.CLIENT, Move.END): Stage.FORMER_CLIENT,
    (Stage.FORMER_CLIENT, Move.REACTIVATE): Stage.CLIENT,
}


def test_the_table_is_exactly_the_documented_moves() -> None:
    assert MOVES == LEGAL


@pytest.mark.parametrize(("stage", "move"), list(product(Stage, Move)))
def test_every_stage_and_move(stage: Stage, move: Move) -> None:
    if (stage, move) in LEGAL:
        assert can_move(stage, move)
        assert apply_move(stage, move) is LEGAL[(stage, move)]
    else:
        assert not can_move(stage, move)
        with pytest.raises(InvalidTransition) as raised:
            apply_move(stage, move)
        assert raised.value.code == "invalid-transition"
        assert raised.value.details == {"stage": stage.value, "move": move.value}


def test_nothing_leads_back_to_plain_contact() -> None:
    assert Stage.CONTACT not in MOVES.values()


@pytest.mark.parametrize("stage", list(Stage))
def test_helpers_agree_with_the_table(stage: Stage) -> None:
    assert can_end(stage) == ((stage, Move.END) in LEGAL)
    assert can_become_client(stage) == any(
        LEGAL.get((stage, m)) is Stage.CLIENT for m in (Move.CONVERT, Move.REACTIVATE)
    )
    move = move_to_client(stage)
    if can_become_client(stage):
        assert apply_move(stage, move) is Stage.CLIENT
    else:
        with pytest.raises(InvalidTransition):
            apply_move(stage, move)


def test_move_to_client_names_the_move() -> None:
    assert move_to_client(Stage.CONTACT) is Move.CONVERT
    assert move_to_client(Stage.FORMER_CLIENT) is Move.REACTIVATE


def test_user_reasons_exclude_the_ones_tenure_sets() -> None:
    assert EndReason.AGREEMENT_ENDED not in USER_END_REASONS
    assert EndReason.MERGED not in USER_END_REASONS
    assert {
        "completed",
        "price",
        "service_quality",
        "no_longer_needed",
        "competitor",
        "moved",
        "unresponsive",
        "other",
    } == {r.value for r in USER_END_REASONS}


# --- evidence ---------------------------------------------------------------------------------


def _evidence(kind: EvidenceKind, contact_id: int = 1, *, confirmed: bool = True) -> Evidence:
    return Evidence(kind, 7, contact_id, confirmed, date(2025, 1, 1))


def test_no_evidence_is_refused() -> None:
    with pytest.raises(EvidenceRequired) as raised:
        check_evidence(None, contact_id=1)
    assert raised.value.code == "evidence-required"
    assert isinstance(raised.value, Conflict)


@pytest.mark.parametrize("kind", list(EvidenceKind))
def test_another_contacts_evidence_is_refused(kind: EvidenceKind) -> None:
    with pytest.raises(InvalidEvidence) as raised:
        check_evidence(_evidence(kind, contact_id=2), contact_id=1)
    assert raised.value.code == "invalid-evidence"
    assert raised.value.details == {"evidence_kind": kind.value, "evidence_id": 7}
    assert "another contact" in raised.value.message


@pytest.mark.parametrize("kind", list(EvidenceKind))
def test_unconfirmed_evidence_is_refused(kind: EvidenceKind) -> None:
    with pytest.raises(InvalidEvidence) as raised:
        check_evidence(_evidence(kind, confirmed=False), contact_id=1)
    assert raised.value.details == {"evidence_kind": kind.value, "evidence_id": 7}


def test_another_contacts_unconfirmed_evidence_names_the_owner_first() -> None:
    with pytest.raises(InvalidEvidence, match="another contact"):
        check_evidence(_evidence(EvidenceKind.AGREEMENT, 2, confirmed=False), contact_id=1)


@pytest.mark.parametrize("kind", list(EvidenceKind))
def test_confirmed_evidence_of_the_same_contact_passes(kind: EvidenceKind) -> None:
    proof = _evidence(kind)
    assert check_evidence(proof, contact_id=1) is proof


# --- effective dates --------------------------------------------------------------------------

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


@given(effective=days, previous=st.none() | days, today=days)
def test_check_effective_date(effective: date, previous: date | None, today: date) -> None:
    allowed = effective <= today and (previous is None or effective >= previous)
    if allowed:
        assert check_effective_date(effective, previous=previous, today=today) == effective
    else:
        with pytest.raises(InvalidEffectiveDate) as raised:
            check_effective_date(effective, previous=previous, today=today)
        assert raised.value.code == "invalid-effective-date"
        assert raised.value.details == {"field": "effective_on"}


@given(starts=st.none() | days, previous=st.none() | days, today=days)
def test_default_effective_date_is_the_start_pulled_into_the_window(
    starts: date | None, previous: date | None, today: date
) -> None:
    assume(previous is None or previous <= today)
    result = default_effective_date(starts, previous=previous, today=today)
    # Always a date check_effective_date accepts ...
    assert check_effective_date(result, previous=previous, today=today) == result
    # ... and the evidence's own start whenever that is allowed.
    if starts is None or starts > today:
        assert result == today
    elif previous is not None and starts < previous:
        assert result == previous
    else:
        assert result == starts


def test_same_day_is_allowed_both_ways() -> None:
    d = date(2025, 6, 1)
    assert check_effective_date(d, previous=d, today=d) == d
    assert default_effective_date(d, previous=d, today=d) == d


# --- replay and tenure ------------------------------------------------------------------------


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[TransitionFact], date]:
    """A legal history: convert, then end / reactivate alternately, dates never going back
    (gaps of 0 days are frequent: same-day convert+end, same-day end+reactivate); and a
    ``today`` on or after the last transition."""
    start = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)))
    n = draw(st.integers(min_value=0, max_value=12))
    gaps = st.one_of(st.just(0), st.integers(0, 3), st.integers(0, 400))
    facts: list[TransitionFact] = []
    stage = Stage.CONTACT
    on = start
    for _ in range(n):
        on += timedelta(days=draw(gaps))
        move = Move.END if stage is Stage.CLIENT else move_to_client(stage)
        to = apply_move(stage, move)
        facts.append(TransitionFact(stage, to, on))
        stage = to
    today = on + timedelta(days=draw(gaps))
    return facts, today


def brute_force_days(facts: list[TransitionFact], today: date) -> int:
    """Count each calendar day that lies inside some spell [start, end), one by one."""
    counted: set[date] = set()
    start: date | None = None
    for t in facts:
        if t.to_stage is Stage.CLIENT:
            start = t.effective_on
        else:
            assert start is not None
            counted |= _range(start, t.effective_on)
            start = None
    if start is not None:
        counted |= _range(start, today)
    return len(counted)


def _range(start: date, end: date) -> set[date]:
    return {start + timedelta(days=i) for i in range((end - start).days)}


@given(histories())
def test_replay_and_tenure(history: tuple[list[TransitionFact], date]) -> None:
    facts, today = history
    standing = replay(facts)

    expected_stage = facts[-1].to_stage if facts else Stage.CONTACT
    assert standing.stage is expected_stage
    assert standing.spells == spells_of(facts)
    assert len(standing.spells) == sum(t.to_stage is Stage.CLIENT for t in facts)
    # Every spell but possibly the last is closed; the last is open exactly while a client.
    assert all(s.ended_on is not None for s in standing.spells[:-1])
    if standing.spells:
        assert (standing.spells[-1].ended_on is None) == (standing.stage is Stage.CLIENT)

    total = standing.tenure_days(today)
    assert total == brute_force_days(facts, today)

    if standing.stage is Stage.CLIENT:
        assert standing.client_since == standing.spells[-1].started_on
        assert standing.client_since == facts[-1].effective_on
        current = (today - standing.client_since).days
    else:
        assert standing.client_since is None
        current = 0
    assert standing.closed_days + current == total
    # What the contact row keeps (closed days + client_since) gives the same tenure.
    assert tenure_days(standing.closed_days, standing.client_since, today) == total


@given(histories(), st.integers(min_value=0, max_value=1000))
def test_tenure_grows_one_day_per_day_only_while_a_client(
    history: tuple[list[TransitionFact], date], later: int
) -> None:
    facts, today = history
    standing = replay(facts)
    then = today + timedelta(days=later)
    grown = standing.tenure_days(then) - standing.tenure_days(today)
    assert grown == (later if standing.stage is Stage.CLIENT else 0)


def test_same_day_convert_and_end_counts_zero_days() -> None:
    d = date(2025, 3, 1)
    facts = [
        TransitionFact(Stage.CONTACT, Stage.CLIENT, d),
        TransitionFact(Stage.CLIENT, Stage.FORMER_CLIENT, d),
    ]
    standing = replay(facts)
    assert standing == Standing(Stage.FORMER_CLIENT, (Spell(d, d),))
    assert standing.tenure_days(d + timedelta(days=100)) == 0
    assert standing.closed_days == 0


def test_a_worked_example_with_a_reactivation() -> None:
    facts = [
        TransitionFact(Stage.CONTACT, Stage.CLIENT, date(2024, 1, 1)),
        TransitionFact(Stage.CLIENT, Stage.FORMER_CLIENT, date(2024, 1, 11)),  # 10 days
        TransitionFact(Stage.FORMER_CLIENT, Stage.CLIENT, date(2024, 1, 11)),  # same day
        TransitionFact(Stage.CLIENT, Stage.FORMER_CLIENT, date(2024, 3, 1)),  # 50 days (leap)
        TransitionFact(Stage.FORMER_CLIENT, Stage.CLIENT, date(2025, 1, 1)),
    ]
    standing = replay(facts)
    assert standing.stage is Stage.CLIENT
    assert standing.client_since == date(2025, 1, 1)
    assert standing.closed_days == 60
    assert standing.tenure_days(date(2025, 1, 1)) == 60  # the start day is not over yet
    assert standing.tenure_days(date(2025, 1, 2)) == 61
    assert tenure_days(60, date(2025, 1, 1), date(2025, 1, 31)) == 90


def test_an_empty_history_is_a_plain_contact() -> None:
    standing = replay([])
    assert standing == Standing(Stage.CONTACT, ())
    assert standing.client_since is None
    assert standing.tenure_days(date(2025, 1, 1)) == 0
    assert tenure_days(0, None, date(2025, 1, 1)) == 0


def test_denormalized_tenure_never_goes_negative() -> None:
    # A client_since after today (a clock or time-zone skew) counts 0 current days.
    assert tenure_days(5, date(2025, 1, 2), date(2025, 1, 1)) == 5


@given(st.lists(st.tuples(st.sampled_from(Stage), st.sampled_from(Stage)), max_size=8))
def test_replay_refuses_exactly_the_broken_histories(pairs: list[tuple[Stage, Stage]]) -> None:
    """Any chain of (from, to) pairs replays iff it starts at contact, each step starts where
    the previous ended, and each step is a move of the table."""
    facts = [TransitionFact(a, b, date(2025, 1, 1)) for a, b in pairs]
    legal_targets = {(source, target) for (source, _), target in MOVES.items()}
    stage = Stage.CONTACT
    legal = True
    for a, b in pairs:
        if a is not stage or (a, b) not in legal_targets:
            legal = False
            break
        stage = b
    if legal:
        assert replay(facts).stage is stage
    else:
        with pytest.raises(InvalidTransition):
            replay(facts)
