"""The queries behind personal-data access and erasure (``services.privacy``).

Which tables hold a contact id is read from the models' foreign keys (``contact_references``),
so a table added later is found without anyone remembering to list it here; the erasure keeps
its own table of what to do with each (and refuses to run when a table has no rule). Jobs and
webhook deliveries hold contact ids inside their JSON payloads; they are found by the keys the
services write there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, delete, select, text, update
from sqlalchemy.orm import Session

from tenure.db.models import Contact, ImportFile, ImportJob, Job, WebhookDelivery
from tenure.db.repositories.merge import ContactReference

#: Bound parameters per IN list: far below every driver's limit.
CHUNK = 500


def chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


class PrivacyRepository:
    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _scoped(self, table: Table) -> list[ColumnElement[bool]]:
        return [table.c.workspace_id == self.workspace_id] if "workspace_id" in table.c else []

    # --- reading ------------------------------------------------------------------------------

    def pointer_ids(self, contact_id: int) -> list[int]:
        """The merged-away contacts whose pointer leads to this one."""
        stmt = select(Contact.id).where(
            Contact.workspace_id == self.workspace_id, Contact.merged_into_id == contact_id
        )
        return list(self.session.scalars(stmt.order_by(Contact.id)).all())

    def contacts(self, ids: Sequence[int]) -> list[Contact]:
        """Contacts by id, merged-away pointers included, locked for the erasure."""
        out: list[Contact] = []
        for part in chunks(ids):
            stmt = select(Contact).where(
                Contact.workspace_id == self.workspace_id, Contact.id.in_(part)
            )
            out.extend(self.session.scalars(stmt.order_by(Contact.id).with_for_update()).all())
        return out

    def rows(self, ref: ContactReference, contact_ids: Sequence[int]) -> list[dict[str, Any]]:
        """Every row of one table that points at these contacts, all columns, by id."""
        out: list[dict[str, Any]] = []
        for part in chunks(contact_ids):
            stmt = select(ref.table).where(ref.column.in_(part), *self._scoped(ref.table))
            out.extend(dict(r._mapping) for r in self.session.execute(stmt))
        return sorted(out, key=lambda r: r.get("id") or 0)

    def ids(self, ref: ContactReference, contact_ids: Sequence[int]) -> list[int]:
        out: list[int] = []
        for part in chunks(contact_ids):
            stmt = select(ref.table.c.id).where(ref.column.in_(part), *self._scoped(ref.table))
            out.extend(self.session.scalars(stmt).all())
        return sorted(out)

    def _json_in(self, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
        """A JSON value (a path into a payload) is one of ``ids``. SQLite's json_extract gives
        numbers back as numbers; PostgreSQL's ->> gives text, which is compared as text so
        that a non-numeric value elsewhere can never fail a cast."""
        if self.dialect == "postgresql":
            return column.as_string().in_([str(i) for i in ids])  # type: ignore[no-any-return]
        return column.as_integer().in_(list(ids))  # type: ignore[no-any-return]

    def jobs_mentioning(
        self, keys: Mapping[str, Sequence[int]], *, lock: bool = False
    ) -> list[Job]:
        """Jobs whose payload names one of the ids under the given key (``event_id`` …)."""
        found: dict[int, Job] = {}
        for key, ids in keys.items():
            for part in chunks(sorted(set(ids))):
                stmt = select(Job).where(
                    Job.workspace_id == self.workspace_id,
                    self._json_in(Job.payload[key], part),
                )
                if lock:
                    stmt = stmt.with_for_update()
                for job in self.session.scalars(stmt).all():
                    found[job.id] = job
        return [found[i] for i in sorted(found)]

    def webhook_deliveries_for(
        self, contact_ids: Sequence[int], event_ids: Sequence[int], *, lock: bool = False
    ) -> list[WebhookDelivery]:
        """Deliveries of the contacts' events, and messages whose payload names the contact
        (an event envelope's ``data.contact_id``, a rule's ``data.contact.id``)."""
        found: dict[int, WebhookDelivery] = {}
        payload = WebhookDelivery.payload
        conditions: list[ColumnElement[bool]] = []
        for part in chunks(sorted(set(contact_ids))):
            conditions.append(self._json_in(payload[("data", "contact_id")], part))
            conditions.append(self._json_in(payload[("data", "contact", "id")], part))
        for part in chunks(sorted(set(event_ids))):
            conditions.append(WebhookDelivery.event_id.in_(part))
        for condition in conditions:
            stmt = select(WebhookDelivery).where(
                WebhookDelivery.workspace_id == self.workspace_id, condition
            )
            if lock:
                stmt = stmt.with_for_update()
            for delivery in self.session.scalars(stmt).all():
                found[delivery.id] = delivery
        return [found[i] for i in sorted(found)]

    def finished_imports(self) -> list[ImportJob]:
        """Imports that are over (their uploaded file is no longer needed to resume them)."""
        stmt = select(ImportJob).where(
            ImportJob.workspace_id == self.workspace_id, ImportJob.status.in_(("done", "failed"))
        )
        return list(self.session.scalars(stmt.order_by(ImportJob.id)).all())

    def import_file_ids_containing(
        self, import_ids: Sequence[int], needles: Sequence[str]
    ) -> list[int]:
        """Uploaded files (of these imports) that contain one of the (lower-case) needles, read
        as UTF-8, one file at a time. A file in another encoding (UTF-16, a Windows code page)
        is compared by its ASCII letters only."""
        found: list[int] = []
        for part in chunks(import_ids):
            stmt = select(ImportFile.id).where(
                ImportFile.workspace_id == self.workspace_id, ImportFile.import_id.in_(part)
            )
            for file_id in self.session.scalars(stmt).all():
                content = self.session.scalar(
                    select(ImportFile.content).where(ImportFile.id == file_id)
                )
                lowered = bytes(content or b"").decode("utf-8", "ignore").lower()
                if any(n in lowered for n in needles):
                    found.append(file_id)
        return found

    def delete_import_files(self, file_ids: Sequence[int]) -> int:
        count = 0
        for part in chunks(file_ids):
            stmt = delete(ImportFile).where(
                ImportFile.workspace_id == self.workspace_id, ImportFile.id.in_(part)
            )
            count += int(self.session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
        return count

    # --- writing ------------------------------------------------------------------------------

    def redact(
        self,
        ref: ContactReference,
        contact_ids: Sequence[int],
        values: Mapping[str, Any],
        *,
        where: Sequence[ColumnElement[bool]] = (),
    ) -> int:
        """Overwrite columns of every row that points at the contacts. Versioned rows move to
        a new version, so a form opened before the erasure cannot write the old text back."""
        extra: dict[str, Any] = dict(values)
        if "version" in ref.table.c:
            extra["version"] = ref.table.c.version + 1
        count = 0
        for part in chunks(contact_ids):
            stmt = (
                update(ref.table)
                .where(ref.column.in_(part), *self._scoped(ref.table), *where)
                .values(extra)
                .execution_options(synchronize_session=False)
            )
            count += int(self.session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
        return count

    def delete(self, ref: ContactReference, contact_ids: Sequence[int]) -> int:
        count = 0
        for part in chunks(contact_ids):
            stmt = (
                delete(ref.table)
                .where(ref.column.in_(part), *self._scoped(ref.table))
                .execution_options(synchronize_session=False)
            )
            count += int(self.session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
        return count

    def secure_delete(self, on: bool) -> bool:
        """SQLite: overwrite deleted content with zeros instead of leaving it in free pages
        (for this connection). Answers the previous setting; PostgreSQL: nothing (False)."""
        if self.dialect != "sqlite":
            return False
        before = bool(self.session.execute(text("PRAGMA secure_delete")).scalar())
        self.session.execute(text(f"PRAGMA secure_delete = {1 if on else 0}"))
        return before


def checkpoint_wal(engine: Engine) -> None:
    """SQLite: move committed pages from the write-ahead log into the database and truncate
    the log, so an erasure's old page images do not linger there (a concurrent reader can
    hold it back; then the next checkpoint does it). PostgreSQL: nothing to do here.

    A checkpoint cannot run inside a transaction, so this uses the driver's connection in its
    autocommit mode (the engine sets pysqlite's ``isolation_level`` to None) and no session."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        raw.close()
