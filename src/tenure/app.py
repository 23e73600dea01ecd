"""create_app(): builds the engine, the API, the web app and (on SQLite) the embedded worker.

Nothing happens at import time; settings are read here so tests choose their own database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response

from tenure import __version__
from tenure.api import errors as api_errors
from tenure.api.app import API_PREFIX, install_api
from tenure.config import Settings, get_settings
from tenure.db.engine import make_engine
from tenure.db.uow import session_factory
from tenure.web import errors as web_errors
from tenure.web.app import install_web
from tenure.web.deps import LoginRequired
from tenure.worker.runner import start_in_thread

DESCRIPTION = """Tenure manages confirmed, ongoing client relationships.

Authenticate with `Authorization: Bearer <token>` (create one with `tenure token create`).
Errors are RFC 9457 problem documents; updates need the `ETag` you read in `If-Match`;
lists are keyset-paginated (`cursor`, `limit` ≤ 200).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(
        settings.database_url, pool_size=settings.pool_size, echo=settings.sql_echo
    )
    embedded = settings.embedded_worker
    if embedded is None:
        embedded = engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = start_in_thread(engine) if embedded else None
        try:
            yield
        finally:
            if stop is not None:
                stop.set()

    app = FastAPI(
        lifespan=lifespan,
        title="Tenure",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    install_api(app)
    install_web(app)
    _route_errors(app)
    return app


def _route_errors(app: FastAPI) -> None:
    """One handler per error type, answering as the edge the request came to: problem
    documents under /api, pages everywhere else."""
    pages = web_errors.handlers()
    for exc_type, api_handler in api_errors.HANDLERS.items():
        page_handler = pages.get(exc_type, pages[Exception])

        def handle(
            request: Request, exc: Exception, api: Any = api_handler, web: Any = page_handler
        ) -> Response:
            chosen = api if request.url.path.startswith("/api/") else web
            response: Response = chosen(request, exc)
            return response

        app.add_exception_handler(exc_type, handle)
    app.add_exception_handler(LoginRequired, pages[LoginRequired])
