"""Test fixtures shared by every suite.

Every database test runs once on SQLite and, when ``TENURE_TEST_POSTGRES_URL`` is set, once more
on PostgreSQL. The schema is built by ``alembic upgrade head`` (so migrations are tested), once
per backend; between tests every table is emptied. API tests talk to a real uvicorn server on a
loopback port through httpx.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from tenure.app import create_app
from tenure.config import Settings
from tenure.db.engine import make_engine
from tenure.db.migrate import upgrade
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.services import access
from tenure.services.context import Ctx

POSTGRES_URL = os.environ.get("TENURE_TEST_POSTGRES_URL")
# The apps the tests build (hundreds, in one process) leave the collector alone: frozen, every
# earlier test's leftovers would stay for the rest of the run (tenure.heap).
os.environ.setdefault("TENURE_FREEZE_HEAP_AT_START", "false")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def _reset_postgres(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@dataclass
class Database:
    backend: str
    url: str
    engine: Engine

    def clean(self) -> None:
        """Empty the database: every row hangs off a workspace (ON DELETE CASCADE) except the
        users, so two DELETEs do it (and are far faster than TRUNCATE of every table)."""
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM workspaces"))
            conn.execute(text("DELETE FROM users"))

    def session(self) -> Session:
        return session_factory(self.engine)()


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "tenure-test.db"
        url = f"sqlite:///{path}"
    else:
        assert POSTGRES_URL
        url = POSTGRES_URL
        _reset_postgres(url)
    engine = make_engine(url, pool_size=5)
    upgrade(engine)
    db = Database(request.param, url, engine)
    yield db
    engine.dispose()


@pytest.fixture
def db(database: Database) -> Iterator[Database]:
    """A database with the schema and no rows."""
    database.clean()
    yield database


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[str]]:
    """Collects every SQL statement the engine runs inside the block."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if (
            not statement.lstrip()
            .upper()
            .startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))
        ):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


# --- a real server per backend ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base_url: str
    engine: Engine


@pytest.fixture(scope="session")
def server(database: Database) -> Iterator[Server]:
    # The worker runs only where a test asks for it (tests.worker helpers), never behind a test.
    app = create_app(
        Settings(
            database_url=database.url,
            pool_size=5,
            embedded_worker=False,
            webhook_allow_private=True,
        )
    )
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    yield Server(f"http://127.0.0.1:{port}", app.state.engine)
    uv.should_exit = True
    thread.join(timeout=10)


# --- workspaces, users and tokens -------------------------------------------------------------


@dataclass
class Member:
    user_id: int
    email: str
    role: Role
    token: str


@dataclass
class Tenant:
    """A workspace with its owner, and helpers to add members with tokens."""

    db: Database
    workspace_id: int
    slug: str
    timezone: str
    owner: Member
    members: dict[Role, Member] = field(default_factory=dict)

    def member(self, role: Role) -> Member:
        if role is Role.OWNER:
            return self.owner
        if role not in self.members:
            email = f"{role.value}@{self.slug}.example"
            with unit_of_work(session_factory(self.db.engine)) as session:
                ctx = Ctx(
                    session=session,
                    workspace_id=self.workspace_id,
                    user_id=None,
                    role=Role.OWNER,
                    source="test",
                )
                _, user = access.add_member(ctx, email=email, role=role)
                token = access.create_token(
                    session, workspace_id=self.workspace_id, user_id=user.id, name="test"
                )
                self.members[role] = Member(user.id, email, role, token.secret)
        return self.members[role]

    def ctx(self, session: Session, role: Role = Role.OWNER) -> Ctx:
        return Ctx(
            session=session,
            workspace_id=self.workspace_id,
            user_id=self.member(role).user_id,
            role=role,
            source="test",
            workspace_timezone=self.timezone,
        )


def make_tenant(db: Database, slug: str, timezone: str = "UTC") -> Tenant:
    with unit_of_work(session_factory(db.engine)) as session:
        workspace, user = access.create_workspace(
            session,
            name=slug.title(),
            owner_email=f"owner@{slug}.example",
            slug=slug,
            timezone=timezone,
        )
        token = access.create_token(session, workspace_id=workspace.id, user_id=user.id)
    owner = Member(user.id, user.email, Role.OWNER, token.secret)
    return Tenant(db, workspace.id, slug, timezone, owner)


@pytest.fixture
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "acme")


@pytest.fixture
def other_tenant(db: Database) -> Tenant:
    return make_tenant(db, "globex")


@contextmanager
def client_for(server: Server, token: str | None) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=server.base_url + "/api/v1", headers=headers, timeout=30) as c:
        yield c


@pytest.fixture
def api(server: Server, tenant: Tenant) -> Iterator[httpx.Client]:
    """An HTTP client acting as the tenant's owner."""
    with client_for(server, tenant.owner.token) as c:
        yield c
