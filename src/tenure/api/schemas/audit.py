"""The audit log: what the API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tenure.api.schemas.common import Output


class AuditEntryRead(Output):
    id: int
    actor_id: int | None
    #: The actor's email (null for the CLI operator, automation, or a deleted user).
    actor_email: str | None
    #: e.g. login.succeeded, login.failed, token.created, member.role_changed, contact.erased
    action: str
    #: ui | api | cli | automation
    source: str
    ip: str
    details: dict[str, Any]
    created_at: datetime


class AuditPage(Output):
    items: list[AuditEntryRead]
    next_cursor: str | None
