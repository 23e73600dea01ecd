"""The append-only timeline and the interactions it records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.clock import utcnow
from tenure.db.base import Base, WorkspaceScoped
from tenure.db.types import BigId, JSONType


class TimelineEvent(WorkspaceScoped, Base):
    """Never updated in place. Also the outbox that automation and webhooks read (issue 5)."""

    __tablename__ = "timeline_events"
    __table_args__ = (
        Index("ix_timeline_contact_occurred", "contact_id", "occurred_at", "id"),
        Index("ix_timeline_contact_type_occurred", "contact_id", "type", "occurred_at", "id"),
        Index("ix_timeline_ws_id", "workspace_id", "id"),
    )

    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(60))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column(BigId)
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Interaction(WorkspaceScoped, Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_contact_occurred", "contact_id", "occurred_at"),
        UniqueConstraint("workspace_id", "contact_id", "message_id"),
    )

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime]
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    participants: Mapped[list[str]] = mapped_column(JSONType, default=list)
    author_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    #: Email interactions: the RFC 5322 Message-ID (duplicates are ignored) and the thread.
    message_id: Mapped[str | None] = mapped_column(String(300))
    thread_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
