"""`tenure db …`"""

from __future__ import annotations

import typer

from tenure.cli.runtime import console
from tenure.config import get_settings
from tenure.db.engine import make_engine
from tenure.db.migrate import upgrade

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command() -> None:
    """Create or migrate the database to the newest schema."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    console.print(f"database is up to date: {engine.url.render_as_string(hide_password=True)}")
