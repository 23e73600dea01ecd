"""Interaction and timeline schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from tenure.api.schemas.common import AwareDatetime, Input, Output
from tenure.services.interactions import Channel, Direction


class InteractionCreate(Input):
    channel: Channel
    direction: Direction = Direction.OUTBOUND
    occurred_at: AwareDatetime | None = Field(default=None, description="Defaults to now.")
    subject: str = Field(default="", max_length=500)
    body: str = Field(
        default="",
        max_length=1_000_000,
        description="Stored exactly as given; escaped wherever it is shown.",
    )
    participants: list[str] = Field(default_factory=list, max_length=100)


class InteractionRead(Output):
    id: int
    contact_id: int
    channel: Channel
    direction: Direction
    occurred_at: datetime
    subject: str
    body: str
    participants: list[str]
    author_id: int | None
    created_at: datetime


class EventRead(Output):
    id: int
    contact_id: int | None
    type: str
    occurred_at: datetime
    recorded_at: datetime
    actor_id: int | None
    subject_type: str
    subject_id: int | None
    summary: str
    data: dict[str, Any]


class EventPage(Output):
    items: list[EventRead]
    next_cursor: str | None
