"""Random client histories for the retention tests (unit and integration share them).

A scenario is a period, a "today", the number of cohort months, and a few contacts. Each
contact has a legal sequence of transitions (convert, end, reactivate, end, …) whose dates never
go backwards: same-day moves are frequent, and dates are drawn often *on* the edges that the
definitions care about (the period's first day, its end, month boundaries inside it, the day
before each), because that is where an off-by-one hides. Agreements mostly follow the
contact's spells (as real ones do), and some are drawn independently (every status, open or
dated ends, one-off and recurring values in two currencies), because the analytics must follow
the definitions whatever the data says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import strategies as st

from tenure.domain.retention import (
    Month,
    Period,
)
from tenure.domain.retention.reference import (
    AgreementRecord,
    History,
    TransitionRecord,
)

FIRST_DAY = date(2024, 1, 1)
LAST_DAY = date(2025, 12, 31)
REASONS = ["price", "moved", "competitor", "agreement_ended", None]
CURRENCIES = ["EUR", "GBP"]

#: 0: the same day.
gaps = st.one_of(st.just(0), st.integers(0, 3), st.integers(0, 45), st.integers(25, 400))


def _near(anchors: tuple[date, ...]) -> st.SearchStrategy[date]:
    return st.builds(
        lambda d, k: d + timedelta(days=k), st.sampled_from(anchors), st.sampled_from([-1, 0, 1])
    )


def days(anchors: tuple[date, ...]) -> st.SearchStrategy[date]:
    """Any day, often on or next to an anchor or a month's first day."""
    month_edges = st.builds(
        lambda d, k: Month.of(d).first + timedelta(days=k),
        st.dates(FIRST_DAY, LAST_DAY),
        st.sampled_from([-1, 0, 1]),
    )
    return st.one_of(st.dates(FIRST_DAY, LAST_DAY), month_edges, _near(anchors))


@st.composite
def transition_sequences(
    draw: st.DrawFn, anchors: tuple[date, ...]
) -> tuple[TransitionRecord, ...]:
    count = draw(st.integers(0, 7)) if draw(st.integers(0, 9)) == 0 else draw(st.integers(1, 7))
    day = draw(days(anchors))
    stage = "contact"
    out: list[TransitionRecord] = []
    for i in range(count):
        if i:
            later = [a for a in anchors if a > day]
            if later and draw(st.integers(0, 2)) == 0:
                day = draw(st.sampled_from(later))  # jump onto an edge
            else:
                day += timedelta(days=draw(gaps))
        if day > LAST_DAY + timedelta(days=200):
            break
        if stage == "client":
            reason = draw(st.sampled_from(REASONS))
            out.append(TransitionRecord("client", "former_client", day, reason))
            stage = "former_client"
        else:
            out.append(TransitionRecord(stage, "client", day))
            stage = "client"
    return tuple(out)


@st.composite
def agreements(draw: st.DrawFn, anchors: tuple[date, ...]) -> AgreementRecord:
    """Any agreement, often starting or ending on or near an anchor."""
    status = draw(st.sampled_from(["draft", "active", "active", "ended", "ended", "cancelled"]))
    day = days(anchors)
    starts_on = draw(st.one_of(st.none(), day)) if status == "draft" else draw(day)
    if status == "active" and draw(st.integers(0, 9)) == 0:
        starts_on = None
    ends_on = None
    ended_on = None
    if starts_on is not None and draw(st.booleans()):
        ends_on = max(starts_on, draw(st.one_of(day, st.just(starts_on))))
    if status == "ended":
        assert starts_on is not None
        ended_on = max(starts_on, draw(day))
    value = None if draw(st.integers(0, 9)) == 0 else draw(st.integers(0, 1_000_000))
    period = draw(st.sampled_from(["one_off", "monthly", "monthly", "quarterly", "yearly"]))
    currency = draw(st.sampled_from(CURRENCIES)) if value is not None else None
    return AgreementRecord(status, starts_on, ends_on, ended_on, value, period, currency)


@st.composite
def spell_agreement(draw: st.DrawFn, started_on: date, ended_on: date | None) -> AgreementRecord:
    """An agreement that lives (about) as long as one spell, as in real data."""
    shift = st.sampled_from([0, 0, 0, 1, 12, 40])
    starts_on = started_on + timedelta(days=draw(shift))
    if ended_on is not None:
        ended_on = max(starts_on, ended_on - timedelta(days=draw(shift)))
    return AgreementRecord(
        "active" if ended_on is None else "ended",
        starts_on,
        None,
        ended_on,
        draw(st.integers(1, 100_000)),
        draw(st.sampled_from(["monthly", "quarterly", "yearly"])),
        draw(st.sampled_from(CURRENCIES)),
    )


@st.composite
def histories(draw: st.DrawFn, anchors: tuple[date, ...]) -> History:
    transitions = draw(transition_sequences(anchors))
    found: list[AgreementRecord] = []
    for i, t in enumerate(transitions):
        if t.to_stage == "client":
            ended = transitions[i + 1].effective_on if i + 1 < len(transitions) else None
            for _ in range(draw(st.integers(0, 2))):
                found.append(draw(spell_agreement(t.effective_on, ended)))
    near = anchors + tuple(t.effective_on for t in transitions)
    found.extend(draw(st.lists(agreements(near), max_size=2)))
    return History(transitions, tuple(found))


@st.composite
def periods(draw: st.DrawFn) -> Period:
    start = Month.of(draw(st.dates(date(2023, 12, 1), date(2025, 12, 31))))
    return Period(start, start.plus(draw(st.integers(0, 23))))


@dataclass(frozen=True)
class Scenario:
    histories: list[History]
    period: Period
    today: date
    cohort_months: int


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    period = draw(periods())
    months = period.months
    anchors = (period.lo, period.hi, *(m.first for m in months[1 : 1 + draw(st.integers(0, 3))]))
    found = draw(st.lists(histories(anchors), min_size=1, max_size=8))
    latest = max((t.effective_on for h in found for t in h.transitions), default=FIRST_DAY)
    cohort_months = draw(st.integers(1, 8))
    # Transitions are never in the future. Today is often on an edge: the period's end, or the
    # day the last cohort's last month becomes observable.
    edges = (period.hi - timedelta(days=1), period.lo, period.end.plus(cohort_months).last)
    today = max(
        latest,
        draw(
            st.one_of(st.just(latest), st.dates(latest, latest + timedelta(days=500)), _near(edges))
        ),
    )
    return Scenario(found, period, today, cohort_months)
