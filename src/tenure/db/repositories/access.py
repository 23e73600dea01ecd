"""Workspaces, users, memberships and tokens.

Authentication has to look up a token before any workspace is known, so this module holds the
few queries that are not scoped by ``Repository``; each is still narrowed to one workspace as
soon as the token or slug names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tenure.db.models import ApiToken, Membership, User, Workspace
from tenure.db.repositories.base import Repository, is_id


@dataclass(frozen=True)
class TokenPrincipal:
    token: ApiToken
    user: User
    role: str
    workspace: Workspace


#: Built once: every API request runs it, and building and keying a four-table select costs
#: more than running it (the hash is the one bound parameter).
_PRINCIPAL = (
    select(ApiToken, User, Membership.role, Workspace)
    .join(User, User.id == ApiToken.user_id)
    .join(
        Membership,
        (Membership.workspace_id == ApiToken.workspace_id)
        & (Membership.user_id == ApiToken.user_id),
    )
    .join(Workspace, Workspace.id == ApiToken.workspace_id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


def principal_for_token_hash(session: Session, token_hash: str) -> TokenPrincipal | None:
    """One query: token, its user, the user's role in the token's workspace, the workspace."""
    row = session.execute(_PRINCIPAL, {"token_hash": token_hash}).one_or_none()
    if row is None:
        return None
    return TokenPrincipal(token=row[0], user=row[1], role=row[2], workspace=row[3])


def users_by_id(session: Session, ids: Sequence[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(set(ids)))).all()}


def workspace_by_slug(session: Session, slug: str) -> Workspace | None:
    return session.scalars(select(Workspace).where(Workspace.slug == slug)).one_or_none()


def all_workspaces(session: Session) -> Sequence[Workspace]:
    return session.scalars(select(Workspace).order_by(Workspace.id)).all()


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email)).one_or_none()


class MembershipRepository(Repository[Membership]):
    model = Membership
    noun = "member"

    def of_user(self, user_id: int) -> Membership | None:
        stmt = self.select().where(Membership.user_id == user_id)
        return self.session.scalars(stmt).one_or_none()

    def members(self) -> Sequence[tuple[Membership, User]]:
        stmt = (
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.workspace_id == self.workspace_id)
            .order_by(User.email)
        )
        return [(m, u) for m, u in self.session.execute(stmt).all()]

    def user_ids(self, ids: Sequence[int]) -> set[int]:
        ids = [i for i in ids if is_id(i)]
        if not ids:
            return set()
        stmt = self.select(Membership.user_id).where(Membership.user_id.in_(ids))
        return set(self.session.scalars(stmt).all())


class TokenRepository(Repository[ApiToken]):
    model = ApiToken
    noun = "token"

    def of_user(self, user_id: int) -> Sequence[ApiToken]:
        stmt = self.select().where(ApiToken.user_id == user_id).order_by(ApiToken.id)
        return self.session.scalars(stmt).all()

    def all(self) -> Sequence[ApiToken]:
        return self.session.scalars(self.select().order_by(ApiToken.id)).all()
