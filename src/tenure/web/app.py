"""The web app: pages under /, static files under /static."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tenure.web.render import STATIC
from tenure.web.routes import (
    analytics,
    auth,
    automation,
    cases,
    contacts,
    exports,
    imports,
    invite,
    playbooks,
    privacy,
    schedule,
    settings,
    today,
    vcard,
)
from tenure.web.security import SecurityHeaders

ROUTERS = [
    auth.router,
    today.router,
    contacts.router,
    schedule.router,
    cases.router,
    settings.router,
    invite.router,
    analytics.router,
    automation.router,
    playbooks.router,
    imports.router,
    exports.router,
    vcard.router,
    privacy.router,
]


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for router in ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.add_middleware(SecurityHeaders)
