"""Logging interactions against the real database: last_interaction_at, the future, the body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tenure.db.models import Contact, Interaction, TimelineEvent
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import InvalidInput
from tenure.services import contacts, interactions
from tenure.services.interactions import CLOCK_SKEW, Channel, Direction

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def _contact(tenant, name: str = "Grace Hopper") -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        ctx.now = NOW
        return contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name=name).contact.id


def _log(tenant, contact_id: int, *, now: datetime = NOW, **kwargs):  # type: ignore[no-untyped-def]
    """Log one interaction in its own transaction, as an edge would (commit or roll back)."""
    kwargs.setdefault("channel", Channel.CALL)
    kwargs.setdefault("direction", Direction.OUTBOUND)
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        ctx.now = now
        return interactions.log_interaction(ctx, contact_id, **kwargs).id


def _last(tenant, contact_id: int) -> datetime | None:  # type: ignore[no-untyped-def]
    with tenant.db.session() as session:
        return session.get_one(Contact, contact_id).last_interaction_at


def _counts(tenant) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with tenant.db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Interaction)) or 0,
            session.scalar(select(func.count()).select_from(TimelineEvent)) or 0,
        )


def test_last_interaction_is_the_latest_not_the_last_logged(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = _contact(tenant)
    assert _last(tenant, cid) is None

    _log(tenant, cid)  # occurred_at defaults to now
    assert _last(tenant, cid) == NOW

    _log(tenant, cid, occurred_at=NOW - timedelta(days=30))  # back-dated: does not move back
    assert _last(tenant, cid) == NOW

    later = NOW + timedelta(hours=2)
    _log(tenant, cid, occurred_at=later - timedelta(minutes=1), now=later)
    assert _last(tenant, cid) == later - timedelta(minutes=1)


def test_an_offset_time_compares_as_the_instant_it_is(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = _contact(tenant)
    _log(tenant, cid, occurred_at=NOW - timedelta(hours=1))
    # 13:30 at +05:00 is 08:30 UTC: earlier than 11:00 UTC, although 13:30 > 11:00 on the face.
    plus5 = timezone(timedelta(hours=5))
    _log(tenant, cid, occurred_at=datetime(2025, 6, 15, 13, 30, tzinfo=plus5))
    assert _last(tenant, cid) == NOW - timedelta(hours=1)
    # 16:30 at +05:00 is 11:30 UTC: later.
    _log(tenant, cid, occurred_at=datetime(2025, 6, 15, 16, 30, tzinfo=plus5))
    last = _last(tenant, cid)
    assert last == datetime(2025, 6, 15, 11, 30, tzinfo=UTC)
    assert last is not None and last.utcoffset() == timedelta(0)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(offsets=st.lists(st.integers(min_value=-90 * 24 * 60, max_value=0), min_size=1, max_size=6))
def test_last_interaction_at_is_the_max_of_occurred_at(tenant, offsets: list[int]) -> None:  # type: ignore[no-untyped-def]
    cid = _contact(tenant, f"Client {len(offsets)}")
    for minutes in offsets:
        _log(tenant, cid, occurred_at=NOW + timedelta(minutes=minutes))
        with tenant.db.session() as session:
            latest = session.scalar(
                select(func.max(Interaction.occurred_at)).where(Interaction.contact_id == cid)
            )
            # On SQLite a bare aggregate bypasses the column type: compare as UTC instants.
            if latest is not None and latest.tzinfo is None:
                latest = latest.replace(tzinfo=UTC)
            assert session.get_one(Contact, cid).last_interaction_at == latest


@pytest.mark.parametrize(
    "ahead", [CLOCK_SKEW + timedelta(seconds=1), timedelta(hours=1), timedelta(days=400)]
)
def test_a_future_interaction_is_refused_and_changes_nothing(tenant, ahead: timedelta) -> None:  # type: ignore[no-untyped-def]
    cid = _contact(tenant)
    _log(tenant, cid, occurred_at=NOW - timedelta(days=1))
    before = _counts(tenant), _last(tenant, cid)
    with pytest.raises(InvalidInput) as raised:
        _log(tenant, cid, occurred_at=NOW + ahead)
    assert [(e.field, e.rule) for e in raised.value.errors] == [("occurred_at", "not-future")]
    assert (_counts(tenant), _last(tenant, cid)) == before


def test_within_clock_skew_is_still_now(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = _contact(tenant)
    _log(tenant, cid, occurred_at=NOW + CLOCK_SKEW)
    assert _last(tenant, cid) == NOW + CLOCK_SKEW


def test_a_naive_time_is_refused(tenant) -> None:  # type: ignore[no-untyped-def]
    cid = _contact(tenant)
    before = _counts(tenant)
    with pytest.raises(InvalidInput) as raised:
        _log(tenant, cid, occurred_at=datetime(2025, 6, 1, 9, 0))
    assert [(e.field, e.rule) for e in raised.value.errors] == [("occurred_at", "timezone")]
    assert _counts(tenant) == before


BODIES = [
    "",
    "  leading and trailing spaces, kept  ",
    "<script>alert('x')</script> & <b>bold</b> \"quoted\"",
    "line one\r\nline two\n\n\ttabbed\r",
    "emoji 🧾✅, accents éàü, CJK 客户, RTL עברית, zero-width \u200b joiner",
    "x" * 20_000,
]


@pytest.mark.parametrize("body", BODIES)
def test_body_is_stored_exactly_as_given(tenant, body: str) -> None:  # type: ignore[no-untyped-def]
    cid = _contact(tenant)
    iid = _log(tenant, cid, body=body, subject="  Kick-off  ")
    with tenant.db.session() as session:
        row = session.get_one(Interaction, iid)
        assert row.body == body
        assert row.subject == "Kick-off"  # the subject is a title: trimmed
        event = session.scalars(
            select(TimelineEvent).where(
                TimelineEvent.subject_type == "interaction", TimelineEvent.subject_id == iid
            )
        ).one()
        assert event.type == "interaction.logged"
        assert event.contact_id == cid


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("body", {"body": "before\x00after"}),
        ("subject", {"subject": "a\x00b"}),
        ("participants[1]", {"participants": ["ok@example.com", "\x00"]}),
    ],
)
def test_nul_is_refused_the_same_on_both_backends(tenant, field: str, values: dict) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL text cannot hold NUL (the driver raises, an API would answer 500) while SQLite
    stores it: the service refuses it everywhere, naming the field."""
    cid = _contact(tenant)
    before = _counts(tenant), _last(tenant, cid)
    with pytest.raises(InvalidInput) as raised:
        _log(tenant, cid, **values)
    assert [(e.field, e.rule) for e in raised.value.errors] == [(field, "no-nul")]
    assert (_counts(tenant), _last(tenant, cid)) == before


# Every other character a JSON body can carry (lone surrogates cannot be) is stored as given.
body_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=300)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=body_text)
def test_any_body_round_trips(tenant, body: str) -> None:  # type: ignore[no-untyped-def]
    cid = _contact(tenant, "Round Trip")
    iid = _log(tenant, cid, body=body)
    with tenant.db.session() as session:
        assert session.get_one(Interaction, iid).body == body
