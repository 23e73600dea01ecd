"""Request dependencies: the one transaction a request owns, and who is asking."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tenure.domain.errors import NotAuthenticated, PreconditionRequired
from tenure.http import SessionDep
from tenure.services.access import authenticate_token, context_for
from tenure.services.context import Ctx

bearer = HTTPBearer(auto_error=False, description="An API token from `tenure token create`.")


async def _ctx(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Ctx:
    """Async, with the token lookup (the one blocking part) sent to the thread pool by hand: a
    request without a token is refused without a hop there."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("send an API token as 'Authorization: Bearer <token>'")
    return await run_in_threadpool(_authenticated, session, credentials.credentials)


def _authenticated(session: Session, secret: str) -> Ctx:
    return context_for(authenticate_token(session, secret), session, source="api")


CtxDep = Annotated[Ctx, Depends(_ctx)]


async def _if_match(if_match: Annotated[str | None, Header()] = None) -> int:
    """The version an update expects, from the ETag the client read.

    Async although it awaits nothing: FastAPI runs a sync dependency in the thread pool, a hop
    that costs more than parsing a header."""
    if not if_match:
        raise PreconditionRequired("send the ETag you read in an If-Match header")
    tag = if_match.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    tag = tag.strip('"')
    if not (tag.isascii() and tag.isdigit()) or len(tag) > 18:
        raise PreconditionRequired('If-Match must be an ETag this API gave out, like "3"')
    return int(tag)


ExpectedVersion = Annotated[int, Depends(_if_match)]


def etag(version: int) -> str:
    return f'"{version}"'
