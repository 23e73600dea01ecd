"""Errors as pages: a login redirect, a 404/403 page, a friendly 500 — never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tenure.domain import errors as E
from tenure.web.deps import LoginRequired
from tenure.web.render import build_templates, context

log = logging.getLogger("tenure.web")
_templates = build_templates()

STATUS = {
    E.NotFound: 404,
    E.PermissionDenied: 403,
    E.InvalidInput: 422,
    E.Conflict: 409,
    E.PreconditionFailed: 409,
    E.NotAuthenticated: 401,
}


def _page(request: Request, status: int, title: str, message: str) -> Response:
    return _templates.TemplateResponse(
        request,
        "errors/error.html",
        context(request, status=status, title=title, message=message),
        status_code=status,
    )


def _login(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, E.DomainError)
    status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
    return _page(request, status, exc.title, exc.message)


def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    title = "Page not found" if exc.status_code == 404 else "That did not work"
    return _page(request, exc.status_code, title, str(exc.detail))


def _validation(request: Request, exc: Exception) -> Response:
    return _page(request, 422, "Some values are not valid", "Check the form and try again.")


def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s", request.url.path, exc_info=exc)
    return _page(
        request,
        500,
        "Something went wrong on our side",
        "The error was logged and nothing was changed. Try again in a moment.",
    )


def handlers() -> dict[type[Exception], Callable[[Request, Exception], Response]]:
    from fastapi.exceptions import RequestValidationError

    return {
        LoginRequired: _login,
        E.DomainError: _domain,
        StarletteHTTPException: _http,
        RequestValidationError: _validation,
        Exception: _unexpected,
    }
