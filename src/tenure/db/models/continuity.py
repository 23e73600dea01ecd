"""Knowledge (versioned), commitments and daily health snapshots."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, Timestamps, WorkspaceScoped, ref, user_ref
from tenure.db.types import JSONType


class KnowledgeEntry(WorkspaceScoped, Base):
    """One version of something known about a contact. Append-only: an edit adds a version
    that ``supersedes`` this one and stamps ``superseded_at`` here; nothing is overwritten.
    ``root_id`` groups the versions of one entry (the first version's id)."""

    __tablename__ = "knowledge_entries"
    __table_args__ = (
        Index("ix_knowledge_contact_current", "contact_id", "superseded_at", "retired_at"),
        Index("ix_knowledge_root", "root_id", "id"),
    )

    contact_id: Mapped[int] = ref("contacts")
    root_id: Mapped[int | None] = ref("knowledge_entries", ondelete="SET NULL")
    supersedes_id: Mapped[int | None] = ref("knowledge_entries", ondelete="SET NULL")
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str | None] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text)
    source_interaction_id: Mapped[int | None] = ref("interactions", ondelete="SET NULL")
    source_person: Mapped[str] = mapped_column(String(200), default="")
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[int | None] = user_ref()
    recorded_at: Mapped[datetime]
    last_confirmed_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]
    #: Set when the entry stops being true (removed), not replaced.
    retired_at: Mapped[datetime | None]
    retire_reason: Mapped[str] = mapped_column(Text, default="")


class Commitment(WorkspaceScoped, Timestamps, Base):
    """A promise made to a client: what, to whom, by whom, by when, and whether it was kept."""

    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_contact_status_due", "contact_id", "status", "due_on"),
        Index("ix_commitments_ws_status_due", "workspace_id", "status", "due_on"),
    )

    contact_id: Mapped[int] = ref("contacts")
    text: Mapped[str] = mapped_column(Text)
    promised_to: Mapped[str] = mapped_column(String(200), default="")
    promised_by: Mapped[int | None] = user_ref()
    due_on: Mapped[date | None]
    interaction_id: Mapped[int | None] = ref("interactions", ondelete="SET NULL")
    status: Mapped[str] = mapped_column(String(20), default="open")
    resolved_at: Mapped[datetime | None]
    resolution_note: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class HealthSnapshot(WorkspaceScoped, Base):
    """A client's health score on one day, with the contributions that explain it."""

    __tablename__ = "health_snapshots"
    __table_args__ = (UniqueConstraint("contact_id", "day"),)

    contact_id: Mapped[int] = ref("contacts")
    day: Mapped[date]
    score: Mapped[int] = mapped_column(Integer)
    contributions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
