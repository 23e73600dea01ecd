"""`tenure serve`"""

from __future__ import annotations

import typer
import uvicorn

from tenure.config import get_settings


def serve(
    host: str = typer.Option(None, help="Address to listen on (TENURE_HOST)."),
    port: int = typer.Option(None, help="Port (TENURE_PORT)."),
    workers: int = typer.Option(1, help="Server processes (use PostgreSQL for more than one)."),
) -> None:
    """Serve the API (and the web app) over HTTP."""
    settings = get_settings()
    uvicorn.run(
        "tenure.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
    )
