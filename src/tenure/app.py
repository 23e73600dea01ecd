"""create_app(): builds the engine, the API, the web app and (on SQLite) the embedded worker.

Nothing happens at import time; settings are read here so tests choose their own database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from tenure import __version__
from tenure.api import errors as api_errors
from tenure.api.app import API_PREFIX, install_api
from tenure.config import Settings, get_settings
from tenure.db.engine import make_engine
from tenure.db.uow import session_factory
from tenure.heap import freeze_startup_heap
from tenure.web import errors as web_errors
from tenure.web.app import install_web
from tenure.web.deps import LoginRequired
from tenure.web.security import docs_csp
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
        if settings.freeze_heap_at_start:
            freeze_startup_heap()
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
        docs_url=None,  # served by _api_docs, from local files
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    install_api(app)
    _api_docs(app)
    install_web(app)
    _route_errors(app)
    return app


#: Swagger UI's files as installed by the package manager (the fastapi-offline wheel ships
#: Swagger UI 5, which renders OpenAPI 3.1), served from here: the docs never load a CDN.
SWAGGER_FILES = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS = "/api/docs-assets"


def _api_docs(app: FastAPI) -> None:
    """/api/docs: Swagger UI from local files, with a policy that allows its one inline script
    by hash (the rest of the app keeps its strict policy)."""
    assert app.openapi_url is not None
    html = get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title="Tenure API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    ).body
    policy = docs_csp(bytes(html).decode())

    def docs() -> HTMLResponse:
        return HTMLResponse(
            bytes(html), headers={"Content-Security-Policy": policy, "X-Frame-Options": "DENY"}
        )

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(SWAGGER_FILES)), name="api-docs-assets")
    app.add_api_route("/api/docs", docs, methods=["GET"], include_in_schema=False)


def _route_errors(app: FastAPI) -> None:
    """One handler per error type, answering as the edge the request came to: problem
    documents under /api, pages everywhere else."""
    pages = web_errors.handlers()
    for exc_type, api_handler in api_errors.HANDLERS.items():
        page_handler = pages.get(exc_type, pages[Exception])

        async def handle(
            request: Request, exc: Exception, api: Any = api_handler, web: Any = page_handler
        ) -> Response:
            # Async: Starlette runs a sync handler in the thread pool, a hop that costs more
            # than building a problem document (a 401 does nothing else). Pages render their
            # templates in the thread pool, as before.
            response: Response
            if request.url.path.startswith("/api/"):
                response = api(request, exc)
            else:
                response = await run_in_threadpool(web, request, exc)
            return response

        app.add_exception_handler(exc_type, handle)
    app.add_exception_handler(LoginRequired, pages[LoginRequired])
