"""Web sessions (server-side, revocable) and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, WorkspaceScoped, ref, user_ref
from tenure.db.types import JSONType


class WebSession(WorkspaceScoped, Base):
    """A logged-in browser: the cookie holds a random token, only its SHA-256 is stored, so
    logging out (or an admin removing a member) ends the session at once."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = ref("users")
    #: The CSRF token every form of this session carries (synchronizer-token pattern).
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class AuditEntry(WorkspaceScoped, Base):
    """Security and administrative events: append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_ws_id", "workspace_id", "id"),)

    actor_id: Mapped[int | None] = user_ref()
    #: e.g. login.succeeded, login.failed, token.created, token.revoked, member.role_changed
    action: Mapped[str] = mapped_column(String(60))
    #: ui | api | cli | automation
    source: Mapped[str] = mapped_column(String(20))
    ip: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime]
