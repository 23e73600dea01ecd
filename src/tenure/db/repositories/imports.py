"""Imports, their uploaded files, and the lookups an import makes per batch (one query each)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text
from sqlalchemy.orm import Session

from tenure.db.models import (
    Affiliation,
    Contact,
    ContactEmail,
    ContactMatchKey,
    ContactPhone,
    ContactTag,
    ExternalId,
    ImportFile,
    ImportJob,
    SearchDocument,
    TimelineEvent,
)
from tenure.db.repositories.base import Repository

#: Statuses of an import that running it again resumes.
UNFINISHED = ("pending", "running", "failed")


class ImportRepository(Repository[ImportJob]):
    model = ImportJob
    noun = "import"

    def page(self, *, after: list[Any] | None, limit: int) -> Sequence[ImportJob]:
        """Newest first, keyset on id."""
        stmt = self.select()
        if after is not None:
            stmt = stmt.where(ImportJob.id < after[1])
        return self.session.scalars(stmt.order_by(ImportJob.id.desc()).limit(limit + 1)).all()

    def unfinished(self, kind: str, fingerprint: str) -> ImportJob | None:
        """The newest unfinished real (not dry) import of the same file with the same options."""
        stmt = (
            self.select()
            .where(
                ImportJob.kind == kind,
                ImportJob.dry_run.is_(False),
                ImportJob.status.in_(UNFINISHED),
            )
            .order_by(ImportJob.id.desc())
        )
        for job in self.session.scalars(stmt):
            if job.options.get("fingerprint") == fingerprint:
                found: ImportJob = job
                return found
        return None

    def content(self, import_id: int) -> bytes | None:
        stmt = select(ImportFile.content).where(
            ImportFile.workspace_id == self.workspace_id, ImportFile.import_id == import_id
        )
        return self.session.scalars(stmt).first()

    def add_file(self, import_id: int, content: bytes) -> None:
        self.session.add(
            ImportFile(workspace_id=self.workspace_id, import_id=import_id, content=content)
        )

    def pending_created_before(
        self, before: datetime, *, after_id: int, limit: int
    ) -> Sequence[ImportJob]:
        """Real imports still pending that were made before ``before``, by id after
        ``after_id``: up to ``limit`` + 1 (the extra one says more remain)."""
        stmt = (
            self.select()
            .where(
                ImportJob.id > after_id,
                ImportJob.status == "pending",
                ImportJob.dry_run.is_(False),
                ImportJob.created_at < before,
            )
            .order_by(ImportJob.id)
            .limit(limit + 1)
        )
        return self.session.scalars(stmt).all()

    def dry_runs_of(self, draft: ImportJob) -> list[ImportJob]:
        """The dry runs made from a draft (each a copy made after it, ``options["draft_of"]``)."""
        stmt = self.select().where(ImportJob.dry_run.is_(True), ImportJob.id > draft.id)
        return [j for j in self.session.scalars(stmt) if j.options.get("draft_of") == draft.id]

    def delete_with_files(self, import_ids: Sequence[int]) -> None:
        """Imports and their uploaded files."""
        if not import_ids:
            return
        ws = self.workspace_id
        self.session.execute(
            delete(ImportFile).where(
                ImportFile.workspace_id == ws, ImportFile.import_id.in_(import_ids)
            )
        )
        self.session.execute(
            delete(ImportJob).where(ImportJob.workspace_id == ws, ImportJob.id.in_(import_ids))
        )


class ImportLookups:
    """The batch lookups of an import: who already has these emails, numbers, external ids."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def by_email(self, emails: Iterable[str]) -> dict[str, int]:
        values = sorted(set(emails))
        if not values:
            return {}
        stmt = select(ContactEmail.email, ContactEmail.contact_id).where(
            ContactEmail.workspace_id == self.workspace_id, ContactEmail.email.in_(values)
        )
        return dict(self.session.execute(stmt).all())

    def by_phone(self, numbers: Iterable[str]) -> dict[str, int]:
        """Numbers are not unique: the oldest contact with the number answers."""
        values = sorted(set(numbers))
        if not values:
            return {}
        stmt = (
            select(ContactPhone.number, func.min(ContactPhone.contact_id))
            .join(Contact, Contact.id == ContactPhone.contact_id)
            .where(
                ContactPhone.workspace_id == self.workspace_id,
                ContactPhone.number.in_(values),
                Contact.merged_into_id.is_(None),
            )
            .group_by(ContactPhone.number)
        )
        return dict(self.session.execute(stmt).all())

    def by_external_id(self, source: str, ids: Iterable[str]) -> dict[str, int]:
        values = sorted(set(ids))
        if not values:
            return {}
        stmt = select(ExternalId.external_id, ExternalId.contact_id).where(
            ExternalId.workspace_id == self.workspace_id,
            ExternalId.source == source,
            ExternalId.external_id.in_(values),
        )
        return dict(self.session.execute(stmt).all())

    def organizations_named(self, names: Iterable[str]) -> dict[str, int]:
        """Organizations by lower-cased name (the oldest one of a name)."""
        keys = sorted({n.lower()[:300] for n in names})
        if not keys:
            return {}
        stmt = (
            select(Contact.sort_name, func.min(Contact.id))
            .where(
                Contact.workspace_id == self.workspace_id,
                Contact.kind == "organization",
                Contact.sort_name.in_(keys),
                Contact.merged_into_id.is_(None),
                Contact.erased_at.is_(None),
            )
            .group_by(Contact.sort_name)
        )
        return dict(self.session.execute(stmt).all())

    def contacts(self, ids: Iterable[int]) -> dict[int, Contact]:
        values = sorted(set(ids))
        if not values:
            return {}
        stmt = select(Contact).where(
            Contact.workspace_id == self.workspace_id, Contact.id.in_(values)
        )
        return {c.id: c for c in self.session.scalars(stmt)}

    def add_external_ids(self, rows: Sequence[tuple[int, str, str]]) -> None:
        self.session.add_all(
            [
                ExternalId(
                    workspace_id=self.workspace_id,
                    contact_id=contact_id,
                    source=source,
                    external_id=external_id,
                )
                for contact_id, source, external_id in rows
            ]
        )


