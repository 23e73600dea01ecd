"""Web fixtures: a logged-in browser session over real HTTP (cookies and CSRF like a browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.services import access

PASSWORD = "correct horse battery"


def set_password(db, email: str) -> None:
    from sqlalchemy import select

    from tenure.db.models import User

    with unit_of_work(session_factory(db.engine)) as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        user.password_hash = access.hash_password(PASSWORD)


class Browser:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kw) -> httpx.Response:
        r = self.client.get(path, **kw)
        found = re.search(r'name="csrf" value="([^"]+)"', r.text)
        if found:
            self.csrf = found.group(1)
        return r

    def post(self, path: str, data: dict | None = None, **kw) -> httpx.Response:
        return self.client.post(path, data={"csrf": self.csrf, **(data or {})}, **kw)


def login(server, email: str) -> Browser:
    client = httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=30)
    r = client.post("/login", data={"email": email, "password": PASSWORD, "next": "/"})
    assert r.status_code == 303, r.text
    browser = Browser(client)
    browser.get("/")
    return browser


@pytest.fixture
def browser(server, tenant, db) -> Iterator[Browser]:
    set_password(db, tenant.owner.email)
    b = login(server, tenant.owner.email)
    yield b
    b.client.close()


@pytest.fixture
def viewer_browser(server, tenant, db) -> Iterator[Browser]:
    member = tenant.member(Role.VIEWER)
    set_password(db, member.email)
    b = login(server, member.email)
    yield b
    b.client.close()
