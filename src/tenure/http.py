"""HTTP plumbing shared by the API and the web app (both edges; neither imports the other)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tenure.db.uow import ends_instantly, finish, open_session

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def request_session(request: Request) -> AsyncIterator[Session]:
    """The one transaction a request owns: committed when the handler returned, rolled back
    when it raised; before the response is sent (scope="function"), so a failed commit is an
    error response, never a false success.

    Async, with the blocking parts sent to the thread pool by hand: FastAPI would run a sync
    generator's start and its end in the thread pool each, and every hop there costs a context
    switch and a wait for the GIL. A read's start does no I/O (the session connects when first
    used), so it stays here; a write's start (BEGIN IMMEDIATE, which may wait for the lock) and
    every end (commit or rollback, then close) take one hop each."""
    factory = request.app.state.sessions
    if request.method in READ_METHODS:
        session = open_session(factory, write=False)
    else:
        session = await run_in_threadpool(open_session, factory, write=True)
    try:
        yield session
    except BaseException:
        if ends_instantly(session):
            _rollback(session)
        else:
            await run_in_threadpool(_rollback, session)
        raise
    if ends_instantly(session):
        _commit(session)
    else:
        await run_in_threadpool(_commit, session)


def _commit(session: Session) -> None:
    try:
        finish(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _rollback(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(request_session, scope="function")]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
