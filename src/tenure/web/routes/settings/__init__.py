"""/settings: workspace defaults, members and roles, API tokens, email, webhooks, services.

Everyone reads what their role may read; only the forms their role may use are drawn, and the
services refuse the rest (a hand-made POST gets the 403 page).
"""

from __future__ import annotations

from fastapi import APIRouter

from tenure.web.routes.settings import (
    audit,
    catalog,
    data,
    email,
    members,
    tokens,
    webhooks,
    workspace,
)

router = APIRouter()
for part in (workspace, members, tokens, email, webhooks, catalog, data, audit):
    router.include_router(part.router)
