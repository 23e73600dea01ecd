"""The demo workspace: a small accounting firm with two years of client history.

``load_demo`` creates the workspace "Northwind Accounting" (slug ``demo``) with four members and
about 200 contacts, then replays two years of their history through the ordinary services
(contacts, agreements, lifecycle, interactions), each action at its historical moment
(``Ctx.now``), so every rule is checked and every transition and timeline event is real. Then
the weeks around today (``present.py``): service plans with their deliveries, cases, knowledge,
promises, and the default automation with onboarding runs under way. It is deterministic: the
same seed and the same ``today`` give the same workspace.

Like every service it never commits; the caller owns the unit of work.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.clock import utcnow
from tenure.db.repositories import access as access_queries
from tenure.db.repositories.access import MembershipRepository
from tenure.db.repositories.workspaces import WorkspaceTotals, delete_workspace, totals
from tenure.domain.access import Role
from tenure.domain.errors import DomainError, InvalidInput
from tenure.services import access
from tenure.services.context import Ctx
from tenure.services.demo import data
from tenure.services.demo.calendar import DemoCalendar
from tenure.services.demo.cast import Actor, Casting
from tenure.services.demo.history import History, Step
from tenure.services.demo.present import Present

__all__ = [
    "DEMO_OWNER_EMAIL",
    "DEMO_PASSWORD",
    "DEMO_SLUG",
    "DemoMember",
    "DemoResult",
    "demo_exists",
    "load_demo",
    "refresh_demo",
]

DEMO_SLUG = "demo"
DEMO_TIMEZONE = "Europe/London"
#: ``.example`` is reserved for documentation (RFC 2606) and passes email validation, which
#: (rightly) refuses the special-use ``.test`` domain.
DEMO_EMAIL_DOMAIN = "demo.tenure.example"
DEMO_OWNER_EMAIL = f"owner@{DEMO_EMAIL_DOMAIN}"
DEMO_PASSWORD = "tenure-demo"  # noqa: S105 - the published demo login, not a secret
TOKEN_NAME = "demo"  # noqa: S105 - a label

#: Called as (steps done, steps in all) while the history is replayed.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DemoMember:
    email: str
    name: str
    role: Role


@dataclass(frozen=True)
class DemoResult:
    workspace_id: int
    slug: str
    name: str
    owner_email: str
    password: str
    #: A fresh API token for the owner (shown once, stored hashed).
    token: str
    counts: WorkspaceTotals
    members: tuple[DemoMember, ...]
    #: False when an existing demo workspace was kept (``refresh_demo``).
    created: bool
    seed: int | None


def demo_exists(session: Session) -> bool:
    return access_queries.workspace_by_slug(session, DEMO_SLUG) is not None


def load_demo(
    session: Session,
    *,
    seed: int = 7,
    today: date | None = None,
    replace: bool = False,
    progress: Progress | None = None,
) -> DemoResult:
    """Create the demo workspace and its history, up to the day before ``today``.

    Refuses when a ``demo`` workspace exists, unless ``replace`` is set: then the old one is
    deleted first with all its rows (and its members' users, unless they belong elsewhere).
    """
    existing = access_queries.workspace_by_slug(session, DEMO_SLUG)
    if existing is not None:
        if not replace:
            raise InvalidInput.one(
                "workspace",
                "exists",
                f"a workspace with slug {DEMO_SLUG!r} already exists; replace it to reload "
                "the demo (tenure demo --replace)",
            )
        delete_workspace(session, existing.id)
    zone = ZoneInfo(DEMO_TIMEZONE)
    today = today or utcnow().astimezone(zone).date()
    rng = random.Random(seed)  # noqa: S311 - demo data, not security

    owner_given, owner_family, _ = data.STAFF[0]
    workspace, owner = access.create_workspace(
        session,
        name=data.WORKSPACE_NAME,
        owner_email=DEMO_OWNER_EMAIL,
        owner_password=DEMO_PASSWORD,
        owner_name=f"{owner_given} {owner_family}",
        slug=DEMO_SLUG,
        timezone=DEMO_TIMEZONE,
    )
    calendar = DemoCalendar(today=today, timezone=DEMO_TIMEZONE)
    # The firm has used Tenure since the history began: its members join at that moment.
    opened = calendar.moment(0, 8, 0)
    workspace.created_at = opened
    memberships = MembershipRepository(session, workspace.id)
    owner_membership = memberships.of_user(owner.id)
    assert owner_membership is not None
    owner_membership.created_at = opened

    ctx = _ctx(session, workspace.id, owner.id, Role.OWNER, now=opened)
    staff = [Actor(owner.id, Role.OWNER, owner_given, f"{owner_given} {owner_family}")]
    members = [DemoMember(owner.email, owner.name, Role.OWNER)]
    for given, family, role_name in data.STAFF[1:]:
        role = Role(role_name)
        _, user = access.add_member(
            ctx,
            email=f"{role.value}@{DEMO_EMAIL_DOMAIN}",
            role=role,
            name=f"{given} {family}",
            password=DEMO_PASSWORD,
        )
        staff.append(Actor(user.id, role, given, f"{given} {family}"))
        members.append(DemoMember(user.email, user.name, role))

    profiles = Casting(rng, calendar, staff).cast()
    steps = History(rng, calendar, staff, profiles).plan()
    _replay(session, workspace.id, steps, progress)

    def make_ctx(actor: Actor, moment: datetime) -> Ctx:
        return _ctx(session, workspace.id, actor.user_id, actor.role, now=moment)

    # Its own random stream: the history stays the same for a seed whatever is added here.
    present = random.Random(f"{seed}:present")  # noqa: S311 - demo data, not security
    Present(present, calendar, staff, profiles, make_ctx).run()

    token = access.create_token(
        session, workspace_id=workspace.id, user_id=owner.id, name=TOKEN_NAME
    )
    session.flush()
    return DemoResult(
        workspace_id=workspace.id,
        slug=workspace.slug,
        name=workspace.name,
        owner_email=owner.email,
        password=DEMO_PASSWORD,
        token=token.secret,
        counts=totals(session, workspace.id),
        members=tuple(members),
        created=True,
        seed=seed,
    )


def refresh_demo(session: Session) -> DemoResult:
    """Keep the existing demo workspace: its counts and a fresh API token for its owner."""
    workspace = access_queries.workspace_by_slug(session, DEMO_SLUG)
    if workspace is None:
        raise InvalidInput.one("workspace", "exists", "there is no demo workspace yet")
    memberships = MembershipRepository(session, workspace.id).members()
    owners = [(m, u) for m, u in memberships if m.role == Role.OWNER.value]
    if not owners:
        raise InvalidInput.one("workspace", "owner", "the demo workspace has no owner")
    owner = next((u for _, u in owners if u.email == DEMO_OWNER_EMAIL), owners[0][1])
    token = access.create_token(
        session, workspace_id=workspace.id, user_id=owner.id, name=TOKEN_NAME
    )
    return DemoResult(
        workspace_id=workspace.id,
        slug=workspace.slug,
        name=workspace.name,
        owner_email=owner.email,
        password=DEMO_PASSWORD,
        token=token.secret,
        counts=totals(session, workspace.id),
        members=tuple(DemoMember(u.email, u.name, Role(m.role)) for m, u in memberships),
        created=False,
        seed=None,
    )


def _ctx(session: Session, workspace_id: int, user_id: int, role: Role, *, now: datetime) -> Ctx:
    return Ctx(
        now=now,
        session=session,
        workspace_id=workspace_id,
        user_id=user_id,
        role=role,
        source="demo",
        workspace_timezone=DEMO_TIMEZONE,
    )


def _replay(
    session: Session, workspace_id: int, planned: list[Step], progress: Progress | None
) -> None:
    """Run every planned step in time order, each at its own historical moment."""
    steps = sorted(planned, key=lambda s: (s.at, s.seq))
    for done, step in enumerate(steps, start=1):
        ctx = _ctx(session, workspace_id, step.actor.user_id, step.actor.role, now=step.at)
        try:
            step.action(ctx)
        except DomainError as exc:
            exc.add_note(f"demo step {step.seq} ({step.label}) at {step.at.isoformat()}")
            raise
        if progress is not None and (done % 100 == 0 or done == len(steps)):
            progress(done, len(steps))
