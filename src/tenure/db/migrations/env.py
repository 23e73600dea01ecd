"""Alembic environment: runs against the URL given by tenure.db.migrate or the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tenure.config import get_settings
from tenure.db.engine import make_engine
from tenure.db.models import Base

config = context.config
target_metadata = Base.metadata


#: Database-specific search objects made by migration 0006, deliberately outside the models.
SEARCH_EXTRAS = (
    "search_fts",
    "tsv",
    "ix_search_documents_tsv",
    "ix_search_documents_contact_tsv",
    "ix_contacts_sort_name_trgm",
)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Leave the search index (FTS5 tables and their shadow tables, the tsvector column and
    the GIN/trigram indexes) out of autogenerate and `alembic check`."""
    if name is None:
        return True
    return not (name in SEARCH_EXTRAS or name.startswith("search_fts_"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER needs batch mode
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `tenure db upgrade`")
run_migrations_online()
