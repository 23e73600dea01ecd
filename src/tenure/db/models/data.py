"""Data in and out: imports with their progress, external ids, and the search documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tenure.db.base import Base, WorkspaceScoped, ref, user_ref
from tenure.db.types import BigId, JSONType


class ImportJob(WorkspaceScoped, Base):
    """One import of a file: its mapping, options, progress cursor and report.

    Rows are committed in batches together with ``rows_done`` (the progress cursor), so a
    crash leaves no partial batch and running the import again resumes after the last batch.
    """

    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_ws_id", "workspace_id", "id"),)

    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(300), default="")
    #: pending | running | done | failed
    status: Mapped[str] = mapped_column(String(20), default="pending")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    preset: Mapped[str | None] = mapped_column(String(40))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    encoding: Mapped[str | None] = mapped_column(String(40))
    delimiter: Mapped[str | None] = mapped_column(String(4))
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    #: Per-row problems, capped: [{row, column, value, rule, message}]
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = user_ref()
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class ImportFile(WorkspaceScoped, Base):
    """The uploaded bytes of an import (API uploads; the CLI reads its file from disk)."""

    __tablename__ = "import_files"

    import_id: Mapped[int] = ref("imports")
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ExternalId(WorkspaceScoped, Base):
    """A contact's id in another system (HubSpot record id, Salesforce id …), for dedupe."""

    __tablename__ = "contact_external_ids"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source", "external_id"),
        Index("ix_external_ids_contact", "contact_id"),
    )

    contact_id: Mapped[int] = ref("contacts")
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))


class SearchDocument(WorkspaceScoped, Base):
    """One searchable thing (a contact, an interaction, a knowledge entry, a note, a case).

    The full-text index over it is database-specific and created by the migration, outside
    the models: an FTS5 table ``search_fts`` (external content, kept by triggers) on SQLite,
    a generated ``tsv`` tsvector column with a GIN index, plus pg_trgm, on PostgreSQL.
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "ref_id"),
        Index("ix_search_documents_contact", "contact_id"),
    )

    kind: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[int] = mapped_column(BigId)
    contact_id: Mapped[int | None] = ref("contacts")
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]


class ContactMatchKey(WorkspaceScoped, Base):
    """A blocking key of a contact for duplicate detection (``domain.duplicates.match_keys``):
    contacts that share a key are compared, no others. Keys are hashes, never readable data.
    Kept current on write together with the contact's search document."""

    __tablename__ = "contact_match_keys"
    __table_args__ = (
        Index("ix_contact_match_keys_ws_key", "workspace_id", "key", "contact_id"),
        Index("ix_contact_match_keys_contact", "contact_id"),
    )

    contact_id: Mapped[int] = ref("contacts")
    key: Mapped[str] = mapped_column(String(40))
