"""RFC 9457 problem documents for every error, and the handlers that produce them.

Each domain error ``code`` maps to one HTTP status here and nowhere else. Nothing reaches a
client as a stack trace: unexpected exceptions become a plain 500 problem and are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tenure.domain import errors as E

log = logging.getLogger("tenure.api")

PROBLEM_TYPE_BASE = "/api/v1/problems/"

STATUS: dict[type[E.DomainError], int] = {
    E.InvalidInput: 422,
    E.NotFound: 404,
    E.ContactMerged: 410,
    E.PermissionDenied: 403,
    E.NotAuthenticated: 401,
    E.PreconditionFailed: 412,
    E.PreconditionRequired: 428,
    E.Conflict: 409,
}

HTTP_CODES = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "too-large",
    415: "unsupported-media-type",
}


#: Problem types the HTTP edge answers with besides the domain's (``domain/errors.py``), so that
#: ``/problems`` documents every ``type`` a client can receive: code -> (title, description).
EDGE_PROBLEMS: dict[str, tuple[str, str]] = {
    "bad-request": ("The request could not be read", "The body is not well-formed."),
    "method-not-allowed": ("Method not allowed", "The path exists but not for this method."),
    "not-acceptable": ("Not acceptable", "The API answers in JSON only."),
    "too-large": ("Request too large", "The request body is larger than the API accepts."),
    "unsupported-media-type": ("Unsupported media type", "Send JSON bodies."),
    "http-error": ("HTTP error", "Another error of the HTTP layer; see its status."),
    "busy": ("The database is busy", "Retry after the seconds given in Retry-After."),
    "internal-error": (
        "Something went wrong on our side",
        "An unexpected error: it was logged and nothing was changed.",
    ),
}


def status_of(error: E.DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, E.DomainError)
    status = status_of(exc)
    extra: dict[str, Any] = {}
    if isinstance(exc, E.InvalidInput):
        extra["errors"] = [
            {"field": e.field, "rule": e.rule, "message": e.message} for e in exc.errors
        ]
    details = {k: v for k, v in exc.details.items() if v is not None}
    if details:
        extra["details"] = details
    headers = {"WWW-Authenticate": 'Bearer realm="tenure"'} if status == 401 else None
    return problem(status, exc.code, exc.title, exc.message, headers=headers, **extra)


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        if loc and loc[0] in {"body", "query", "path", "header"}:
            loc = loc[1:]
        if err.get("type") == "json_invalid":
            loc = []  # the position in the text is in the message; the field is the body
        field = _field_path(loc) or "body"
        errors.append(
            {
                "field": field,
                "rule": err.get("type", "invalid"),
                "message": str(err.get("msg", "invalid")),
            }
        )
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, E.InvalidInput.code, E.InvalidInput.title, detail, errors=errors)


def _field_path(loc: list[Any]) -> str:
    """``emails[0].email``: the same spelling the services use for nested fields."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http-error")
    return problem(
        exc.status_code,
        code,
        str(exc.detail),
        str(exc.detail),
        headers=getattr(exc, "headers", None),
    )


def _stale(_: Request, exc: Exception) -> JSONResponse:
    return problem(
        412,
        E.PreconditionFailed.code,
        E.PreconditionFailed.title,
        "the record was changed by someone else; read it again",
    )


def _integrity(_: Request, exc: Exception) -> JSONResponse:
    # Services check the rules first; this is the race where two requests pass the check at once.
    log.info("integrity conflict: %s", exc)
    return problem(
        409,
        E.Conflict.code,
        E.Conflict.title,
        "the change conflicts with another one made at the same time; try again",
    )


def _busy(_: Request, exc: Exception) -> JSONResponse:
    log.warning("database busy: %s", exc)
    return problem(
        503, "busy", "The database is busy", "try again in a moment", headers={"Retry-After": "1"}
    )


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return problem(
        500,
        "internal-error",
        "Something went wrong on our side",
        "the error was logged; nothing was changed",
    )


ErrorHandler = Callable[[Request, Exception], Response]

#: Every exception type the API answers, and how (the app routes /api paths here).
HANDLERS: dict[type[Exception], ErrorHandler] = {
    E.DomainError: _domain_error,
    RequestValidationError: _validation_error,
    StarletteHTTPException: _http_error,
    StaleDataError: _stale,
    IntegrityError: _integrity,
    OperationalError: _busy,
    Exception: _unexpected,
}


def install(app: FastAPI) -> None:
    """Answer every error as a problem document (used when the API is served alone)."""
    for exc_type, handler in HANDLERS.items():
        app.add_exception_handler(exc_type, handler)
