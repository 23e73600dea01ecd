"""The repository base: the one place that scopes queries to a workspace.

A row of another workspace is indistinguishable from a missing row: both raise ``NotFound``.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from tenure.db.base import WorkspaceScoped
from tenure.domain.errors import NotFound

M = TypeVar("M", bound=WorkspaceScoped)

#: Ids are 64-bit; a larger number from a URL or a body names no row (and must not reach the
#: driver, which refuses to bind it).
MAX_ID = 2**63 - 1


def is_id(value: int) -> bool:
    return 1 <= value <= MAX_ID


#: ``find``'s statement per (model, for update), built on first use and then reused: building a
#: select and computing its cache key cost more Python than running it (workspace and id are
#: the bound parameters).
_FIND: dict[tuple[type[Any], bool], Select[Any]] = {}


def _find_statement(model: type[WorkspaceScoped], for_update: bool) -> Select[Any]:
    stmt = _FIND.get((model, for_update))
    if stmt is None:
        stmt = select(model).where(
            model.workspace_id == bindparam("workspace_id"), model.id == bindparam("id")
        )
        if for_update:
            stmt = stmt.with_for_update()
        _FIND[(model, for_update)] = stmt
    return stmt


class Repository(Generic[M]):
    model: type[M]
    #: The word used in "contact 12 not found".
    noun: str = "record"

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def select(self, *columns: Any) -> Select[Any]:
        """A SELECT of this model (or of the given columns) already scoped to the workspace."""
        stmt = select(*columns) if columns else select(self.model)
        return stmt.where(self.model.workspace_id == self.workspace_id)

    def find(self, id_: int, *, for_update: bool = False) -> M | None:
        if not is_id(id_):
            return None
        stmt = _find_statement(self.model, for_update)
        params = {"workspace_id": self.workspace_id, "id": id_}
        return self.session.scalars(stmt, params).one_or_none()

    def get(self, id_: int, *, for_update: bool = False) -> M:
        row = self.find(id_, for_update=for_update)
        if row is None:
            raise NotFound(f"{self.noun} {id_} not found", resource=self.noun, id=id_)
        return row

    def add(self, row: M) -> M:
        row.workspace_id = self.workspace_id
        self.session.add(row)
        return row
