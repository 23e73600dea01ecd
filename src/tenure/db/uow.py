"""The unit of work: one transaction, owned by the edge (request, CLI command, job).

Services flush but never commit; whoever opened the unit of work commits it when the work
succeeded and rolls it back otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tenure.db.engine import WRITE_OPTION


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: edges render what they loaded after the commit without reloading.
    return sessionmaker(engine, expire_on_commit=False)


def open_session(factory: sessionmaker[Session], *, write: bool) -> Session:
    session = factory()
    if write:
        # Begin now, as a write transaction, so SQLite takes its write lock up front.
        session.connection(execution_options={WRITE_OPTION: True})
    return session


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    session = open_session(factory, write=write)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
