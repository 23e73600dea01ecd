"""A covering index of the transitions by contact, for the analytics that follow each contact's
history: cohorts (each member's transitions), tenure (spells by ``LEAD()`` over a contact's
transitions in (effective_on, id) order) and revenue (client status per contact). With it these
read the index alone, in contact order, instead of a row lookup per transition (SQLite) or a
sort (bench/README.md, issue 8).

``ix_transitions_contact`` (contact_id, ...) stays: the foreign key's ``ON DELETE CASCADE``
from contacts needs an index that leads with ``contact_id``.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_transitions_ws_contact_cover",
        "transitions",
        ["workspace_id", "contact_id", "effective_on", "id", "from_stage", "to_stage"],
    )


def downgrade() -> None:
    op.drop_index("ix_transitions_ws_contact_cover", table_name="transitions")
