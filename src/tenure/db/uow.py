"""The unit of work: one transaction, owned by the edge (request, CLI command, job).

Services flush but never commit; whoever opened the unit of work commits it when the work
succeeded and rolls it back otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tenure.db.engine import WRITE_OPTION

#: ``session.info`` keys: whether the unit of work was opened for writing, its factory, and the
#: rows a read-only unit of work set aside to write after it ends (see ``write_after_read``).
WRITABLE = "tenure.writable"
FACTORY = "tenure.factory"
AFTER_READ = "tenure.after_read"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: edges render what they loaded after the commit without reloading.
    return sessionmaker(engine, expire_on_commit=False)


def open_session(factory: sessionmaker[Session], *, write: bool) -> Session:
    session = factory()
    session.info[WRITABLE] = write
    session.info[FACTORY] = factory
    if write:
        # Begin now, as a write transaction, so SQLite takes its write lock up front.
        session.connection(execution_options={WRITE_OPTION: True})
    return session


def is_read_only(session: Session) -> bool:
    return session.info.get(WRITABLE) is False


def ends_instantly(session: Session) -> bool:
    """Whether ending the unit of work can neither block nor touch the disk, so an edge may end
    it without sending it to a thread: no transaction began, or a read on SQLite (WAL) that
    leaves nothing to write (ending it releases a snapshot, never waits for a lock) and no
    work set aside to write after it. A PostgreSQL COMMIT is a round trip: never instant."""
    if AFTER_READ in session.info:
        return False
    if not session.in_transaction():
        return True
    if session.get_bind().dialect.name != "sqlite" or not is_read_only(session):
        return False
    return not (session.new or session.dirty or session.deleted)


def write_after_read(session: Session, row: object) -> None:
    """Keep ``row`` aside and insert it in a short write transaction of its own once the
    read-only unit of work ends (``finish``).

    For the rare record that a read must leave behind (an audit entry of an export): written
    inside the read, it would turn the read into a write transaction, and on SQLite hold the
    database's one write lock for as long as the read takes (minutes for a large export).
    Written at the end of the same transaction instead, it could be refused there, because
    SQLite cannot upgrade a read whose snapshot another writer has since moved past."""
    session.info.setdefault(AFTER_READ, []).append(row)


def run_after_read(session: Session, work: Callable[[Session], None]) -> None:
    """Like ``write_after_read``, for a write that is a statement rather than a new row (a
    token's last-used time): ``work`` runs in the short write transaction after the read."""
    session.info.setdefault(AFTER_READ, []).append(work)


def finish(session: Session) -> None:
    """Commit the unit of work, then write what a read-only one set aside."""
    session.commit()
    pending = session.info.pop(AFTER_READ, None)
    if pending:
        with unit_of_work(session.info[FACTORY], write=True) as writer:
            for item in pending:
                if callable(item):
                    item(writer)
                else:
                    writer.add(item)


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    session = open_session(factory, write=write)
    try:
        yield session
        finish(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
