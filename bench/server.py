"""The app as the benchmark serves it: ``tenure.app.create_app`` plus a statement counter.

    uvicorn --factory bench.server:create_bench_app

Every SQL statement a request runs (authentication included; BEGIN/COMMIT/ROLLBACK aside, as
in the tests' ``count_statements``) is counted and sent back in an ``X-Bench-Statements``
response header. The counter lives here, in the benchmark, never in production code: the
engine listener only counts while a request's counter is set (sync handlers run in worker
threads, which copy the request's context, so they see the same counter).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

from tenure.app import create_app

HEADER = b"x-bench-statements"
_counter: ContextVar[list[int] | None] = ContextVar("bench_statements", default=None)
_SKIP = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    box = _counter.get()
    if box is not None and not statement.lstrip().upper().startswith(_SKIP):
        box[0] += 1


class StatementCounter:
    """Pure ASGI middleware: adds the count to the response head."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        box = [0]
        token = _counter.set(box)

        async def counted(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (HEADER, str(box[0]).encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            _counter.reset(token)


def create_bench_app() -> FastAPI:
    app = create_app()
    event.listen(app.state.engine, "before_cursor_execute", _count)
    app.add_middleware(StatementCounter)
    return app
