"""Building keyset WHERE clauses for (sort column, id) orders in either direction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_


@dataclass(frozen=True)
class KeysetOrder:
    column: Any
    id_column: Any
    descending: bool = False

    def apply(self, stmt: Select[Any], after: list[Any] | None, limit: int) -> Select[Any]:
        if after is not None:
            stmt = stmt.where(self._after(after[0], after[1]))
        if self.descending:
            stmt = stmt.order_by(self.column.desc(), self.id_column.desc())
        else:
            stmt = stmt.order_by(self.column.asc(), self.id_column.asc())
        # One extra row tells whether a next page exists without a COUNT.
        return stmt.limit(limit + 1)

    def _after(self, value: Any, id_: Any) -> ColumnElement[bool]:
        # Spelled out instead of a row-value comparison so both planners use the index. The
        # leading bound (``column >= value``) is implied by the OR, but SQLite only seeks the
        # index to the cursor with it: without it, a page deep in a list walked every index
        # entry before the cursor (size M, 3/4 into 40k clients: 7.5 ms against 3.7 for the
        # first page, EXPLAIN QUERY PLAN showed no range on the sort column).
        if self.descending:
            return and_(
                self.column <= value,
                or_(self.column < value, and_(self.column == value, self.id_column < id_)),
            )
        return and_(
            self.column >= value,
            or_(self.column > value, and_(self.column == value, self.id_column > id_)),
        )