#: SQLite page cache of an import's connection while it writes (KiB; 2 MiB by default): a
#: batch dirties index and full-text pages all over the file, and with the default cache they
#: spill to the WAL mid-transaction and are written again and again.
IMPORT_CACHE_KIB = 65536


def widen_page_cache(session: Session) -> int | None:
    """Give the session's SQLite connection the import's page cache; the setting it had (to
    give back with ``restore_page_cache``), or None on PostgreSQL."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return None
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
    return int(before) if before is not None else None


def restore_page_cache(session: Session, setting: int | None) -> None:
    if setting is not None:
        session.connection().exec_driver_sql(f"PRAGMA cache_size = {int(setting)}")


class ImportWriter:
    """Bulk INSERTs for the rows an import creates (a statement or a few per table per batch).

    Only for new rows: what the services would insert one by one, in bulk. The caller
    (``services.imports.bulk``) builds the same values the services build, as tuples in the
    order of the column names it gives."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def insert_values(
        self,
        model: type[Any],
        names: tuple[str, ...],
        values: Sequence[tuple[Any, ...]],
        *,
        ids: Sequence[int] | None = None,
    ) -> None:
        """Rows given as tuples of the ``names`` columns (the workspace is added, and the ids
        when given)."""
        if not values:
            return
        conn = self.session.connection()
        head = ("workspace_id", "id") if ids is not None else ("workspace_id",)
        columns = (*head, *names)
        # Column by column: the workspace, the ids, then each named column.
        by_column: list[Sequence[Any]] = [[self.workspace_id] * len(values)]
        if ids is not None:
            by_column.append(ids)
        by_column += list(zip(*values, strict=True))
        plan = _driver_plan(model.__table__, columns, conn)
        if plan is None:
            # Core, not the ORM's bulk path: these rows have no objects to keep in step.
            conn.execute(
                insert(model.__table__),
                [dict(zip(columns, row, strict=True)) for row in zip(*by_column, strict=True)],
            )
            return
        # Straight to the driver, the values converted by the bind processors SQLAlchemy would
        # apply: Core's per-row parameter handling was most of an import's client time.
        for i, process in plan.processors:
            by_column[i] = _converted(by_column[i], process)
        params = list(zip(*by_column, strict=True))
        if plan.copy:
            _copy(conn, plan.sql, params)
        else:
            _execute(conn, plan, params)

    def allocate_ids(self, model: type[Any], count: int) -> list[int]:
        """``count`` new ids for ``model``'s table, in order.

        Multi-row INSERT … RETURNING does not promise the order of its rows on SQLite (and
        SQLAlchemy then falls back to one INSERT per row), so the ids are taken first: from
        the sequence on PostgreSQL (safe with concurrent writers), after the largest id on
        SQLite (safe: the import's transaction holds the database's single write lock)."""
        table = model.__table__
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = text(
                "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
            )
            rows = self.session.execute(stmt, {"table": table.name, "n": count}).all()
            return [int(r[0]) for r in rows]
        top = self.session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
        return list(range(int(top) + 1, int(top) + 1 + count))

    def insert_with_ids(
        self, model: type[Any], names: tuple[str, ...], values: Sequence[tuple[Any, ...]]
    ) -> list[int]:
        """Insert with ids taken first (``allocate_ids``); the ids, in the order of ``values``."""
        if not values:
            return []
        ids = self.allocate_ids(model, len(values))
        self.insert_values(model, names, values, ids=ids)
        return ids

    def contacts(self, names: tuple[str, ...], values: Sequence[tuple[Any, ...]]) -> list[int]:
        return self.insert_with_ids(Contact, names, values)

    def lookups(
        self,
        emails: Sequence[tuple[int, str]],
        phones: Sequence[tuple[int, str]],
        tags: Sequence[tuple[int, str]],
    ) -> None:
        self.insert_values(ContactEmail, ("contact_id", "email"), emails)
        self.insert_values(ContactPhone, ("contact_id", "number"), phones)
        self.insert_values(ContactTag, ("contact_id", "tag"), tags)

    def affiliations(self, links: Sequence[tuple[int, int, str]]) -> None:
        self.insert_values(Affiliation, ("person_id", "organization_id", "title"), links)

    def documents(self, names: tuple[str, ...], values: Sequence[tuple[Any, ...]]) -> None:
        self.insert_values(SearchDocument, names, values)

    def match_keys(self, keys: Sequence[tuple[int, str]]) -> None:
        self.insert_values(ContactMatchKey, ("contact_id", "key"), keys)

    def events(self, names: tuple[str, ...], values: Sequence[tuple[Any, ...]]) -> list[int]:
        return self.insert_with_ids(TimelineEvent, names, values)


