"""/settings/audit: the audit log (owners and admins; others get the 403 page).

Newest first, keyset-paged: "Load more" is a plain link to the next page (cursor and filter
in the query string), so it works without JavaScript.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tenure.domain.access import Permission
from tenure.services import audit
from tenure.web.deps import WebCtx
from tenure.web.routes.settings.common import page

router = APIRouter()

TAB = "/settings/audit"
PAGE_SIZE = 50
#: Offered in the filter (any action can be typed).
COMMON_ACTIONS = (
    "login.succeeded",
    "login.failed",
    "token.created",
    "token.revoked",
    "member.added",
    "member.role_changed",
    "member.removed",
    "settings.updated",
    "workspace.updated",
    "smtp.updated",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "contacts.exported",
    "workspace.exported",
    "rule.enabled",
    "rule.disabled",
    "contact.personal_data_exported",
    "contact.erased",
)
_ACTION = re.compile(r"^[a-z0-9_.]{1,60}$")


@router.get("/settings/audit")
def audit_page(
    request: Request, ctx: WebCtx, action: str = "", cursor: str | None = None
) -> Response:
    action = action.strip()
    shown: dict[str, Any] = {"action": action, "actions": COMMON_ACTIONS}
    if action and not _ACTION.match(action):
        ctx.require(Permission.ADMIN)  # the page is for admins, whatever the query
        return page(
            request,
            "settings/audit.html",
            tab=TAB,
            status=422,
            entries=[],
            actors={},
            next_cursor=None,
            continued=False,
            errors={"action": "an action is letters, digits, dots and underscores"},
            **shown,
        )
    result = audit.entries(ctx, action=action or None, cursor=cursor or None, limit=PAGE_SIZE)
    return page(
        request,
        "settings/audit.html",
        tab=TAB,
        entries=result.items,
        actors=audit.actor_emails(ctx, result.items),
        next_cursor=result.next_cursor,
        continued=bool(cursor),
        **shown,
    )
