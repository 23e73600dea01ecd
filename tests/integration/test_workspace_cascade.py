"""Every table hangs off a workspace: deleting the workspaces (and users) empties the database.

The test fixtures rely on it, and so does deleting a workspace; a new table without
`workspace_id ON DELETE CASCADE` fails here."""

from __future__ import annotations

from sqlalchemy import func, select

from tenure.db.models import Base


def test_every_table_is_workspace_scoped_or_global(db) -> None:
    global_tables = {"workspaces", "users"}
    for table in Base.metadata.sorted_tables:
        if table.name in global_tables:
            continue
        assert "workspace_id" in table.c, table.name
        fks = list(table.c.workspace_id.foreign_keys)
        assert fks and fks[0].ondelete == "CASCADE", table.name


def test_clean_empties_every_table(db, tenant) -> None:
    from tenure.db.uow import session_factory, unit_of_work
    from tenure.domain.contacts import ContactKind
    from tenure.services import contacts, interactions

    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        cid = contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name="X").contact.id
        interactions.log_interaction(
            ctx,
            cid,
            channel=interactions.Channel.NOTE,
            direction=interactions.Direction.INTERNAL,
            subject="n",
        )
    db.clean()
    with db.session() as s:
        for table in Base.metadata.sorted_tables:
            assert s.scalar(select(func.count()).select_from(table)) == 0, table.name
