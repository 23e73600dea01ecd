"""Pure continuity arithmetic: cadence, health, knowledge, commitments and the brief's Markdown."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.domain.brief import (
    AgreementLine,
    Brief,
    CadenceLine,
    EventLine,
    HealthLine,
    InteractionLine,
    ItemLine,
    KnowledgeLine,
    Relationship,
    SpellLine,
    Who,
    render_markdown,
)
from tenure.domain.cadence import cadence_for, cadence_status, check_cadence, next_touch_due
from tenure.domain.commitments import (
    COMMITMENT_MOVES,
    CommitmentAction,
    CommitmentStatus,
    apply_commitment_action,
    can_commitment,
    is_overdue,
)
from tenure.domain.errors import InvalidInput, InvalidTransition
from tenure.domain.health import (
    BANDS,
    DEFAULT_WEIGHTS,
    OpenCase,
    Signals,
    band_of,
    band_range,
    check_weights,
    score,
)
from tenure.domain.knowledge import MAX_TEXT, check_entry, is_stale, require_valid

TODAY = date(2025, 6, 15)
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)

# --- cadence ---------------------------------------------------------------------------------


def test_cadence_contact_beats_tags_and_default() -> None:
    assert cadence_for(7, ["vip"], {"vip": 14}, 30) == 7


def test_cadence_tightest_tag_wins() -> None:
    assert cadence_for(None, ["retainer", "vip", "other"], {"vip": 14, "retainer": 30}, 60) == 14


def test_cadence_default_without_matching_tag() -> None:
    assert cadence_for(None, ["other"], {"vip": 14}, 30) == 30
    assert cadence_for(None, [], {}, 45) == 45


def test_check_cadence_range() -> None:
    assert check_cadence(None) is None
    assert check_cadence(1) == 1 and check_cadence(3660) == 3660
    for bad in (0, 3661, -5, True):
        with pytest.raises(InvalidInput) as exc:
            check_cadence(bad, "default_cadence_days")  # type: ignore[arg-type]
        assert exc.value.errors[0].field == "default_cadence_days"


def test_next_touch_due_client_touched() -> None:
    due = next_touch_due(
        is_client=True,
        last_touch_on=date(2025, 6, 1),
        client_since=date(2025, 1, 1),
        cadence_days=30,
    )
    assert due == date(2025, 7, 1)


def test_next_touch_due_client_never_touched_counts_from_client_since() -> None:
    due = next_touch_due(
        is_client=True, last_touch_on=None, client_since=date(2025, 6, 1), cadence_days=10
    )
    assert due == date(2025, 6, 11)


def test_next_touch_due_client_since_after_last_touch_anchors() -> None:
    due = next_touch_due(
        is_client=True,
        last_touch_on=date(2025, 1, 1),
        client_since=date(2025, 5, 1),
        cadence_days=10,
    )
    assert due == date(2025, 5, 11)


def test_next_touch_due_none_for_non_clients_and_no_anchor() -> None:
    assert (
        next_touch_due(
            is_client=False, last_touch_on=date(2025, 6, 1), client_since=None, cadence_days=30
        )
        is None
    )
    assert (
        next_touch_due(is_client=True, last_touch_on=None, client_since=None, cadence_days=30)
        is None
    )


def test_cadence_status_overdue_days() -> None:
    s = cadence_status(
        cadence_days=30, last_touch_on=date(2025, 5, 1), next_due=date(2025, 5, 31), today=TODAY
    )
    assert s.overdue_days == 15 and s.is_overdue
    on_time = cadence_status(cadence_days=30, last_touch_on=TODAY, next_due=TODAY, today=TODAY)
    assert on_time.overdue_days == 0 and not on_time.is_overdue
    none = cadence_status(cadence_days=30, last_touch_on=None, next_due=None, today=TODAY)
    assert none.overdue_days == 0


# --- health ----------------------------------------------------------------------------------


def _signals(**kw) -> Signals:  # type: ignore[no-untyped-def]
    base = {
        "today": TODAY,
        "cadence_days": 30,
        "next_touch_due": TODAY + timedelta(days=5),
        "last_touch_on": TODAY - timedelta(days=25),
    }
    return Signals(**(base | kw))


def _points(health, signal: str) -> int | None:  # type: ignore[no-untyped-def]
    return next((c.points for c in health.contributions if c.signal == signal), None)


def test_clean_client_scores_100_without_contributions() -> None:
    h = score(_signals())
    assert h.score == 100 and h.contributions == () and h.band == "healthy"


def test_touch_contribution_scales_with_overdue_and_caps() -> None:
    h = score(
        _signals(
            next_touch_due=TODAY - timedelta(days=18), last_touch_on=TODAY - timedelta(days=48)
        )
    )
    assert _points(h, "touch") == -18  # 30 * 18 / 30
    assert h.contributions[0].reason == "no touch for 48 days, cadence 30"
    assert h.contributions[0].as_dict() == {
        "signal": "touch",
        "points": -18,
        "reason": "no touch for 48 days, cadence 30",
    }
    capped = score(_signals(next_touch_due=TODAY - timedelta(days=300), last_touch_on=None))
    assert _points(capped, "touch") == -DEFAULT_WEIGHTS["touch"]
    assert capped.contributions[0].reason == "never touched, cadence 30"
    on_due_day = score(_signals(next_touch_due=TODAY))
    assert _points(on_due_day, "touch") is None


def test_commitments_half_weight_each_capped() -> None:
    assert _points(score(_signals(overdue_commitments=1)), "commitments") == -10
    assert _points(score(_signals(overdue_commitments=5)), "commitments") == -20
    h = score(_signals(overdue_commitments=2))
    assert h.contributions[0].reason == "2 overdue commitment(s)"


def test_tasks_quarter_weight_each_capped() -> None:
    assert _points(score(_signals(overdue_tasks=1)), "tasks") == -2  # round(2.5) -> 2
    assert _points(score(_signals(overdue_tasks=2)), "tasks") == -5
    assert _points(score(_signals(overdue_tasks=9)), "tasks") == -10
    assert score(_signals(overdue_tasks=3)).contributions[0].reason == "3 overdue task(s)"


def test_cases_by_priority_and_age() -> None:
    one = lambda p, age=1: score(_signals(open_cases=[OpenCase(p, age)]))  # noqa: E731
    assert _points(one("urgent"), "cases") == -20
    assert _points(one("high"), "cases") == -12
    assert _points(one("normal"), "cases") == -6
    assert _points(one("low"), "cases") == -2
    assert _points(one("unknown"), "cases") == -6  # an unknown priority counts as normal
    aged = one("normal", 20)
    assert _points(aged, "cases") == -9
    assert aged.contributions[0].reason == "1 open case(s), 1 older than 14 days"
    assert one("low").contributions[0].reason == "1 open case(s)"
    many = score(_signals(open_cases=[OpenCase("urgent", 30)] * 3))
    assert _points(many, "cases") == -20


def test_service_share_missing() -> None:
    h = score(_signals(planned_deliveries_90d=4, delivered_90d=1))
    assert _points(h, "service") == -11  # round(15 * 3 / 4) = 11
    assert h.contributions[0].reason == "1 of 4 planned services delivered in 90 days"
    assert _points(score(_signals(planned_deliveries_90d=4, delivered_90d=4)), "service") is None
    assert _points(score(_signals(planned_deliveries_90d=2, delivered_90d=5)), "service") is None
    assert _points(score(_signals(planned_deliveries_90d=0)), "service") is None


def test_renewal_without_recent_touch() -> None:
    renews = TODAY + timedelta(days=20)
    h = score(
        _signals(
            renews_on=renews,
            last_touch_on=TODAY - timedelta(days=31),
            next_touch_due=TODAY + timedelta(days=1),
        )
    )
    assert _points(h, "renewal") == -10
    assert h.contributions[0].reason == f"renews on {renews} with no touch in the last 30 days"
    recent = score(_signals(renews_on=renews, last_touch_on=TODAY - timedelta(days=30)))
    assert _points(recent, "renewal") is None
    far = score(_signals(renews_on=TODAY + timedelta(days=31), last_touch_on=None))
    assert _points(far, "renewal") is None
    past = score(_signals(renews_on=TODAY - timedelta(days=1), last_touch_on=None))
    assert _points(past, "renewal") is None
    today = score(_signals(renews_on=TODAY, last_touch_on=None))
    assert _points(today, "renewal") == -10


def test_outcomes_third_weight_each_capped() -> None:
    h = score(_signals(no_shows_90d=1, cancellations_90d=1))
    assert _points(h, "outcomes") == -7  # round(20/3)
    assert h.contributions[0].reason == "1 no-show(s) and 1 cancellation(s) in 90 days"
    assert _points(score(_signals(no_shows_90d=10)), "outcomes") == -10


def test_weights_scale_and_zero_weight_silences() -> None:
    s = _signals(overdue_commitments=1, overdue_tasks=4)
    h = score(s, {"commitments": 40, "tasks": 0})
    assert _points(h, "commitments") == -20
    assert _points(h, "tasks") is None
    assert h.score == 80


def test_everything_bad_floors_at_zero() -> None:
    h = score(
        _signals(
            next_touch_due=TODAY - timedelta(days=400),
            last_touch_on=None,
            overdue_commitments=10,
            overdue_tasks=10,
            open_cases=[OpenCase("urgent", 100)],
            planned_deliveries_90d=10,
            delivered_90d=0,
            renews_on=TODAY,
            no_shows_90d=10,
            cancellations_90d=10,
        ),
        dict.fromkeys(DEFAULT_WEIGHTS, 100),
    )
    assert h.score == 0 and h.band == "at_risk"
    assert len(h.contributions) == len(DEFAULT_WEIGHTS)
    assert all(-100 <= c.points < 0 for c in h.contributions)


_days = st.integers(min_value=-400, max_value=400)


@st.composite
def signals(draw: st.DrawFn) -> Signals:
    def maybe_day() -> date | None:
        return draw(st.none() | _days.map(lambda d: TODAY + timedelta(days=d)))

    planned = draw(st.integers(0, 50))
    return Signals(
        today=TODAY,
        cadence_days=draw(st.integers(1, 3660)),
        next_touch_due=maybe_day(),
        last_touch_on=draw(
            st.none() | st.integers(0, 400).map(lambda d: TODAY - timedelta(days=d))
        ),
        overdue_commitments=draw(st.integers(0, 50)),
        overdue_tasks=draw(st.integers(0, 50)),
        open_cases=draw(
            st.lists(
                st.builds(
                    OpenCase,
                    st.sampled_from(["urgent", "high", "normal", "low", "x"]),
                    st.integers(0, 400),
                ),
                max_size=6,
            )
        ),
        planned_deliveries_90d=planned,
        delivered_90d=draw(st.integers(0, 60)),
        renews_on=maybe_day(),
        no_shows_90d=draw(st.integers(0, 20)),
        cancellations_90d=draw(st.integers(0, 20)),
    )


@given(signals(), st.dictionaries(st.sampled_from(sorted(DEFAULT_WEIGHTS)), st.integers(0, 100)))
def test_score_bounded_and_explained(s: Signals, weights: dict[str, int]) -> None:
    h = score(s, weights)
    w = {**DEFAULT_WEIGHTS, **weights}
    assert 0 <= h.score <= 100
    assert h.score == max(0, 100 + sum(c.points for c in h.contributions))
    seen = [c.signal for c in h.contributions]
    assert len(seen) == len(set(seen))
    for c in h.contributions:
        assert -w[c.signal] <= c.points < 0
        assert c.reason
    assert h.band == band_of(h.score)


def test_bands() -> None:
    assert band_of(0) == "at_risk" and band_of(49) == "at_risk"
    assert band_of(50) == "watch" and band_of(74) == "watch"
    assert band_of(75) == "healthy" and band_of(100) == "healthy"
    for name, low, high in BANDS:
        assert band_range(name) == (low, high)
    with pytest.raises(InvalidInput) as exc:
        band_range("great")
    assert exc.value.errors[0].field == "health_band"
    covered = sorted(n for _, lo, hi in BANDS for n in range(lo, hi + 1))
    assert covered == list(range(101))


def test_check_weights() -> None:
    assert check_weights({"touch": 50}) == {**DEFAULT_WEIGHTS, "touch": 50}
    with pytest.raises(InvalidInput) as exc:
        check_weights({"nope": 5, "touch": 101, "cases": True, "tasks": "3"})
    fields = {e.field: e.rule for e in exc.value.errors}
    assert fields == {
        "health_weights.nope": "choice",
        "health_weights.touch": "range",
        "health_weights.cases": "range",
        "health_weights.tasks": "range",
    }


# --- knowledge -------------------------------------------------------------------------------


def test_check_entry() -> None:
    assert check_entry("prefers mornings", "preferred_time") == []
    assert check_entry("ok", None) == []
    assert [(e.field, e.rule) for e in check_entry("   ", None)] == [("text", "required")]
    assert [(e.field, e.rule) for e in check_entry("x" * (MAX_TEXT + 1), None)] == [
        ("text", "max-length")
    ]
    assert check_entry("x" * MAX_TEXT, None) == []
    for bad in ("Preferred", "1abc", "with-dash", "a" * 61, "", "has space"):
        assert [(e.field, e.rule) for e in check_entry("t", bad)] == [("key", "key")], bad
    assert check_entry("t", "a" * 60) == []
    with pytest.raises(InvalidInput):
        require_valid("", "Bad")
    require_valid("fine", None)


def test_is_stale() -> None:
    confirmed = NOW - timedelta(days=180)
    assert not is_stale(confirmed, NOW, 180)
    assert is_stale(confirmed - timedelta(seconds=1), NOW, 180)
    assert not is_stale(NOW, NOW, 1)


# --- commitments -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(CommitmentStatus))
@pytest.mark.parametrize("action", list(CommitmentAction))
def test_commitment_moves_exhaustive(status: CommitmentStatus, action: CommitmentAction) -> None:
    expected = {
        CommitmentAction.KEEP: CommitmentStatus.KEPT,
        CommitmentAction.BREAK: CommitmentStatus.BROKEN,
        CommitmentAction.CANCEL: CommitmentStatus.CANCELLED,
    }
    if status is CommitmentStatus.OPEN:
        assert can_commitment(status, action)
        assert apply_commitment_action(status, action) is expected[action]
    else:
        assert not can_commitment(status, action)
        with pytest.raises(InvalidTransition):
            apply_commitment_action(status, action)


def test_commitment_table_has_only_open_moves() -> None:
    assert len(COMMITMENT_MOVES) == 3
    assert {s for s, _ in COMMITMENT_MOVES} == {CommitmentStatus.OPEN}


def test_commitment_overdue() -> None:
    assert is_overdue(CommitmentStatus.OPEN, TODAY - timedelta(days=1), TODAY)
    assert not is_overdue(CommitmentStatus.OPEN, TODAY, TODAY)
    assert not is_overdue(CommitmentStatus.OPEN, None, TODAY)
    for status in (CommitmentStatus.KEPT, CommitmentStatus.BROKEN, CommitmentStatus.CANCELLED):
        assert not is_overdue(status, TODAY - timedelta(days=10), TODAY)


# --- the brief's Markdown --------------------------------------------------------------------

NASTY = "*bold* _it_ `code` [link](x) <b>#tag</b> | pipe \\ back"


def _brief(text: str = "plain") -> Brief:
    return Brief(
        contact_id=1,
        generated_at=NOW,
        who=Who(
            name=f"Ada {text}",
            kind="person",
            organizations=(f"Org {text}",),
            owner=f"Owner {text}",
            timezone="Europe/London",
            local_time=NOW,
            preferred_channel=f"Chan {text}",
            emails=("ada@example.com",),
            phones=("+44 1",),
        ),
        relationship=Relationship(
            stage="client",
            client_since=date(2024, 1, 1),
            tenure_days=531,
            spells=(
                SpellLine(date(2022, 1, 1), date(2023, 1, 1), "price"),
                SpellLine(date(2024, 1, 1), None, None),
            ),
            active_agreements=(
                AgreementLine(
                    1,
                    f"Deal {text}",
                    "subscription",
                    date(2025, 7, 1),
                    None,
                    30000,
                    "GBP",
                    "monthly",
                ),
            ),
        ),
        knowledge=(KnowledgeLine(1, "do_not", None, f"Know {text}", True, True, NOW),),
        since_last_time=(EventLine("case.opened", NOW, f"Event {text}"),),
        since=NOW - timedelta(days=3),
        recent_interactions=(
            InteractionLine(1, "call", "outbound", NOW, f"Author {text}", f"Subj {text}"),
        ),
        open_items=(ItemLine("commitment", 1, f"Item {text}", TODAY, True, f"to {text}"),),
        health=HealthLine(62, "watch", (f"-10: reason {text}",)),
        cadence=CadenceLine(30, NOW - timedelta(days=40), TODAY - timedelta(days=10), 10),
    )


def test_markdown_has_every_section() -> None:
    md = render_markdown(_brief())
    for heading in (
        "# Ada plain",
        "## Who",
        "## Relationship",
        "## What we know",
        "## Since last time (2025-06-12)",
        "## Recent interactions",
        "## Open",
        "## Health",
        "## Cadence",
    ):
        assert heading in md, heading
    assert "**client** · client since 2024-01-01 · tenure 531 days · health 62 (watch)" in md
    assert "- Works at: Org plain" in md
    assert "- Owner: Owner plain" in md
    assert "- Prefers: Chan plain" in md
    assert "- Email: ada@example.com" in md and "- Phone: +44 1" in md
    assert "- Client 2022-01-01 → 2023-01-01 (price)" in md
    assert "- Client 2024-01-01 → now" in md
    assert "- Agreement: Deal plain (subscription, 300.00 GBP/monthly, renews 2025-07-01)" in md
    assert "- (pinned) **do not**: Know plain _(not confirmed lately: check it)_" in md
    assert "- 2025-06-15: Event plain" in md
    assert "- 2025-06-15 call (outbound) by Author plain: Subj plain" in md
    assert "- commitment: Item plain — 2025-06-15 **overdue** (to plain)" in md
    assert "- -10: reason plain" in md
    assert "- Every 30 days; last touch 2025-05-06; next due 2025-06-05 (overdue by 10 days)" in md
    assert md.endswith("\n")


def test_markdown_escapes_user_text() -> None:
    md = render_markdown(_brief(NASTY))
    escaped = (
        "\\*bold\\* \\_it\\_ \\`code\\` \\[link\\](x) \\<b\\>\\#tag\\</b\\> \\| pipe \\\\ back"
    )
    for label in (
        "# Ada ",
        "Works at: Org ",
        "Owner: Owner ",
        "Prefers: Chan ",
        "Agreement: Deal ",
        "Know ",
        "Event ",
        "by Author ",
        "Subj ",
        "Item ",
        "reason ",
    ):
        assert label + escaped in md, label
    assert NASTY not in md


def test_markdown_escape_collapses_newlines() -> None:
    md = render_markdown(_brief("line one\n# injected heading"))
    assert "\n# injected" not in md
    assert "line one \\# injected heading" in md


def test_markdown_minimal_brief_skips_empty_sections() -> None:
    b = Brief(
        contact_id=2,
        generated_at=NOW,
        who=Who("Bob", "person", (), None, "UTC", NOW, None, (), ()),
        relationship=Relationship("lead", None, 0, (), ()),
        knowledge=(),
        since_last_time=(),
        since=None,
        recent_interactions=(),
    )
    md = render_markdown(b)
    assert "## Since last time\n- Nothing new." in md
    assert "- Owner: nobody" in md
    for absent in (
        "## Relationship",
        "## What we know",
        "## Recent interactions",
        "## Open",
        "## Health",
        "## Cadence",
        "health ",
    ):
        assert absent not in md
