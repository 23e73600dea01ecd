"""Bulk loading for the generator: rows as tuples straight to the driver, ids chosen by us.

SQLAlchemy's ``insert()`` executemany builds a parameter dict per row and runs every value
through its type processors; at ten million timeline events that is most of the time. Here the
values are converted once per column with the same bind processors SQLAlchemy would use (so
SQLite stores datetimes and dates in exactly its format), then handed to ``sqlite3``'s
``executemany`` or to PostgreSQL's ``COPY`` (psycopg ``cursor.copy``), which is several times
faster than any INSERT. Ids are assigned by the generator (``next_id``), so children can point
at parents without reading them back; PostgreSQL's sequences are moved past them afterwards.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Date, Table, bindparam, func, select, text

from tenure.db.types import UTCDateTime

Processor = Callable[[Any], Any] | None


def _dumps(value: Any) -> str | None:
    """JSON text; the generator may pass text it serialized once for many rows (never a
    JSON string value: no bench column holds one)."""
    if value is None or isinstance(value, str):
        return value
    return (
        json.dumps(value, ensure_ascii=False)
        if value
        else ("{}" if isinstance(value, dict) else "[]")
    )


def _sqlite_datetime(value: datetime) -> str:
    """SQLAlchemy's SQLite storage format for a UTC datetime, at C speed."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _sqlite_date(value: date) -> str:
    return value.isoformat()


def _convert(row: Sequence[Any], procs: list[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    out = list(row)
    for i, p in procs:
        value = out[i]
        if value is not None:
            out[i] = p(value)
    return out


class Loader:
    """Fast inserts into the real tables on one connection (inside its transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.sqlite = self.dialect.name == "sqlite"
        self._processors: dict[tuple[str, tuple[str, ...]], list[Processor]] = {}
        self.rows_written = 0
        #: Seconds spent per table (where the load's time goes).
        self.seconds: dict[str, float] = {}

    def next_id(self, table: Table) -> int:
        return int(self.conn.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1

    def _column_processors(self, table: Table, columns: Sequence[str]) -> list[Processor]:
        key = (table.name, tuple(columns))
        if key not in self._processors:
            procs: list[Processor] = []
            for name in columns:
                type_ = table.c[name].type
                if isinstance(type_, JSON):
                    procs.append(_dumps)
                elif self.sqlite and isinstance(type_, UTCDateTime):
                    procs.append(_sqlite_datetime)
                elif self.sqlite and isinstance(type_, Date):
                    procs.append(_sqlite_date)
                elif self.sqlite:
                    procs.append(type_.bind_processor(self.dialect))
                else:
                    procs.append(None)  # psycopg adapts dates and aware datetimes itself
            self._processors[key] = procs
        return self._processors[key]

    def insert(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        started = time.perf_counter()
        procs = [(i, p) for i, p in enumerate(self._column_processors(table, columns)) if p]
        converted = rows if not procs else (_convert(row, procs) for row in rows)
        raw = self.conn.connection.driver_connection
        assert raw is not None
        names = ", ".join(columns)
        count = 0
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            batch: list[Sequence[Any]] = []
            cursor = raw.cursor()
            sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
            for row in converted:
                batch.append(row)
                if len(batch) >= 50_000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
            cursor.close()
        else:
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as cp,
            ):
                for row in converted:
                    cp.write_row(row)
                    count += 1
        self.rows_written += count
        spent = time.perf_counter() - started
        self.seconds[table.name] = self.seconds.get(table.name, 0.0) + spent

    def fix_sequences(self, tables: Iterable[Table]) -> None:
        """PostgreSQL: move each identity sequence past the ids we chose."""
        if self.sqlite:
            return
        for table in tables:
            self.conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
                )
            )


class IndexesPaused:
    """Drop the secondary indexes (and SQLite's FTS triggers) of the bulk tables while they
    load, and build them again in one sorted pass at the end: with its indexes in place, a
    timeline insert costs four B-tree updates at random places; without, one append.
    Unique indexes stay (they are constraints). The definitions are read from the database,
    so what comes back is exactly what the migrations made."""

    def __init__(self, conn: Connection, tables: Iterable[str]) -> None:
        self.conn = conn
        self.tables = list(tables)
        self.sqlite = conn.dialect.name == "sqlite"
        self.recreate: list[str] = []

    def _definitions(self) -> list[tuple[str, str]]:
        if self.sqlite:
            sql = (
                "SELECT name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
                "AND tbl_name IN :tables AND sql IS NOT NULL AND sql NOT LIKE :unique"
            )
        else:
            sql = (
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename IN :tables AND indexdef NOT LIKE :unique"
            )
        stmt = text(sql).bindparams(bindparam("tables", expanding=True))
        rows = self.conn.execute(stmt, {"tables": self.tables, "unique": "CREATE UNIQUE%"})
        return [(str(n), str(d)) for n, d in rows.all()]

    def __enter__(self) -> IndexesPaused:
        for name, definition in self._definitions():
            kind = "TRIGGER" if definition.upper().startswith("CREATE TRIGGER") else "INDEX"
            self.conn.exec_driver_sql(f"DROP {kind} {name}")
            self.recreate.append(definition)
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            return
        if self.sqlite and "search_documents" in self.tables:
            self.conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
        for definition in self.recreate:
            self.conn.exec_driver_sql(definition)
