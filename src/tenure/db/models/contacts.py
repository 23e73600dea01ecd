"""Contacts, their lookup rows (emails, phones, tags) and persons' organizations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, Timestamps, WorkspaceScoped
from tenure.db.types import BigId, JSONType


class Contact(WorkspaceScoped, Timestamps, Base):
    """A person or organization.

    Emails, phones and tags are kept twice on purpose: as JSON on the row, so one row renders a
    contact in a list with no extra query, and as lookup rows (``contact_emails`` …) that carry
    the unique constraint and the indexes for filters. ``services.contacts`` writes both.
    ``stage``, ``client_since`` and ``closed_tenure_days`` are kept current from the transitions.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_ws_sort", "workspace_id", "sort_name", "id"),
        Index("ix_contacts_ws_stage_sort", "workspace_id", "stage", "sort_name", "id"),
        Index("ix_contacts_ws_owner_sort", "workspace_id", "owner_id", "sort_name", "id"),
        Index("ix_contacts_ws_last_interaction", "workspace_id", "last_interaction_at", "id"),
        Index("ix_contacts_ws_stage_touch_due", "workspace_id", "stage", "next_touch_due", "id"),
        Index("ix_contacts_ws_stage_health", "workspace_id", "stage", "health_score", "id"),
        # The client list sorted by last touch / next activity (bench/README.md: 370 ms → 25 ms
        # at 40k clients): the rows with a value come through these in order.
        Index("ix_contacts_ws_stage_last_touch", "workspace_id", "stage", "last_touch_at", "id"),
        Index(
            "ix_contacts_ws_stage_next_activity", "workspace_id", "stage", "next_activity_at", "id"
        ),
    )

    kind: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(300))
    given_name: Mapped[str | None] = mapped_column(String(150))
    family_name: Mapped[str | None] = mapped_column(String(150))
    #: Lower-cased display name: the list's sort and keyset key.
    sort_name: Mapped[str] = mapped_column(String(300))
    emails: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    phones: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    timezone: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    notes: Mapped[str] = mapped_column(Text, default="")

    stage: Mapped[str] = mapped_column(String(20), default="contact")
    client_since: Mapped[date | None]
    closed_tenure_days: Mapped[int] = mapped_column(Integer, default=0)
    last_interaction_at: Mapped[datetime | None]
    #: When a service was last delivered to this contact.
    last_service_at: Mapped[datetime | None]
    #: The earliest open activity or scheduled delivery (overdue ones included).
    next_activity_at: Mapped[datetime | None]
    #: Cadence: this contact's expected touch interval (else by tag, else the workspace's).
    cadence_days: Mapped[int | None] = mapped_column(Integer)
    #: The last touch on any channel: interaction, delivered service, completed call/meeting.
    last_touch_at: Mapped[datetime | None]
    #: The day the next touch is due (kept current on write).
    next_touch_due: Mapped[date | None]
    health_score: Mapped[int | None] = mapped_column(Integer)
    health_contributions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    #: Contacts marked so are never emailed by automation (issue 5).
    do_not_email: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Set when this contact was merged into another: its id then answers with a pointer.
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL")
    )
    #: Set when the person's data was erased (GDPR Art. 17); the row stays for the analytics.
    erased_at: Mapped[datetime | None]

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class ContactEmail(WorkspaceScoped, Base):
    __tablename__ = "contact_emails"
    __table_args__ = (
        UniqueConstraint("workspace_id", "email"),
        Index("ix_contact_emails_contact", "contact_id"),
    )

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))


class ContactPhone(WorkspaceScoped, Base):
    __tablename__ = "contact_phones"
    __table_args__ = (
        Index("ix_contact_phones_ws_number", "workspace_id", "number"),
        Index("ix_contact_phones_contact", "contact_id"),
    )

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(32))


class ContactTag(WorkspaceScoped, Base):
    __tablename__ = "contact_tags"
    __table_args__ = (
        UniqueConstraint("contact_id", "tag"),
        Index("ix_contact_tags_ws_tag", "workspace_id", "tag", "contact_id"),
    )

    contact_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(50))


class Affiliation(WorkspaceScoped, Base):
    """A person's place in an organization (both are contacts)."""

    __tablename__ = "affiliations"
    __table_args__ = (
        UniqueConstraint("person_id", "organization_id"),
        Index("ix_affiliations_org", "organization_id"),
    )

    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("contacts.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(String(200), default="")
