"""Checks about the members of a workspace that many features share.

One rule, one piece of code: a user id given as an owner, assignee or promiser must belong to a
member of the workspace. Services that collect every field's errors before refusing use
``check_member``; those that refuse at the first problem use ``require_member``. Both name the
field and the rule (``member``).
"""

from __future__ import annotations

from tenure.db.repositories.access import MembershipRepository
from tenure.domain.errors import FieldError, InvalidInput
from tenure.services.context import Ctx

#: What the error says unless a caller words it for its own context.
NOT_A_MEMBER = "is not a member of this workspace"


def is_member(ctx: Ctx, user_id: int) -> bool:
    return bool(MembershipRepository(ctx.session, ctx.workspace_id).user_ids([user_id]))


def check_member(
    ctx: Ctx,
    user_id: int | None,
    errors: list[FieldError],
    field: str = "assignee_id",
    message: str = NOT_A_MEMBER,
) -> None:
    """Adds an error when ``user_id`` is set and is not a member of the workspace."""
    if user_id is not None and not is_member(ctx, user_id):
        errors.append(FieldError(field, "member", message))


def require_member(ctx: Ctx, user_id: int | None, field: str, message: str = NOT_A_MEMBER) -> None:
    """Refuses (InvalidInput) when ``user_id`` is set and is not a member of the workspace."""
    errors: list[FieldError] = []
    check_member(ctx, user_id, errors, field, message)
    if errors:
        raise InvalidInput(errors)
