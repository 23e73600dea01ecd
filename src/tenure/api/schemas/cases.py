"""Case and calendar-feed schemas."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from tenure.api.schemas.common import Input, Output
from tenure.domain.cases import CasePriority, CaseStatus
from tenure.services.calendar import FeedScope
from tenure.services.interactions import Channel


class CaseCreate(Input):
    contact_id: int
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=100_000)
    priority: CasePriority = CasePriority.NORMAL
    assignee_id: int | None = None


class CaseUpdate(Input):
    subject: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=100_000)
    priority: CasePriority | None = None
    assignee_id: int | None = None


class CaseNote(Input):
    note: str = Field(default="", max_length=100_000)


class CaseRespond(Input):
    body: str = Field(min_length=1, max_length=1_000_000)
    channel: Channel = Channel.EMAIL
    subject: str | None = Field(default=None, max_length=500)


class CaseRead(Output):
    id: int
    contact_id: int
    subject: str
    description: str
    priority: CasePriority
    assignee_id: int | None
    status: CaseStatus
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str
    created_at: datetime
    updated_at: datetime
    version: int


class CasePage(Output):
    items: list[CaseRead]
    next_cursor: str | None


class FeedCreate(Input):
    scope: FeedScope
    user_id: int | None = Field(default=None, description="Member feeds: whose (default you).")
    contact_id: int | None = Field(default=None, description="Contact feeds: which contact.")
    name: str = Field(default="", max_length=200)


class FeedRead(Output):
    id: int
    scope: FeedScope
    user_id: int | None
    contact_id: int | None
    name: str
    created_at: datetime
    revoked_at: datetime | None


class FeedCreated(FeedRead):
    url: str = Field(description="The secret subscription URL: shown once.")


class FeedList(Output):
    items: list[FeedRead]
