"""What a read costs besides its SQL: trips to the thread pool (each one a context switch and a
wait for the GIL) and ending its transaction. A read answers with two trips, the token lookup and
the handler; a read on SQLite ends on the event loop (nothing there can block), a PostgreSQL
COMMIT is a round trip and gets a trip of its own, and so does any write."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import httpx
import pytest
from sqlalchemy import select

from tenure.api.routing import one_hop
from tenure.app import create_app
from tenure.config import Settings
from tenure.db.models import Contact
from tenure.db.uow import ends_instantly, open_session, run_after_read, session_factory

from .helpers import create_contact


def run_in_own_loop(coro: Any) -> Any:
    """``asyncio.run`` on a thread of its own: the browser tests' sync Playwright keeps an event
    loop running on the main thread for the whole session, where ``asyncio.run`` refuses."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@contextmanager
def counted_hops(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every call to the thread pool (FastAPI's and ours both go through anyio's run_sync)."""
    hops: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        named = getattr(func, "func", func)  # starlette hands over a functools.partial
        hops.append(getattr(named, "__name__", repr(named)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    yield hops


def _get(db: Any, token: str | None, path: str) -> httpx.Response:
    app = create_app(Settings(database_url=db.url, embedded_worker=False))
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/api/v1" + path, headers=headers)

    try:
        return run_in_own_loop(go())
    finally:
        app.state.engine.dispose()


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/contacts/{id}", "get_contact"),
        ("/contacts/{id}/timeline", "contact_timeline"),
        ("/contacts?stage=contact", "list_contacts"),
    ],
)
def test_a_read_takes_two_trips_to_the_thread_pool(
    api, db, tenant, monkeypatch, path, endpoint
) -> None:
    contact_id = create_contact(api, display_name="Hop Count")["id"]
    _get(db, tenant.owner.token, "/me")  # writes the token's last-used time: not measured
    with counted_hops(monkeypatch) as hops:
        r = _get(db, tenant.owner.token, path.format(id=contact_id))
    assert r.status_code == 200, r.text
    commit = [] if db.backend == "sqlite" else ["_commit"]
    assert hops == ["_authenticated", endpoint, *commit]


def test_a_request_without_a_token_is_refused_without_a_trip(db, monkeypatch) -> None:
    with counted_hops(monkeypatch) as hops:
        r = _get(db, None, "/contacts/1")
    assert r.status_code == 401
    assert hops == []


def test_only_a_read_on_sqlite_with_nothing_to_write_ends_instantly(api, db) -> None:
    contact_id = create_contact(api, display_name="Ends")["id"]
    sessions = session_factory(db.engine)

    untouched = open_session(sessions, write=False)
    assert ends_instantly(untouched)  # no transaction began
    untouched.close()

    read = open_session(sessions, write=False)
    contact = read.scalars(select(Contact).where(Contact.id == contact_id)).one()
    assert ends_instantly(read) is (db.backend == "sqlite")
    contact.notes = "changed inside a read"
    assert not ends_instantly(read)  # a flush would write
    read.rollback()
    read.close()

    touched = open_session(sessions, write=False)
    touched.scalars(select(Contact.id)).all()
    run_after_read(touched, lambda session: None)
    assert not ends_instantly(touched)  # a write transaction follows
    touched.rollback()
    touched.close()

    write = open_session(sessions, write=True)
    assert not ends_instantly(write)
    write.rollback()
    write.close()


def test_one_hop_keeps_the_endpoint_and_runs_it_off_the_event_loop() -> None:
    def endpoint(contact_id: int, limit: int = 50) -> dict[str, Any]:
        """The docstring FastAPI shows."""
        return {"thread": threading.get_ident(), "contact_id": contact_id, "limit": limit}

    wrapped = one_hop(endpoint)
    assert inspect.iscoroutinefunction(wrapped)
    assert inspect.signature(wrapped) == inspect.signature(endpoint)
    assert (wrapped.__name__, wrapped.__doc__) == (endpoint.__name__, endpoint.__doc__)

    async def call() -> tuple[int, dict[str, Any]]:
        return threading.get_ident(), await wrapped(7, limit=3)

    loop_thread, answer = run_in_own_loop(call())
    assert answer["thread"] != loop_thread
    assert (answer["contact_id"], answer["limit"]) == (7, 3)


def test_one_hop_leaves_coroutines_and_generators_alone() -> None:
    async def coroutine() -> None: ...

    def generator() -> Iterator[int]:
        yield 1

    assert one_hop(coroutine) is coroutine
    assert one_hop(generator) is generator


def test_every_api_route_takes_one_hop() -> None:
    """A router added without ``route_class=OneHopRoute`` would quietly pay the second trip."""
    from fastapi.routing import APIRoute

    from tenure.api.app import MODULES
    from tenure.api.routing import OneHopRoute

    routes = [r for m in MODULES for r in m.router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 100
    assert sorted(r.path for r in routes if not isinstance(r, OneHopRoute)) == []
