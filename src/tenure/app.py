"""create_app(): builds the engine, the API (and later the web app and embedded worker).

Nothing happens at import time; settings are read here so tests choose their own database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from tenure import __version__
from tenure.api.app import API_PREFIX, install_api
from tenure.config import Settings, get_settings
from tenure.db.engine import make_engine
from tenure.db.uow import session_factory
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

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/api/docs")

    return app
