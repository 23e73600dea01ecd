"""/login and /logout"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.domain.errors import NotAuthenticated
from tenure.http import SessionDep, client_ip
from tenure.services import web_sessions
from tenure.web.deps import COOKIE, WebCtx
from tenure.web.render import build_templates, context

router = APIRouter()
templates = build_templates()


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect to another host after login."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return templates.TemplateResponse(
        request, "auth/login.html", context(request, next=_safe_next(next), email="", error="")
    )


@router.post("/login")
async def login(request: Request, session: SessionDep) -> Response:
    form = await request.form()
    email = str(form.get("email") or "")
    target = _safe_next(str(form.get("next") or "/"))
    try:
        new = web_sessions.login(
            session,
            email=email,
            password=str(form.get("password") or ""),
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except NotAuthenticated as exc:
        # The failed attempt is audited: commit that, then answer with the form again.
        session.commit()
        return templates.TemplateResponse(
            request,
            "auth/login.html",
            context(request, next=target, email=email, error=exc.message),
            status_code=401,
        )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        new.token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=web_sessions.SESSION_DAYS * 86400,
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, ctx: WebCtx) -> Response:
    token = request.cookies.get(COOKIE, "")
    web_sessions.logout(ctx.session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
