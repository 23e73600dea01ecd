"""/ : Today — my overdue and due work, today's visits, overdue touches, promises, risks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tenure.db.repositories.contacts import ContactFilter
from tenure.services import activities, commitments, contacts, timeline
from tenure.web.deps import WebCtx
from tenure.web.render import build_templates, context

router = APIRouter()
templates = build_templates()


@router.get("/")
def today(request: Request, ctx: WebCtx) -> Response:
    agenda = activities.agenda(
        ctx, assignee_id=ctx.user_id, timezone=request.state.timezone, days=7
    )
    overdue_touch = contacts.list_contacts(
        ctx, filters=ContactFilter(stage="client", touch_due_before=ctx.today), limit=10
    )
    at_risk = contacts.list_contacts(
        ctx, filters=ContactFilter(stage="client", health=(0, 49)), limit=10
    )
    promises = commitments.list_commitments(ctx, status="open", overdue=False, limit=10)
    recent = timeline.recent(ctx, limit=15)
    return templates.TemplateResponse(
        request,
        "today/today.html",
        context(
            request,
            agenda=agenda,
            overdue_touch=overdue_touch.items,
            at_risk=at_risk.items,
            promises=promises.items,
            recent=recent,
            today=ctx.today,
        ),
    )
