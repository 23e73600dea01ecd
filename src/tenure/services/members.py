"""Checks about the members of a workspace that many features share."""

from __future__ import annotations

from tenure.db.repositories.access import MembershipRepository
from tenure.domain.errors import FieldError
from tenure.services.context import Ctx


def check_member(
    ctx: Ctx, user_id: int | None, errors: list[FieldError], field: str = "assignee_id"
) -> None:
    """Adds an error when ``user_id`` is set and is not a member of the workspace."""
    if user_id is None:
        return
    if not MembershipRepository(ctx.session, ctx.workspace_id).user_ids([user_id]):
        errors.append(FieldError(field, "member", "is not a member of this workspace"))
