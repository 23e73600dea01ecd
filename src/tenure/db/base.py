"""The declarative base and the naming convention that keeps migrations stable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tenure.clock import utcnow
from tenure.db.types import BigId, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


class WorkspaceScoped(IdMixin):
    """Every tenant row: its workspace is part of every query (see ``repositories.base``)."""

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def user_ref() -> Any:
    """A nullable reference to a user that outlives the user (history keeps the row)."""
    return mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


def ref(table: str, *, ondelete: str = "CASCADE") -> Any:
    """A reference to another workspace row (``contacts``, ``agreements`` …)."""
    return mapped_column(BigId, ForeignKey(f"{table}.id", ondelete=ondelete))
