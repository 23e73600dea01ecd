"""An export is a read that leaves an audit entry behind: the entry is written after the read,
in a short write transaction of its own, so a long export never holds SQLite's one write lock
(other members keep working while someone downloads the workspace)."""

from __future__ import annotations

import io
import threading

from sqlalchemy import func, select

from tenure.db.models import AuditEntry
from tenure.db.repositories.contacts import ContactFilter
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.contacts import ContactKind
from tenure.services import audit, contacts, exports


def audit_actions(db, workspace_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    with db.session() as s:
        return list(
            s.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.workspace_id == workspace_id)
                .order_by(AuditEntry.id)
            )
        )


def test_a_read_only_export_lets_other_writers_in_and_is_audited_when_it_ends(db, tenant) -> None:  # type: ignore[no-untyped-def]
    factory = session_factory(db.engine)
    with unit_of_work(factory) as session:
        ctx = tenant.ctx(session)
        for i in range(3):
            contacts.create_contact(ctx, kind=ContactKind.PERSON, given_name=f"P{i}")

    written: list[str] = []
    with unit_of_work(factory, write=False) as session:
        out = io.StringIO()
        rows = exports.contacts_csv(tenant.ctx(session), out, filters=ContactFilter())
        assert rows == 3 and "P2" in out.getvalue()

        # Mid-export, another member writes (a separate thread and connection): with the
        # export holding the write lock this would wait for the busy timeout and fail.
        def other_member() -> None:
            with unit_of_work(factory) as other:
                contacts.create_contact(
                    tenant.ctx(other), kind=ContactKind.PERSON, given_name="Meanwhile"
                )
            written.append("done")

        thread = threading.Thread(target=other_member)
        thread.start()
        thread.join(timeout=30)
        assert written == ["done"]
        assert "contacts.exported" not in audit_actions(db, tenant.workspace_id)

    assert audit_actions(db, tenant.workspace_id).count("contacts.exported") == 1


def test_a_failed_read_records_nothing(db, tenant) -> None:  # type: ignore[no-untyped-def]
    factory = session_factory(db.engine)
    try:
        with unit_of_work(factory, write=False) as session:
            audit.log(tenant.ctx(session), "contacts.exported")
            raise RuntimeError("the export failed half-way")
    except RuntimeError:
        pass
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0
