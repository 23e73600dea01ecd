"""Browser sessions: password login, server-side sessions, CSRF tokens, logout."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tenure.clock import utcnow
from tenure.db.models import Membership, User, WebSession, Workspace
from tenure.db.repositories.access import user_by_email
from tenure.domain.access import Role
from tenure.domain.errors import NotAuthenticated
from tenure.services import audit
from tenure.services.access import hash_password, verify_password
from tenure.services.context import Ctx

SESSION_DAYS = 14
#: last_seen_at is written at most this often.
SEEN_RESOLUTION = timedelta(minutes=5)
#: Verified against when the email is unknown, so both paths take the same time.
_DUMMY_HASH = hash_password("not-a-real-password")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    token: str
    session: WebSession


@dataclass(frozen=True)
class WebPrincipal:
    session: WebSession
    user: User
    role: Role
    workspace: Workspace


def login(
    db: Session,
    *,
    email: str,
    password: str,
    workspace_slug: str | None = None,
    ip: str = "",
    user_agent: str = "",
) -> NewSession:
    """Check the password and open a session in the user's (chosen or first) workspace.

    Failures say only "wrong email or password" and are audited where the workspace is known.
    """
    user = user_by_email(db, email.strip().lower())
    valid = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    memberships = _memberships(db, user.id) if user is not None else []
    if workspace_slug:
        memberships = [m for m in memberships if m[1].slug == workspace_slug]
    if user is None or not valid or not memberships:
        for _, workspace in memberships[:1]:
            audit.record(
                db,
                workspace_id=workspace.id,
                action="login.failed",
                source="ui",
                actor_id=user.id if user else None,
                ip=ip,
                details={"email": email},
            )
        raise NotAuthenticated("wrong email or password")
    _, workspace = memberships[0]
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        workspace_id=workspace.id,
        token_hash=_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=SESSION_DAYS),
        ip=ip[:64],
        user_agent=user_agent[:300],
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        workspace_id=workspace.id,
        action="login.succeeded",
        source="ui",
        actor_id=user.id,
        ip=ip,
    )
    return NewSession(token, row)


def _memberships(db: Session, user_id: int) -> list[tuple[Membership, Workspace]]:
    stmt = (
        select(Membership, Workspace)
        .join(Workspace, Workspace.id == Membership.workspace_id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.id)
    )
    return [(m, w) for m, w in db.execute(stmt).all()]


def principal(db: Session, token: str) -> WebPrincipal:
    """The session behind a cookie, in one query; expired or unknown → NotAuthenticated."""
    now = utcnow()
    stmt = (
        select(WebSession, User, Membership.role, Workspace)
        .join(User, User.id == WebSession.user_id)
        .join(
            Membership,
            (Membership.user_id == WebSession.user_id)
            & (Membership.workspace_id == WebSession.workspace_id),
        )
        .join(Workspace, Workspace.id == WebSession.workspace_id)
        .where(WebSession.token_hash == _hash(token), WebSession.expires_at > now)
    )
    row = db.execute(stmt).one_or_none()
    if row is None:
        raise NotAuthenticated("please log in")
    session, user, role, workspace = row
    if now - session.last_seen_at > SEEN_RESOLUTION:
        session.last_seen_at = now
    return WebPrincipal(session, user, Role(role), workspace)


def context(p: WebPrincipal, db: Session) -> Ctx:
    return Ctx(
        session=db,
        workspace_id=p.workspace.id,
        user_id=p.user.id,
        role=p.role,
        source="web",
        workspace_timezone=p.workspace.timezone,
    )


def logout(db: Session, token: str) -> None:
    row = db.scalars(select(WebSession).where(WebSession.token_hash == _hash(token))).first()
    if row is not None:
        audit.record(
            db, workspace_id=row.workspace_id, action="logout", source="ui", actor_id=row.user_id
        )
        db.execute(delete(WebSession).where(WebSession.id == row.id))


def check_csrf(session: WebSession, submitted: str | None) -> bool:
    return bool(submitted) and secrets.compare_digest(session.csrf_token, submitted or "")
