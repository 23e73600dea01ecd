"""HTTP plumbing shared by the API and the web app (both edges; neither imports the other)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from tenure.db.uow import finish, open_session

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def request_session(request: Request) -> Iterator[Session]:
    """The one transaction a request owns: committed when the handler returned, rolled back
    when it raised; before the response is sent (scope="function"), so a failed commit is an
    error response, never a false success."""
    session = open_session(request.app.state.sessions, write=request.method not in READ_METHODS)
    try:
        yield session
        finish(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(request_session, scope="function")]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
