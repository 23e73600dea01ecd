"""Seeding data for the web tests through the services (as the API and the worker would)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta

from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.contacts import ContactKind
from tenure.services import contacts
from tenure.services.context import Ctx
from tests.conftest import count_statements

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@contextmanager
def services(db, tenant, role: Role = Role.OWNER) -> Iterator[Ctx]:
    """A Ctx in one committed transaction, acting as the tenant's member of ``role``."""
    with unit_of_work(session_factory(db.engine)) as session:
        yield tenant.ctx(session, role)


def new_contact(db, tenant, name: str = "Maya Okafor") -> int:
    with services(db, tenant) as ctx:
        return contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name=name).contact.id


def monday_this_week() -> datetime:
    """08:00 UTC on this week's Monday (the tenants of these tests live in UTC)."""
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(8), tzinfo=UTC)


def assert_escaped(html: str) -> None:
    for found in re.finditer(r"<script>alert|<img[^>]*onerror", html):
        raise AssertionError(html[max(found.start() - 200, 0) : found.end() + 50])
    assert "&lt;script&gt;" in html


def post_forms(html: str) -> list[str]:
    """The actions of every POST form on a page, except logging out."""
    actions = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]*)"', html)
    return [a for a in actions if a != "/logout"]


def statements_of(server, browser, path: str) -> list[str]:
    browser.get(path)  # warm up: last-seen times are written at most every few minutes
    with count_statements(server.engine) as seen:
        r = browser.get(path)
    assert r.status_code == 200, r.text
    return list(seen)
