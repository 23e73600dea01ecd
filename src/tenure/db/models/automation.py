"""The durable job table, automation rules and their runs, playbooks, email and webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, Timestamps, WorkspaceScoped, ref, user_ref
from tenure.db.types import JSONType


class Job(WorkspaceScoped, Base):
    """One unit of background work, enqueued in the transaction of the change that causes it.

    Workers claim due jobs (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL), hold them for a
    lease they renew while working, and mark them done in the transaction of their effect.
    A crashed worker's job is claimed again when its lease runs out. ``key`` makes enqueueing
    idempotent (periodic jobs, one job per effect).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("workspace_id", "key"),
        Index("ix_jobs_due", "status", "run_at"),
        Index("ix_jobs_ws_status", "workspace_id", "status", "id"),
    )

    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    key: Mapped[str | None] = mapped_column(String(200))
    #: queued → running → done | dead (running again when retried or its lease expires)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    run_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class Rule(WorkspaceScoped, Timestamps, Base):
    """When something happens (an event, a date, inactivity, a recurrence) and the conditions
    hold, do the actions. Trigger, conditions and actions are JSON checked by the domain."""

    __tablename__ = "rules"
    __table_args__ = (Index("ix_rules_ws_enabled", "workspace_id", "enabled"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    trigger: Mapped[dict[str, Any]] = mapped_column(JSONType)
    #: The event type of an event trigger (denormalized for the dispatcher's lookup).
    event_type: Mapped[str | None] = mapped_column(String(60))
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    owner_id: Mapped[int | None] = user_ref()
    #: Shipped default rules carry a stable name, so they are installed once.
    builtin: Mapped[str | None] = mapped_column(String(60))
    #: Time-based triggers: evaluated up to here (catch-up after downtime starts from it).
    evaluated_until: Mapped[datetime | None]

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class RuleRun(WorkspaceScoped, Base):
    """One firing of a rule for one trigger occurrence (unique: a rule never fires twice)."""

    __tablename__ = "rule_runs"
    __table_args__ = (
        UniqueConstraint("rule_id", "trigger_key"),
        Index("ix_rule_runs_ws_id", "workspace_id", "id"),
    )

    rule_id: Mapped[int] = ref("rules")
    trigger_key: Mapped[str] = mapped_column(String(200))
    contact_id: Mapped[int | None] = ref("contacts", ondelete="SET NULL")
    event_id: Mapped[int | None] = ref("timeline_events", ondelete="SET NULL")
    #: matched | skipped (conditions false) | done | failed
    outcome: Mapped[str] = mapped_column(String(20))
    effects: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class Playbook(WorkspaceScoped, Timestamps, Base):
    """A named sequence of steps with day offsets (welcome email, kickoff call, review …)."""

    __tablename__ = "playbooks"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    builtin: Mapped[str | None] = mapped_column(String(60))

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class PlaybookRun(WorkspaceScoped, Base):
    """A playbook running for one client: which steps are done, and whether it still runs."""

    __tablename__ = "playbook_runs"
    __table_args__ = (
        Index("ix_playbook_runs_contact", "contact_id", "status"),
        Index("ix_playbook_runs_ws_status", "workspace_id", "status", "id"),
    )

    playbook_id: Mapped[int] = ref("playbooks")
    contact_id: Mapped[int] = ref("contacts")
    #: running | completed | stopped | cancelled
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime]
    started_by_rule_id: Mapped[int | None] = ref("rules", ondelete="SET NULL")
    steps_done: Mapped[list[int]] = mapped_column(JSONType, default=list)
    finished_at: Mapped[datetime | None]
    stop_reason: Mapped[str] = mapped_column(Text, default="")


class EmailTemplate(WorkspaceScoped, Timestamps, Base):
    __tablename__ = "email_templates"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class EmailMessage(WorkspaceScoped, Base):
    """The log of every email sent (or received and matched), by Message-ID."""

    __tablename__ = "email_messages"
    __table_args__ = (
        UniqueConstraint("workspace_id", "message_id"),
        Index("ix_email_messages_contact", "contact_id", "id"),
    )

    direction: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(300))
    in_reply_to: Mapped[str | None] = mapped_column(String(300))
    thread_id: Mapped[str] = mapped_column(String(300))
    contact_id: Mapped[int | None] = ref("contacts", ondelete="SET NULL")
    interaction_id: Mapped[int | None] = ref("interactions", ondelete="SET NULL")
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(JSONType, default=list)
    subject: Mapped[str] = mapped_column(String(500), default="")
    #: queued | sent | failed | received
    status: Mapped[str] = mapped_column(String(20))
    template_id: Mapped[int | None] = ref("email_templates", ondelete="SET NULL")
    rule_id: Mapped[int | None] = ref("rules", ondelete="SET NULL")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class WebhookSubscription(WorkspaceScoped, Timestamps, Base):
    """Where to POST which events. The signing secret must be readable to sign with, so it is
    stored as given (never returned after creation, never exported)."""

    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    secret: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = user_ref()

    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}


class WebhookDelivery(WorkspaceScoped, Base):
    """One event sent to one subscription: the same ``webhook_id`` on every retry."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_sub", "subscription_id", "id"),
    )

    subscription_id: Mapped[int] = ref("webhook_subscriptions")
    event_id: Mapped[int | None] = ref("timeline_events", ondelete="SET NULL")
    event_type: Mapped[str] = mapped_column(String(60))
    webhook_id: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: pending | delivered | failed (retrying) | dead
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
