"""Bulk loading for the generator: rows as tuples straight to the driver, ids chosen by us.

SQLAlchemy's ``insert()`` executemany builds a parameter dict per row and runs every value
through its type processors; at ten million timeline events that is most of the time. Here the
generator hands rows already in the driver's form (``Stamps`` turns epoch seconds into the very
text SQLAlchemy would store, JSON arrives serialized) to ``sqlite3``'s ``executemany`` or to
PostgreSQL's ``COPY`` (psycopg ``cursor.copy``), which is several times faster than any INSERT.
Columns that hold one value for every row (the workspace, empty notes, version 1) are not sent
per row: SQLite gets them as literals in the statement, COPY appended to each row. Ids are
assigned by the generator (``next_id``), so children can point at parents without reading them
back; PostgreSQL's sequences are moved past them afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, text

DAY_SECONDS = 86_400
_EPOCH = date(1970, 1, 1)
#: Rows per ``executemany``: large enough that the per-call cost vanishes.
SQLITE_BATCH = 100_000


class Stamps:
    """Epoch seconds to the text a database keeps for a UTC timestamp, by table lookup.

    SQLite: SQLAlchemy's own storage format (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC, naive), so
    the ORM reads generated rows exactly as rows it wrote; PostgreSQL: ISO text with an explicit
    ``+00`` offset, which ``COPY`` parses whatever the session's time zone. The generator's
    moments are whole seconds; a day string plus a time-of-day string is one concatenation
    instead of a ``datetime`` and an ``isoformat`` per value (ten million events carry two)."""

    def __init__(self, sqlite: bool, first: date, last: date) -> None:
        self.base = (first - _EPOCH).days
        self.days = [f"{first + timedelta(days=d)} " for d in range((last - first).days + 1)]
        suffix = ".000000" if sqlite else "+00"
        self.clock = [
            f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(DAY_SECONDS)
        ]
        self.sqlite = sqlite

    def at(self, ts: int) -> str:
        day, second = divmod(ts, DAY_SECONDS)
        i = day - self.base
        if 0 <= i < len(self.days):
            return self.days[i] + self.clock[second]
        moment = datetime.fromtimestamp(ts, UTC)  # outside the table: rare, same text
        return f"{moment.date()} {self.clock[second]}"

    def maybe(self, ts: int | None) -> str | None:
        return None if ts is None else self.at(ts)

    @staticmethod
    def day(value: date | None) -> str | None:
        return None if value is None else value.isoformat()


def epoch(moment: datetime) -> int:
    """Whole epoch seconds of an aware datetime."""
    return int(moment.timestamp())


def _literal(value: Any) -> str:
    """A constant column's value as SQL text (the few kinds the generator fixes)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for a fixed {type(value).__name__} value")


class Loader:
    """Fast inserts into the real tables on one connection (inside its transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.rows_written = 0
        #: Seconds spent per table (where the load's time goes).
        self.seconds: dict[str, float] = {}

    def next_id(self, table: Table) -> int:
        return int(self.conn.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1

    def insert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        fixed: dict[str, Any] | None = None,
    ) -> None:
        """``rows`` hold ``columns`` in the driver's form; ``fixed`` columns get one value for
        every row."""
        started = time.perf_counter()
        fixed = fixed or {}
        raw = self.conn.connection.driver_connection
        assert raw is not None
        names = ", ".join((*columns, *fixed))
        count = 0
        if self.sqlite:
            values = ", ".join(["?"] * len(columns) + [_literal(v) for v in fixed.values()])
            sql = f"INSERT INTO {table.name} ({names}) VALUES ({values})"
            cursor = raw.cursor()
            batch = rows if isinstance(rows, list) else list(rows)
            for start in range(0, len(batch), SQLITE_BATCH):
                part = batch[start : start + SQLITE_BATCH]
                cursor.executemany(sql, part)
                count += len(part)
            cursor.close()
        else:
            tail = tuple(fixed.values())
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as cp,
            ):
                write = cp.write_row
                for row in rows:
                    write((*row, *tail) if tail else row)
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
    timeline insert costs four B-tree updates at random places (~40 % more work in all,
    measured); without, one append. The full-text index is rebuilt in one statement: fed by
    its trigger instead, FTS5 writes a segment per ``executemany`` row (its pending terms are
    flushed at every statement), five times the work. Unique indexes stay (they are
    constraints). The definitions are read from the database, so what comes back is exactly
    what the migrations made."""

    def __init__(self, conn: Connection, tables: Iterable[str]) -> None:
        self.conn = conn
        self.tables = list(tables)
        self.sqlite = conn.dialect.name == "sqlite"
        self.recreate: list[str] = []
        #: Seconds spent rebuilding, per index (``search_fts``: the full-text rebuild).
        self.seconds: dict[str, float] = {}

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
            self._timed("search_fts", "INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
        for definition in self.recreate:
            self._timed(definition.split()[2], definition)

    def _timed(self, name: str, sql: str) -> None:
        started = time.perf_counter()
        self.conn.exec_driver_sql(sql)
        self.seconds[name] = round(time.perf_counter() - started, 2)
