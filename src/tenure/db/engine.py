"""Engines: SQLite with WAL and foreign keys (the embedded default), PostgreSQL with a pool."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

#: Execution option that asks for a write transaction (``BEGIN IMMEDIATE`` on SQLite), so two
#: writers queue on the busy timeout instead of failing to upgrade a read lock.
WRITE_OPTION = "tenure_write"
#: PostgreSQL connections older than this are replaced at checkout.
POOL_RECYCLE_SECONDS = 1800


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo)
    # No pool_pre_ping: it costs a round trip on every checkout, i.e. on every request. A
    # connection the server dropped instead fails its first statement; SQLAlchemy then
    # invalidates the whole pool, and the API answers that one request 503 with Retry-After.
    # pool_recycle replaces connections before idle timeouts (server or firewall) drop them.
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=POOL_RECYCLE_SECONDS,
        echo=echo,
    )


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(WRITE_OPTION, False):
            # Through SQLAlchemy, so that "database is locked" is its OperationalError (the
            # edges answer it 503 with Retry-After).
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            # A deferred BEGIN takes no lock and cannot fail: straight to the driver, since
            # every read runs it and SQLAlchemy's statement path costs more than SQLite's work.
            conn.connection.driver_connection.execute("BEGIN")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
