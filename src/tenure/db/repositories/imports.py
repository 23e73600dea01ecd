"""Imports, their uploaded files, and the lookups an import makes per batch (one query each)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Dialect, func, insert, select, text
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
    """Multi-row INSERTs for the rows an import creates (one statement per table per batch).

    Only for new rows: what the services would insert one by one, in bulk. The caller
    (``services.imports.bulk``) builds the same values the services build."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def insert(self, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            names = tuple(rows[0])
            self.insert_values(model, names, [tuple(r[n] for n in names) for r in rows])

    def insert_values(
        self, model: type[Any], names: tuple[str, ...], values: Sequence[tuple[Any, ...]]
    ) -> None:
        """Rows given as tuples of the ``names`` columns (the workspace is added)."""
        if not values:
            return
        ws = self.workspace_id
        conn = self.session.connection()
        columns = ("workspace_id", *names)
        plan = _driver_plan(model.__table__, columns, conn.dialect)
        if plan is None:
            # Core, not the ORM's bulk path: these rows have no objects to keep in step.
            rows = [{"workspace_id": ws, **dict(zip(names, v, strict=True))} for v in values]
            conn.execute(insert(model.__table__), rows)
            return
        # SQLite: one prepared statement for the batch (``executemany``), the values converted
        # by the bind processors SQLAlchemy would apply; Core's per-row parameter handling
        # was most of an import's database time.
        sql, processors = plan
        if processors:
            lists = [[ws, *v] for v in values]
            for i, process in processors:
                # Many rows share one value object (the batch's time, an event's data):
                # converted once.
                last: Any = None
                converted: Any = None
                for row in lists:
                    value = row[i]
                    if value is None:
                        continue
                    if value is not last:
                        last, converted = value, process(value)
                    row[i] = converted
            params = [tuple(row) for row in lists]
        else:
            params = [(ws, *v) for v in values]
        conn.exec_driver_sql(sql, params)

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

    def insert_returning_ids(self, model: type[Any], rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert with ids taken first (``allocate_ids``); the ids, in the order of ``rows``."""
        if not rows:
            return []
        ids = self.allocate_ids(model, len(rows))
        self.insert(model, [{**r, "id": i} for r, i in zip(rows, ids, strict=True)])
        return ids

    def contacts(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        return self.insert_returning_ids(Contact, rows)

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

    def documents(self, rows: Sequence[dict[str, Any]]) -> None:
        self.insert(SearchDocument, rows)

    def match_keys(self, keys: Sequence[tuple[int, str]]) -> None:
        self.insert_values(ContactMatchKey, ("contact_id", "key"), keys)

    def events(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        return self.insert_returning_ids(TimelineEvent, rows)


Plan = tuple[str, list[tuple[int, Any]]]
_PLANS: dict[tuple[str, tuple[str, ...]], Plan | None] = {}


def _driver_plan(table: Any, columns: tuple[str, ...], dialect: Dialect) -> Plan | None:
    """The SQLite INSERT for these columns and each column's bind processor; None where the
    driver path does not apply (another database, or a column left to a Python-side default,
    which only Core fills in)."""
    if dialect.name != "sqlite":
        return None
    key = (table.name, columns)
    if key not in _PLANS:
        missing_default = any(
            c.default is not None and c.name not in columns for c in table.columns
        )
        if missing_default or any(name not in table.c for name in columns):
            _PLANS[key] = None
        else:
            found = [
                (i, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                for i, name in enumerate(columns)
            ]
            processors = [(i, p) for i, p in found if p is not None]
            names = ", ".join(dialect.identifier_preparer.quote(n) for n in columns)
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) VALUES ({marks})"  # noqa: S608, E501 - names from the model
            _PLANS[key] = (sql, processors)
    return _PLANS[key]
