"""Logging interactions: the communications that make up a relationship."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from tenure.db.models import Interaction
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.timeline import InteractionRepository
from tenure.domain.access import Permission
from tenure.domain.errors import FieldError, InvalidInput
from tenure.domain.events import EventType
from tenure.services import cadence, health, search, timeline
from tenure.services.context import Ctx

#: Clocks disagree a little; an interaction "a minute from now" is still now.
CLOCK_SKEW = timedelta(minutes=5)


class Channel(StrEnum):
    EMAIL = "email"
    CALL = "call"
    MEETING = "meeting"
    MESSAGE = "message"
    VISIT = "visit"
    NOTE = "note"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


def log_interaction(
    ctx: Ctx,
    contact_id: int,
    *,
    channel: Channel,
    direction: Direction,
    occurred_at: datetime | None = None,
    subject: str = "",
    body: str = "",
    participants: Sequence[str] = (),
) -> Interaction:
    ctx.require(Permission.WRITE)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get_writable(
        contact_id, for_update=True
    )
    when = occurred_at or ctx.now
    errors: list[FieldError] = []
    if when.tzinfo is None:
        errors.append(FieldError("occurred_at", "timezone", "give a time zone offset"))
    elif when > ctx.now + CLOCK_SKEW:
        errors.append(
            FieldError("occurred_at", "not-future", "an interaction cannot be in the future")
        )
    if len(subject) > 500:
        errors.append(FieldError("subject", "max-length", "at most 500 characters"))
    # PostgreSQL text cannot hold NUL (SQLite can): refuse it on both, instead of a driver error.
    texts = [("subject", subject), ("body", body)]
    texts += [(f"participants[{i}]", p) for i, p in enumerate(participants)]
    errors += [FieldError(name, "no-nul", "must not contain NUL") for name, v in texts if "\0" in v]
    if errors:
        raise InvalidInput(errors)
    when = when.astimezone(UTC)  # answer in UTC now, as every later read will
    interaction = Interaction(
        contact_id=contact.id,
        channel=channel.value,
        direction=direction.value,
        occurred_at=when,
        subject=subject.strip(),
        body=body,
        participants=[p.strip() for p in participants if p.strip()],
        author_id=ctx.user_id,
        created_at=ctx.now,
    )
    InteractionRepository(ctx.session, ctx.workspace_id).add(interaction)
    ctx.session.flush()
    search.index_interaction(ctx, interaction)
    # The contact's derived fields (last interaction, cadence, health) are set together and
    # written in one UPDATE (one version step): no flush in between. The reads on the way (the
    # settings, the health facts) see no row this request changed but the contact, whose new
    # values they take from the object.
    with ctx.session.no_autoflush:
        if contact.last_interaction_at is None or when > contact.last_interaction_at:
            contact.last_interaction_at = when
        if direction is not Direction.INTERNAL:  # an internal note does not touch the client
            cadence.touch(ctx, contact, when)
        health.recompute(ctx, contact)
    timeline.record(
        ctx,
        contact_id=contact.id,
        type=EventType.INTERACTION_LOGGED,
        subject_type="interaction",
        subject_id=interaction.id,
        occurred_at=when,
        summary=_summary(interaction),
        data={
            "channel": channel.value,
            "direction": direction.value,
            "subject": interaction.subject,
        },
    )
    return interaction


def _summary(interaction: Interaction) -> str:
    what = {
        "email": "Email",
        "call": "Call",
        "meeting": "Meeting",
        "message": "Message",
        "visit": "Visit",
        "note": "Note",
    }[interaction.channel]
    direction = "" if interaction.direction == "internal" else f" ({interaction.direction})"
    subject = f": {interaction.subject}" if interaction.subject else ""
    return f"{what}{direction}{subject}"


def get_interaction(ctx: Ctx, interaction_id: int) -> Interaction:
    ctx.require(Permission.READ)
    return InteractionRepository(ctx.session, ctx.workspace_id).get(interaction_id)
