"""/audit: the audit log (security and administrative events), for owners and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tenure.api.deps import CtxDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.audit import AuditEntryRead, AuditPage
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.services import audit as service

router = APIRouter(route_class=OneHopRoute, prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def list_audit(
    ctx: CtxDep,
    action: Annotated[
        str | None,
        Query(
            max_length=60,
            pattern=r"^[a-z0-9_.]+$",
            description="Only this action, e.g. login.failed or contact.erased.",
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> AuditPage:
    """Newest first, keyset-paginated (``next_cursor``)."""
    page = service.entries(ctx, action=action, cursor=cursor, limit=limit)
    emails = service.actor_emails(ctx, page.items)
    return AuditPage(
        items=[
            AuditEntryRead(
                id=e.id,
                actor_id=e.actor_id,
                actor_email=emails.get(e.actor_id) if e.actor_id is not None else None,
                action=e.action,
                source=e.source,
                ip=e.ip,
                details=e.details,
                created_at=e.created_at,
            )
            for e in page.items
        ],
        next_cursor=page.next_cursor,
    )
