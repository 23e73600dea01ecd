"""Lifecycle transitions and agreements."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tenure.clock import utcnow
from tenure.db.base import Base, Timestamps, WorkspaceScoped
from tenure.db.types import BigId


class Transition(WorkspaceScoped, Base):
    """One stage change: append-only; the relationship's history is the list of these."""

    __tablename__ = "transitions"
    __table_args__ = (
        Index("ix_transitions_contact", "contact_id", "effective_on", "id"),
        # Covering: retention and cohort analytics read every transition of a period from the
        # index alone (about 2x faster at 100k contacts, bench/README.md).
        Index(
            "ix_transitions_ws_effective_cover",
            "workspace_id",
            "effective_on",
            "contact_id",
            "to_stage",
            "from_stage",
            "reason",
        ),
        # Covering, in contact order: cohorts, tenure and revenue follow each contact's
        # history from the index alone (migration 0008).
        Index(
            "ix_transitions_ws_contact_cover",
            "workspace_id",
            "contact_id",
            "effective_on",
            "id",
            "from_stage",
            "to_stage",
        ),
    )

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    from_stage: Mapped[str] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    effective_on: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(40))
    evidence_kind: Mapped[str | None] = mapped_column(String(20))
    evidence_id: Mapped[int | None] = mapped_column(BigId)
    note: Mapped[str] = mapped_column(Text, default="")


class Agreement(WorkspaceScoped, Timestamps, Base):
    __tablename__ = "agreements"
    __table_args__ = (
        Index("ix_agreements_contact", "contact_id", "status"),
        Index("ix_agreements_ws_status_renews", "workspace_id", "status", "renews_on"),
    )

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    renews_on: Mapped[date | None]
    #: 64-bit: minor units of large contracts (or of currencies like JPY) pass 2**31.
    value_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    billing_period: Mapped[str] = mapped_column(String(20), default="one_off")
    terms: Mapped[str] = mapped_column(Text, default="")
    confirmed_at: Mapped[datetime | None]
    ended_on: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))
    end_note: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}
