"""The audit log: security and administrative events, append-only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenure.clock import utcnow
from tenure.db.models import AuditEntry
from tenure.db.repositories.access import users_by_id
from tenure.db.repositories.keyset import KeysetOrder
from tenure.db.repositories.pagination import (
    Page,
    check_limit,
    id_cursor,
    page_of,
)
from tenure.db.uow import is_read_only, write_after_read
from tenure.domain.access import Permission
from tenure.services.context import Ctx


def record(
    session: Session,
    *,
    workspace_id: int,
    action: str,
    source: str,
    actor_id: int | None = None,
    ip: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        workspace_id=workspace_id,
        actor_id=actor_id,
        action=action,
        source=source,
        ip=ip,
        details=details or {},
        created_at=utcnow(),
    )
    if is_read_only(session):
        # An export or a personal-data answer: recorded once the read is over, so a long read
        # never holds the write lock (db.uow.write_after_read).
        write_after_read(session, entry)
        return entry
    session.add(entry)
    session.flush()
    return entry


def log(ctx: Ctx, action: str, *, ip: str = "", **details: Any) -> AuditEntry:
    source = "ui" if ctx.source == "web" else ctx.source
    return record(
        ctx.session,
        workspace_id=ctx.workspace_id,
        action=action,
        source=source,
        actor_id=ctx.user_id,
        ip=ip,
        details=details,
    )


def entries(
    ctx: Ctx, *, action: str | None = None, cursor: str | None = None, limit: int = 50
) -> Page:
    ctx.require(Permission.ADMIN)
    check_limit(limit)
    stmt = select(AuditEntry).where(AuditEntry.workspace_id == ctx.workspace_id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    order = KeysetOrder(AuditEntry.id, AuditEntry.id, descending=True)
    rows: Sequence[AuditEntry] = ctx.session.scalars(
        order.apply(stmt, id_cursor(cursor), limit)
    ).all()
    return page_of(rows, limit)


def actor_emails(ctx: Ctx, rows: Sequence[AuditEntry]) -> dict[int, str]:
    """The emails of a page's actors, in one query (the list shows who acted)."""
    ids = sorted({r.actor_id for r in rows if r.actor_id is not None})
    return {i: u.email for i, u in users_by_id(ctx.session, ids).items()}
