"""Whole-workspace queries: totals for a summary, and deleting a workspace with all its rows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, inspect, select
from sqlalchemy.orm import Session

from tenure.db.base import WorkspaceScoped
from tenure.db.models import (
    Agreement,
    Base,
    Contact,
    Interaction,
    Membership,
    TimelineEvent,
    Transition,
    User,
    Workspace,
)


@dataclass(frozen=True)
class WorkspaceTotals:
    contacts: int
    clients: int
    former_clients: int
    #: Moves from former client back to client.
    reactivations: int
    agreements: int
    interactions: int
    events: int


def totals(session: Session, workspace_id: int) -> WorkspaceTotals:
    """A handful of counts, one query each (a summary, not a list: fine to aggregate)."""

    def count(model: type[WorkspaceScoped], *where: ColumnElement[bool]) -> int:
        stmt = select(func.count(model.id)).where(model.workspace_id == workspace_id, *where)
        return int(session.scalar(stmt) or 0)

    return WorkspaceTotals(
        contacts=count(Contact),
        clients=count(Contact, Contact.stage == "client"),
        former_clients=count(Contact, Contact.stage == "former_client"),
        reactivations=count(
            Transition, Transition.from_stage == "former_client", Transition.to_stage == "client"
        ),
        agreements=count(Agreement),
        interactions=count(Interaction),
        events=count(TimelineEvent),
    )


def delete_workspace(session: Session, workspace_id: int) -> list[int]:
    """Delete the workspace and every row that carries its id, children before parents.

    Users are global: a member of the workspace is deleted only when no other workspace has
    them. Returns the ids of the users deleted. The rows go by bulk SQL statements, so the
    caller must not keep using ORM objects of this workspace afterwards.
    """
    member_ids = list(
        session.scalars(
            select(Membership.user_id).where(Membership.workspace_id == workspace_id)
        ).all()
    )
    session.flush()
    for table in reversed(Base.metadata.sorted_tables):
        if "workspace_id" in table.c:
            session.execute(delete(table).where(table.c.workspace_id == workspace_id))
    session.execute(delete(Workspace).where(Workspace.id == workspace_id))
    orphans: list[int] = []
    if member_ids:
        still_members = set(
            session.scalars(
                select(Membership.user_id).where(Membership.user_id.in_(member_ids))
            ).all()
        )
        orphans = sorted(uid for uid in member_ids if uid not in still_members)
    if orphans:
        session.execute(delete(User).where(User.id.in_(orphans)))
    _forget(session, workspace_id, set(orphans))
    return orphans


def _forget(session: Session, workspace_id: int, user_ids: set[int]) -> None:
    """Drop the deleted rows' objects from the session: their ids may be reused, and a stale
    object under a reused identity would clash with the new row."""
    for obj in list(session.identity_map.values()):
        state = inspect(obj)
        identity = state.identity[0] if state.identity else None
        if isinstance(obj, Workspace):
            gone = identity == workspace_id
        elif isinstance(obj, User):
            gone = identity in user_ids
        elif isinstance(obj, WorkspaceScoped):
            # An expired object may be of any workspace; detaching it costs nothing.
            gone = state.dict.get("workspace_id", workspace_id) == workspace_id
        else:
            gone = False
        if gone:
            session.expunge(obj)
