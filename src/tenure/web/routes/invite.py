"""/invite/{token}: a new member sets a password with the one-time link an admin gave them,
and is logged in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from tenure.domain.errors import DomainError, InvalidInput, NotFound
from tenure.http import SessionDep, client_ip
from tenure.services import access, web_sessions
from tenure.web import forms
from tenure.web.deps import COOKIE
from tenure.web.render import build_templates, context

router = APIRouter()
templates = build_templates()


def _page(
    request: Request,
    info: access.InviteInfo | None,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    response = templates.TemplateResponse(
        request,
        "auth/invite.html",
        context(request, info=info, errors=errors or {}),
        status_code=status,
    )
    # The link is a credential: keep it out of caches and referrers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/invite/{token}", name="invite_page")
def invite_page(request: Request, token: str, session: SessionDep) -> Response:
    try:
        info = access.invite_info(session, token)
    except NotFound as exc:
        return _page(request, None, errors={"_": exc.message}, status=404)
    return _page(request, info)


@router.post("/invite/{token}")
async def accept_invite(request: Request, token: str, session: SessionDep) -> Response:
    """No session yet, so no CSRF token to check: the unguessable link is what a forged form
    cannot know, and using it only sets the invited member's own first password."""
    form = await request.form()
    try:
        info = access.invite_info(session, token)
    except NotFound as exc:
        return _page(request, None, errors={"_": exc.message}, status=404)
    password = forms.raw(form, "password")
    try:
        if password != forms.raw(form, "password_confirm"):
            raise InvalidInput.one("password_confirm", "same", "the two passwords differ")
        access.accept_invite(session, token, password=password)
        new = web_sessions.login(
            session,
            email=info.email,
            password=password,
            workspace_slug=info.workspace_slug,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except DomainError as exc:
        session.rollback()
        return _page(request, info, errors=forms.errors_of(exc), status=422)
    response = RedirectResponse("/", status_code=303)
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
