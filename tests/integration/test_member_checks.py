"""One rule, one helper (services/members.py): a user id given as an owner, assignee or
promiser must be a member of the workspace. Every service that takes one refuses another
workspace's user naming its field and the rule ``member``, and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tenure.db.models import Base
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.activities import ActivityKind
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import InvalidInput
from tenure.services import activities, calendar, cases, commitments, contacts, deliveries
from tenure.services.context import Ctx
from tenure.services.members import check_member, is_member, require_member
from tenure.services.rules import crud as rules

TABLES = ("contacts", "cases", "commitments", "activities", "deliveries", "rules", "calendar_feeds")


def _counts(db) -> dict[str, int]:
    with db.session() as session:
        return {
            name: session.execute(
                select(func.count()).select_from(Base.metadata.tables[name])
            ).scalar_one()
            for name in TABLES
        }


@pytest.fixture
def contact_id(tenant, db) -> int:
    with unit_of_work(session_factory(db.engine)) as session:
        return contacts.create_contact(
            tenant.ctx(session), kind=ContactKind.PERSON, display_name="Ada"
        ).contact.id


def _case_update(ctx: Ctx, cid: int, stranger: int) -> Any:
    case = cases.open_case(ctx, cid, subject="Printer")
    return cases.update_case(
        ctx, case.id, expected_version=case.version, changes={"assignee_id": stranger}
    )


SOON = datetime.now(UTC) + timedelta(days=3)

#: (what is refused, the field it names): each call gives another workspace's owner.
CALLS: dict[str, tuple[Callable[[Ctx, int, int], Any], str]] = {
    "contact owner": (
        lambda ctx, cid, u: contacts.create_contact(
            ctx, kind=ContactKind.PERSON, display_name="Bob", owner_id=u
        ),
        "owner_id",
    ),
    "contact owner change": (
        lambda ctx, cid, u: contacts.update_contact(
            ctx, cid, expected_version=1, changes={"owner_id": u}
        ),
        "owner_id",
    ),
    "case assignee": (
        lambda ctx, cid, u: cases.open_case(ctx, cid, subject="Printer", assignee_id=u),
        "assignee_id",
    ),
    "case reassigned": (_case_update, "assignee_id"),
    "commitment": (
        lambda ctx, cid, u: commitments.make(ctx, cid, text="Call back", promised_by=u),
        "promised_by",
    ),
    "activity assignee": (
        lambda ctx, cid, u: activities.create_activity(
            ctx, kind=ActivityKind.TASK, title="Call", contact_id=cid, assignee_id=u, due_at=SOON
        ),
        "assignee_id",
    ),
    "delivery assignee": (
        lambda ctx, cid, u: deliveries.create_delivery(ctx, cid, title="Visit", assignee_id=u),
        "assignee_id",
    ),
    "rule owner": (
        lambda ctx, cid, u: rules.create_rule(
            ctx,
            name="Welcome",
            trigger={"type": "event", "event": "contact.converted"},
            actions=[{"type": "add_tag", "tag": "new"}],
            owner_id=u,
        ),
        "owner_id",
    ),
    "calendar feed": (
        lambda ctx, cid, u: calendar.create_feed(ctx, scope=calendar.FeedScope.MEMBER, user_id=u),
        "user_id",
    ),
    "calendar window": (
        lambda ctx, cid, u: calendar.calendar_window(
            ctx, start=SOON, end=SOON + timedelta(days=7), assignee_id=u
        ),
        "member",
    ),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_another_workspaces_user_is_refused_naming_the_field(
    db, tenant, other_tenant, contact_id, name
) -> None:
    call, field = CALLS[name]
    before = _counts(db)
    with (
        pytest.raises(InvalidInput) as raised,
        unit_of_work(session_factory(db.engine)) as session,
    ):
        call(tenant.ctx(session), contact_id, other_tenant.owner.user_id)
    assert [(e.field, e.rule) for e in raised.value.errors] == [(field, "member")]
    assert _counts(db) == before


def test_the_helpers_accept_members_and_nobody(db, tenant, other_tenant) -> None:
    member = tenant.member(Role.MEMBER).user_id
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        assert is_member(ctx, member) and is_member(ctx, tenant.owner.user_id)
        assert not is_member(ctx, other_tenant.owner.user_id)
        errors: list = []
        check_member(ctx, None, errors)
        check_member(ctx, member, errors, "owner_id")
        require_member(ctx, None, "user_id")
        require_member(ctx, member, "user_id")
        assert errors == []
        check_member(ctx, other_tenant.owner.user_id, errors, "owner_id", "gone")
        assert [(e.field, e.rule, e.message) for e in errors] == [("owner_id", "member", "gone")]
