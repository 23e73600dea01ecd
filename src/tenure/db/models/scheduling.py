"""Activities, recurring schedules, the services catalog and service deliveries."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, Timestamps, WorkspaceScoped, ref, user_ref
from tenure.db.types import JSONType


class Activity(WorkspaceScoped, Timestamps, Base):
    """Something someone has to do: a task (due time) or a timed call/meeting/appointment/visit.

    ``at`` is the due time of a task or the start of a timed activity: the one column the
    agenda, the conflict check and "next activity" sort and filter by.
    """

    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("schedule_id", "occurrence_key"),
        Index("ix_activities_ws_assignee_status_at", "workspace_id", "assignee_id", "status", "at"),
        Index("ix_activities_ws_status_at", "workspace_id", "status", "at"),
        Index("ix_activities_contact_status_at", "contact_id", "status", "at"),
    )

    contact_id: Mapped[int | None] = ref("contacts")
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str] = mapped_column(Text, default="")
    assignee_id: Mapped[int | None] = user_ref()
    at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    location: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    completed_at: Mapped[datetime | None]
    completion_note: Mapped[str] = mapped_column(Text, default="")
    #: ``manual``, ``schedule`` or ``automation``.
    origin: Mapped[str] = mapped_column(String(20), default="manual")
    schedule_id: Mapped[int | None] = ref("schedules", ondelete="SET NULL")
    #: The occurrence's original local start (ISO), unique per schedule: materializing twice
    #: never creates it twice, and a moved or cancelled occurrence is remembered by it.
    occurrence_key: Mapped[str | None] = mapped_column(String(32))
    interaction_id: Mapped[int | None] = ref("interactions", ondelete="SET NULL")
    created_by: Mapped[int | None] = user_ref()

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class Service(WorkspaceScoped, Timestamps, Base):
    """An entry of the workspace's catalog of services."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    default_duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    default_price_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class Schedule(WorkspaceScoped, Timestamps, Base):
    """A recurring plan (RFC 5545) that produces activities or service deliveries.

    ``dtstart_local`` is a naive wall-clock time in ``timezone``: 9:00 stays 9:00 local
    across daylight-saving changes. Occurrences are materialized up to ``materialized_until``.
    """

    __tablename__ = "schedules"
    __table_args__ = (
        Index("ix_schedules_ws_status", "workspace_id", "status", "materialized_until"),
        Index("ix_schedules_contact", "contact_id", "status"),
    )

    contact_id: Mapped[int] = ref("contacts")
    agreement_id: Mapped[int | None] = ref("agreements", ondelete="SET NULL")
    service_id: Mapped[int | None] = ref("services", ondelete="SET NULL")
    #: ``activity`` or ``delivery``.
    produces: Mapped[str] = mapped_column(String(20))
    activity_kind: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str] = mapped_column(Text, default="")
    assignee_id: Mapped[int | None] = user_ref()
    location: Mapped[str] = mapped_column(String(300), default="")
    rrule: Mapped[str] = mapped_column(String(500))
    #: Naive local ISO datetime, like ``2026-03-02T09:00:00``.
    dtstart_local: Mapped[str] = mapped_column(String(19))
    timezone: Mapped[str] = mapped_column(String(64))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    exdates: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(20), default="active")
    stopped_at: Mapped[datetime | None]
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    materialized_until: Mapped[datetime | None]
    #: Set on the schedule created by a "this and following" split.
    split_from_id: Mapped[int | None] = ref("schedules", ondelete="SET NULL")
    created_by: Mapped[int | None] = user_ref()

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class Delivery(WorkspaceScoped, Timestamps, Base):
    """One unit of service done for a client, with its own lifecycle."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("schedule_id", "occurrence_key"),
        Index("ix_deliveries_contact_status_start", "contact_id", "status", "scheduled_start"),
        Index("ix_deliveries_ws_assignee_start", "workspace_id", "assignee_id", "scheduled_start"),
        Index("ix_deliveries_ws_status_start", "workspace_id", "status", "scheduled_start"),
    )

    contact_id: Mapped[int] = ref("contacts")
    service_id: Mapped[int | None] = ref("services", ondelete="SET NULL")
    agreement_id: Mapped[int | None] = ref("agreements", ondelete="SET NULL")
    assignee_id: Mapped[int | None] = user_ref()
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="requested")
    scheduled_start: Mapped[datetime | None]
    scheduled_end: Mapped[datetime | None]
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    location: Mapped[str] = mapped_column(String(300), default="")
    actual_start: Mapped[datetime | None]
    actual_end: Mapped[datetime | None]
    outcome_notes: Mapped[str] = mapped_column(Text, default="")
    follow_up_due: Mapped[date | None]
    price_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    origin: Mapped[str] = mapped_column(String(20), default="manual")
    schedule_id: Mapped[int | None] = ref("schedules", ondelete="SET NULL")
    occurrence_key: Mapped[str | None] = mapped_column(String(32))
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = user_ref()

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class Case(WorkspaceScoped, Timestamps, Base):
    """A support request inside the relationship; it never changes the lifecycle stage."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_ws_status_priority", "workspace_id", "status", "priority", "id"),
        Index("ix_cases_contact_status", "contact_id", "status"),
    )

    contact_id: Mapped[int] = ref("contacts")
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    assignee_id: Mapped[int | None] = user_ref()
    status: Mapped[str] = mapped_column(String(20), default="open")
    opened_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = user_ref()

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class CalendarFeed(WorkspaceScoped, Base):
    """A secret, revocable iCalendar URL for one member's or one contact's calendar."""

    __tablename__ = "calendar_feeds"

    #: ``member`` or ``contact``.
    scope: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = ref("users")
    contact_id: Mapped[int | None] = ref("contacts")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = user_ref()
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
