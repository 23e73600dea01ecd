"""Workspaces, users, memberships and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from tenure.clock import utcnow
from tenure.db.models import ApiToken, Membership, User, WebSession, Workspace
from tenure.db.repositories import access as access_queries
from tenure.db.repositories.access import MembershipRepository, TokenPrincipal, TokenRepository
from tenure.db.repositories.base import is_id
from tenure.db.uow import is_read_only, run_after_read
from tenure.domain.access import Permission, Role, can, check_grant, check_membership_change
from tenure.domain.contacts import is_valid_timezone, normalize_email
from tenure.domain.errors import (
    Conflict,
    DuplicateValue,
    FieldError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
)
from tenure.services import audit
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
    check_grant(ctx.role, role)
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
        audit.log(ctx, "token.revoked", token=token.id, user=token.user_id)
    return token


def issue_token(ctx: Ctx, *, name: str = "") -> NewToken:
    """A token for the member asking, acting with their role; its secret is shown once.
    Viewers use the app read-only and get none (the operator's CLI can still make one)."""
    ctx.require(Permission.WRITE)
    if ctx.user_id is None:
        raise InvalidInput.one("user_id", "required", "a token acts as a member")
    if len(name.strip()) > 200:
        raise InvalidInput.one("name", "max-length", "at most 200 characters")
    new = create_token(ctx.session, workspace_id=ctx.workspace_id, user_id=ctx.user_id, name=name)
    audit.log(ctx, "token.created", token=new.token.id, name=new.token.name)
    return new


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
        if is_read_only(session):
            # Written inside a read, it would upgrade the read to a write transaction, which
            # SQLite refuses ("database is locked") whenever another writer got there first.
            run_after_read(session, partial(_touch_token, principal.token.id, now))
        else:
            principal.token.last_used_at = now
    return principal


def _touch_token(token_id: int, now: datetime, session: Session) -> None:
    # Conditional, so that of the requests that saw the same stale time only the first writes.
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(
                ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at < now - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
    )


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


# --- managing members (the web's settings pages; the CLI adds members with add_member) -------

#: A one-time invite link lasts this long.
INVITE_DAYS = 7
INVITE_PREFIX = "inv_"
INVITES_KEY = "invites"


@dataclass(frozen=True)
class NewInvite:
    """A one-time link for a member to set a password: the token is shown once, kept hashed."""

    user: User
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class AddedMember:
    membership: Membership
    user: User
    #: Set when the user has no password yet: the link to send them.
    invite: NewInvite | None


@dataclass(frozen=True)
class InviteInfo:
    email: str
    name: str
    workspace_name: str
    workspace_slug: str
    expires_at: datetime


def _workspace_row(session: Session, workspace_id: int) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("workspace not found")
    return workspace


def _owners(members: Sequence[tuple[Membership, User]]) -> int:
    return sum(1 for m, _ in members if m.role == Role.OWNER.value)


def _member(ctx: Ctx, user_id: int) -> tuple[Membership, User, int]:
    """The membership of ``user_id`` (NotFound if none), its user, and how many owners exist."""
    members = MembershipRepository(ctx.session, ctx.workspace_id).members()
    for membership, user in members:
        if user.id == user_id:
            return membership, user, _owners(members)
    raise NotFound(f"member {user_id} not found", resource="member", id=user_id)


def invite_member(
    ctx: Ctx, *, email: str, role: Role, name: str = "", password: str | None = None
) -> AddedMember:
    """Add a member; one without a password (and none set before) gets a one-time invite link
    to set it. Granting the owner role takes an owner."""
    ctx.require(Permission.ADMIN)
    membership, user = add_member(
        ctx, email=email, role=role, name=name.strip(), password=password or None
    )
    invite = create_invite(ctx, user.id) if user.password_hash is None else None
    audit.log(ctx, "member.added", user=user.id, email=user.email, role=role.value)
    return AddedMember(membership, user, invite)


def change_role(ctx: Ctx, user_id: int, role: Role) -> Membership:
    ctx.require(Permission.ADMIN)
    membership, user, owners = _member(ctx, user_id)
    before = Role(membership.role)
    check_membership_change(ctx.role, before, role, owners=owners)
    if before is not role:
        membership.role = role.value
        ctx.session.flush()
        audit.log(
            ctx,
            "member.role_changed",
            user=user.id,
            email=user.email,
            before=before.value,
            after=role.value,
        )
    return membership


def remove_member(ctx: Ctx, user_id: int) -> None:
    """The member loses access at once: membership, API tokens and browser sessions here go."""
    ctx.require(Permission.ADMIN)
    membership, user, owners = _member(ctx, user_id)
    role = Role(membership.role)
    check_membership_change(ctx.role, role, None, owners=owners)
    for token in TokenRepository(ctx.session, ctx.workspace_id).of_user(user_id):
        if token.revoked_at is None:
            token.revoked_at = ctx.now
    ctx.session.execute(
        delete(WebSession).where(
            WebSession.workspace_id == ctx.workspace_id, WebSession.user_id == user_id
        )
    )
    _drop_invites(ctx, user_id)
    ctx.session.delete(membership)
    ctx.session.flush()
    audit.log(ctx, "member.removed", user=user.id, email=user.email, role=role.value)


def create_invite(ctx: Ctx, user_id: int) -> NewInvite:
    """A new one-time link for a member who has no password yet (an older link stops working)."""
    ctx.require(Permission.ADMIN)
    _, user, _ = _member(ctx, user_id)
    if user.password_hash is not None:
        raise Conflict(f"{user.email} already has a password: they can log in", field="user_id")
    token = f"{INVITE_PREFIX}{ctx.workspace_id}_{secrets.token_urlsafe(32)}"
    expires = ctx.now + timedelta(days=INVITE_DAYS)
    workspace = _workspace_row(ctx.session, ctx.workspace_id)
    invites = {
        h: v
        for h, v in _invites(workspace).items()
        if v.get("user_id") != user_id and _expiry(v) > ctx.now
    }
    invites[hash_token(token)] = {
        "user_id": user_id,
        "expires_at": expires.isoformat(),
        "created_by": ctx.user_id,
    }
    # A new dict, so the JSON column sees the change.
    workspace.settings = {**(workspace.settings or {}), INVITES_KEY: invites}
    ctx.session.flush()
    audit.log(ctx, "invite.created", user=user_id, email=user.email)
    return NewInvite(user, token, expires)


def pending_invites(ctx: Ctx) -> dict[int, datetime]:
    """Members with an invite link still valid, and when it expires (admins)."""
    ctx.require(Permission.ADMIN)
    workspace = _workspace_row(ctx.session, ctx.workspace_id)
    return {
        int(v["user_id"]): _expiry(v)
        for v in _invites(workspace).values()
        if _expiry(v) > ctx.now and "user_id" in v
    }


def invite_info(session: Session, token: str) -> InviteInfo:
    """What an invite link is for (NotFound when unknown, used or expired)."""
    workspace, _, entry, user = _open_invite(session, token)
    return InviteInfo(user.email, user.name, workspace.name, workspace.slug, _expiry(entry))


def accept_invite(session: Session, token: str, *, password: str) -> User:
    """Set the invited member's password; the link is used up."""
    workspace, token_hash, _, user = _open_invite(session, token)
    if len(password) < 8:
        raise InvalidInput.one("password", "min-length", "at least 8 characters")
    user.password_hash = hash_password(password)
    invites = {h: v for h, v in _invites(workspace).items() if h != token_hash}
    workspace.settings = {**(workspace.settings or {}), INVITES_KEY: invites}
    session.flush()
    audit.record(
        session,
        workspace_id=workspace.id,
        action="invite.accepted",
        source="ui",
        actor_id=user.id,
        details={"email": user.email},
    )
    return user


def _invites(workspace: Workspace) -> dict[str, dict[str, Any]]:
    stored = (workspace.settings or {}).get(INVITES_KEY)
    return dict(stored) if isinstance(stored, dict) else {}


def _expiry(entry: Mapping[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(entry.get("expires_at")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _drop_invites(ctx: Ctx, user_id: int) -> None:
    workspace = _workspace_row(ctx.session, ctx.workspace_id)
    invites = _invites(workspace)
    kept = {h: v for h, v in invites.items() if v.get("user_id") != user_id}
    if len(kept) != len(invites):
        workspace.settings = {**(workspace.settings or {}), INVITES_KEY: kept}


def _open_invite(session: Session, token: str) -> tuple[Workspace, str, dict[str, Any], User]:
    """The workspace, hash, entry and user of a valid invite; anything else is NotFound (an
    unknown, used, expired or tampered link all look the same)."""
    gone = NotFound("this invite link is not valid any more: ask for a new one")
    prefix, _, rest = token.partition(INVITE_PREFIX)
    workspace_part, _, _ = rest.partition("_")
    if prefix or not workspace_part.isdigit() or not is_id(int(workspace_part)):
        raise gone
    workspace = session.get(Workspace, int(workspace_part))
    if workspace is None:
        raise gone
    token_hash = hash_token(token)
    entry = _invites(workspace).get(token_hash)
    if entry is None or _expiry(entry) <= utcnow():
        raise gone
    user = session.get(User, int(entry.get("user_id", 0)))
    if (
        user is None
        or user.password_hash is not None
        or MembershipRepository(session, workspace.id).of_user(user.id) is None
    ):
        raise gone
    return workspace, token_hash, entry, user
