"""Knowledge, commitment, health and settings schemas (the brief is the domain's dataclass)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from tenure.api.schemas.common import Input, Output
from tenure.domain.commitments import CommitmentStatus
from tenure.domain.knowledge import KnowledgeKind


class KnowledgeCreate(Input):
    kind: KnowledgeKind
    text: str = Field(min_length=1, max_length=5000)
    key: str | None = Field(
        default=None,
        max_length=60,
        description="One current value per "
        "key, like preferred_channel: a new entry with it replaces the old.",
    )
    source_interaction_id: int | None = None
    source_person: str = Field(default="", max_length=200)
    pinned: bool = False


class KnowledgeUpdate(Input):
    """Creates a new version; only the fields sent change."""

    kind: KnowledgeKind | None = None
    text: str | None = Field(default=None, min_length=1, max_length=5000)
    key: str | None = Field(default=None, max_length=60)
    source_interaction_id: int | None = None
    source_person: str | None = Field(default=None, max_length=200)
    pinned: bool | None = None


class RetireBody(Input):
    reason: str = Field(default="", max_length=5000)


class KnowledgeRead(Output):
    id: int
    contact_id: int
    root_id: int | None
    supersedes_id: int | None
    kind: KnowledgeKind
    key: str | None
    text: str
    source_interaction_id: int | None
    source_person: str
    pinned: bool
    recorded_by: int | None
    recorded_at: datetime
    last_confirmed_at: datetime
    superseded_at: datetime | None
    retired_at: datetime | None
    stale: bool = False


class KnowledgeList(Output):
    items: list[KnowledgeRead]
    as_of: datetime | None = None


class CommitmentCreate(Input):
    text: str = Field(min_length=1, max_length=5000)
    promised_to: str = Field(default="", max_length=200)
    promised_by: int | None = Field(default=None, description="A member; default you.")
    due_on: date | None = None
    interaction_id: int | None = Field(default=None, description="Where it was promised.")


class CommitmentUpdate(Input):
    text: str | None = Field(default=None, min_length=1, max_length=5000)
    promised_to: str | None = Field(default=None, max_length=200)
    promised_by: int | None = None
    due_on: date | None = None
    interaction_id: int | None = None


class ResolutionBody(Input):
    note: str = Field(default="", max_length=5000)


class CommitmentRead(Output):
    id: int
    contact_id: int
    text: str
    promised_to: str
    promised_by: int | None
    due_on: date | None
    interaction_id: int | None
    status: CommitmentStatus
    overdue: bool = False
    resolved_at: datetime | None
    resolution_note: str
    created_at: datetime
    updated_at: datetime
    version: int


class CommitmentPage(Output):
    items: list[CommitmentRead]
    next_cursor: str | None


class ContributionRead(Output):
    signal: str
    points: int
    reason: str


class SnapshotRead(Output):
    day: date
    score: int


class HealthRead(Output):
    contact_id: int
    score: int | None
    band: str | None
    contributions: list[ContributionRead]
    history: list[SnapshotRead]


class SettingsRead(Output):
    default_cadence_days: int
    cadence_by_tag: dict[str, int]
    stale_knowledge_days: int
    schedule_horizon_days: int
    health_weights: dict[str, int]


class SettingsUpdate(Input):
    default_cadence_days: int | None = Field(default=None, ge=1, le=3660)
    cadence_by_tag: dict[str, int] | None = None
    stale_knowledge_days: int | None = Field(default=None, ge=1, le=3660)
    schedule_horizon_days: int | None = Field(default=None, ge=1, le=3660)
    health_weights: dict[str, int] | None = None
