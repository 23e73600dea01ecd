"""Workspaces, users, memberships and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from tenure.clock import utcnow
from tenure.db.models import ApiToken, Membership, User, Workspace
from tenure.db.repositories import access as access_queries
from tenure.db.repositories.access import MembershipRepository, TokenPrincipal, TokenRepository
from tenure.domain.access import Permission, Role, can
from tenure.domain.contacts import is_valid_timezone, normalize_email
from tenure.domain.errors import DuplicateValue, FieldError, InvalidInput, NotAuthenticated
from tenure.services.context import Ctx

TOKEN_PREFIX = "tnr_"  # noqa: S105 - a public marker, not a secret
#: last_used_at is written at most this often, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)
SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:60].strip("-") or "workspace"


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def create_workspace(
    session: Session,
    *,
    name: str,
    owner_email: str,
    owner_password: str | None = None,
    owner_name: str = "",
    slug: str | None = None,
    timezone: str = "UTC",
) -> tuple[Workspace, User]:
    """A new workspace and its owner (an existing user with that email joins as owner)."""
    errors: list[FieldError] = []
    name = name.strip()
    if not name:
        errors.append(FieldError("name", "required", "a workspace needs a name"))
    slug = slug or slugify(name)
    if not SLUG_PATTERN.match(slug):
        errors.append(FieldError("slug", "slug", "lower-case letters, digits and dashes"))
    if not is_valid_timezone(timezone):
        errors.append(FieldError("timezone", "timezone", f"{timezone!r} is not an IANA time zone"))
    email, error = normalize_email(owner_email, "owner_email")
    if error:
        errors.append(error)
    if owner_password is not None and len(owner_password) < 8:
        errors.append(FieldError("password", "min-length", "at least 8 characters"))
    if errors:
        raise InvalidInput(errors)
    assert email is not None
    if access_queries.workspace_by_slug(session, slug) is not None:
        raise DuplicateValue(f"the slug {slug!r} is taken", field="slug")
    workspace = Workspace(name=name, slug=slug, timezone=timezone, created_at=utcnow())
    session.add(workspace)
    user = access_queries.user_by_email(session, email)
    if user is None:
        user = User(
            email=email,
            name=owner_name,
            created_at=utcnow(),
            password_hash=hash_password(owner_password) if owner_password else None,
        )
        session.add(user)
    elif owner_password:
        user.password_hash = hash_password(owner_password)
    session.flush()
    session.add(
        Membership(
            workspace_id=workspace.id, user_id=user.id, role=Role.OWNER.value, created_at=utcnow()
        )
    )
    session.flush()
    return workspace, user


def add_member(
    ctx: Ctx, *, email: str, role: Role, name: str = "", password: str | None = None
) -> tuple[Membership, User]:
    ctx.require(Permission.ADMIN)
    normalized, error = normalize_email(email, "email")
    if error:
        raise InvalidInput([error])
    assert normalized is not None
    if password is not None and len(password) < 8:
        raise InvalidInput.one("password", "min-length", "at least 8 characters")
    user = access_queries.user_by_email(ctx.session, normalized)
    if user is None:
        user = User(
            email=normalized,
            name=name,
            created_at=ctx.now,
            password_hash=hash_password(password) if password else None,
        )
        ctx.session.add(user)
        ctx.session.flush()
    members = MembershipRepository(ctx.session, ctx.workspace_id)
    if members.of_user(user.id) is not None:
        raise DuplicateValue(f"{normalized} is already a member", field="email")
    membership = members.add(Membership(user_id=user.id, role=role.value, created_at=ctx.now))
    ctx.session.flush()
    return membership, user


def list_members(ctx: Ctx) -> Sequence[tuple[Membership, User]]:
    ctx.require(Permission.READ)
    return MembershipRepository(ctx.session, ctx.workspace_id).members()


def create_token(session: Session, *, workspace_id: int, user_id: int, name: str = "") -> NewToken:
    """A random bearer token bound to one user in one workspace; only its hash is kept."""
    if MembershipRepository(session, workspace_id).of_user(user_id) is None:
        raise InvalidInput.one("email", "member", "that user is not a member of the workspace")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        workspace_id=workspace_id,
        user_id=user_id,
        name=name.strip(),
        token_hash=hash_token(secret),
        prefix=secret[:10],
        created_at=utcnow(),
    )
    session.add(token)
    session.flush()
    return NewToken(token, secret)


def revoke_token(ctx: Ctx, token_id: int) -> ApiToken:
    """Members revoke their own tokens; admins anyone's in the workspace."""
    ctx.require(Permission.READ)
    token = TokenRepository(ctx.session, ctx.workspace_id).get(token_id)
    if token.user_id != ctx.user_id:
        ctx.require(Permission.ADMIN)
    if token.revoked_at is None:
        token.revoked_at = ctx.now
        ctx.session.flush()
    return token


def list_tokens(ctx: Ctx) -> Sequence[ApiToken]:
    """A member sees their own tokens; admins (and the CLI operator) see all."""
    ctx.require(Permission.READ)
    repo = TokenRepository(ctx.session, ctx.workspace_id)
    if ctx.user_id is None or can(ctx.role, Permission.ADMIN):
        return repo.all()
    return repo.of_user(ctx.user_id)


def authenticate_token(session: Session, secret: str) -> TokenPrincipal:
    if not secret.startswith(TOKEN_PREFIX):
        raise NotAuthenticated("not a Tenure API token")
    principal = access_queries.principal_for_token_hash(session, hash_token(secret))
    if principal is None:
        raise NotAuthenticated("unknown or revoked token")
    now = utcnow()
    last = principal.token.last_used_at
    if last is None or now - last > LAST_USED_RESOLUTION:
        principal.token.last_used_at = now
    return principal


def context_for(principal: TokenPrincipal, session: Session, *, source: str = "api") -> Ctx:
    return Ctx(
        session=session,
        workspace_id=principal.workspace.id,
        user_id=principal.user.id,
        role=Role(principal.role),
        source=source,
        workspace_timezone=principal.workspace.timezone,
    )


def resolve_workspace(session: Session, slug: str | None) -> Workspace:
    """The workspace a CLI command acts on: by slug, or the only one there is."""
    if slug:
        workspace = access_queries.workspace_by_slug(session, slug)
        if workspace is None:
            raise InvalidInput.one("workspace", "exists", f"no workspace with slug {slug!r}")
        return workspace
    workspaces = access_queries.all_workspaces(session)
    if len(workspaces) == 1:
        return workspaces[0]
    if not workspaces:
        raise InvalidInput.one("workspace", "exists", "there is no workspace yet")
    raise InvalidInput.one("workspace", "required", "several workspaces exist: give --workspace")


def user_in_workspace(session: Session, workspace: Workspace, email: str) -> tuple[User, Role]:
    normalized, _ = normalize_email(email, "email")
    user = access_queries.user_by_email(session, normalized or email.lower())
    membership = (
        MembershipRepository(session, workspace.id).of_user(user.id) if user is not None else None
    )
    if user is None or membership is None:
        raise InvalidInput.one("email", "member", f"{email} is not a member of {workspace.slug}")
    return user, Role(membership.role)