def _copy(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: the rows through COPY on the connection's psycopg connection (the same
    transaction and savepoint as the rest of the batch)."""
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _execute(conn: Connection, plan: Plan, rows: list[tuple[Any, ...]]) -> None:
    """SQLite: one prepared statement per row (``executemany``), or multi-row INSERTs."""
    per = plan.rows_per_statement
    if per == 1:
        conn.exec_driver_sql(plan.sql, rows)
        return
    full = plan.multi_row_sql(per)
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        sql = full if len(chunk) == per else plan.multi_row_sql(len(chunk))
        conn.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))


def _converted(column: Sequence[Any], process: Any) -> list[Any]:
    """A column's values through a bind processor. Many rows share one value object (the
    batch's time, an event's data, an empty list): each is converted once."""
    out: list[Any] = []
    last: Any = None
    converted: Any = None
    for value in column:
        if value is not None and value is not last:
            last, converted = value, process(value)
        out.append(None if value is None else converted)
    return out


#: Tables written with multi-row INSERTs on SQLite instead of one statement per row: the
#: AFTER INSERT trigger of ``search_documents`` feeds the FTS5 index, and FTS5 writes out its
#: pending terms as a new segment at every statement's savepoint, so one statement per row
#: (``executemany``) made one segment per document, merged again and again. One statement for
#: many rows makes one segment for all of them: on 2,000 documents, 0.075 s instead of 0.15 s
#: (bench/IMPORT.md). The other tables are as fast or faster with ``executemany``.
MULTI_ROW_TABLES = frozenset({"search_documents"})
#: Rows per multi-row INSERT: past about fifty rows the gain is flat; also bounded by the
#: connection's limit on bound parameters (999 on old SQLite builds).
MULTI_ROWS = 200


@dataclass(frozen=True)
class Plan:
    """How ``ImportWriter`` hands a table's rows to the driver."""

    #: SQLite: the INSERT of one row; PostgreSQL: the COPY.
    sql: str
    #: (position, bind processor) of the columns SQLAlchemy converts.
    processors: list[tuple[int, Any]]
    #: SQLite's rows per statement (1: ``executemany``).
    rows_per_statement: int = 1
    copy: bool = False

    def multi_row_sql(self, rows: int) -> str:
        head, values = self.sql.split(" VALUES ", 1)
        return f"{head} VALUES {', '.join([values] * rows)}"


_PLANS: dict[tuple[str, str, tuple[str, ...]], Plan | None] = {}


def _driver_plan(table: Any, columns: tuple[str, ...], conn: Connection) -> Plan | None:
    """The statement for these columns and each column's bind processor; None where the
    driver path does not apply (another driver than sqlite3 or psycopg, or a column left to a
    Python-side default, which only Core fills in)."""
    dialect = conn.dialect
    key = (dialect.name, table.name, columns)
    if key not in _PLANS:
        _PLANS[key] = _make_plan(table, columns, conn)
    return _PLANS[key]


def _make_plan(table: Any, columns: tuple[str, ...], conn: Connection) -> Plan | None:
    dialect = conn.dialect
    missing_default = any(c.default is not None and c.name not in columns for c in table.columns)
    if missing_default or any(name not in table.c for name in columns):
        return None
    if (dialect.name, dialect.driver) not in (("sqlite", "pysqlite"), ("postgresql", "psycopg")):
        return None
    found = [
        (i, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        for i, name in enumerate(columns)
    ]
    processors = [(i, p) for i, p in found if p is not None]
    quote = dialect.identifier_preparer
    names = ", ".join(quote.quote(n) for n in columns)
    if dialect.name == "postgresql":
        # COPY: the rows stream in one statement, parsed by the server without a plan per row,
        # and the client sends them from C (psycopg) instead of Core's per-row parameters.
        return Plan(f"COPY {quote.format_table(table)} ({names}) FROM STDIN", processors, copy=True)
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {quote.format_table(table)} ({names}) VALUES ({marks})"  # noqa: S608 - names from the model
    per = 1
    if table.name in MULTI_ROW_TABLES:
        per = max(1, min(MULTI_ROWS, _parameter_limit(conn) // len(columns)))
    return Plan(sql, processors, per)


def _parameter_limit(conn: Connection) -> int:
    raw = conn.connection.driver_connection
    if isinstance(raw, sqlite3.Connection):
        return int(raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    return 999
