"""Who is browsing: the session cookie, its CSRF token, and the Ctx for the services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from tenure.domain.access import Permission, Role, can
from tenure.domain.errors import NotAuthenticated, PermissionDenied
from tenure.http import SessionDep
from tenure.services import web_sessions
from tenure.services.context import Ctx

COOKIE = "tenure_session"


class LoginRequired(Exception):
    """No valid session: the error handler sends the browser to /login."""


@dataclass(frozen=True)
class Me:
    user_id: int
    email: str
    name: str
    role: Role
    workspace_name: str
    timezone: str

    @property
    def can_write(self) -> bool:
        return can(self.role, Permission.WRITE)

    @property
    def is_admin(self) -> bool:
        return can(self.role, Permission.ADMIN)


async def _form_csrf(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf")
        return value if isinstance(value, str) else None
    return None


async def web_ctx(request: Request, session: SessionDep) -> Ctx:
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired
    try:
        p = web_sessions.principal(session, token)
    except NotAuthenticated:
        raise LoginRequired from None
    if request.method not in ("GET", "HEAD") and not web_sessions.check_csrf(
        p.session, await _form_csrf(request)
    ):
        raise PermissionDenied("the form expired or did not come from Tenure: reload the page")
    tz = p.user.timezone or p.workspace.timezone
    request.state.me = Me(
        p.user.id, p.user.email, p.user.name or p.user.email, p.role, p.workspace.name, tz
    )
    request.state.csrf = p.session.csrf_token
    request.state.timezone = tz
    return web_sessions.context(p, session)


WebCtx = Annotated[Ctx, Depends(web_ctx)]
