"""Indexes from the benchmarks: client lists by last touch / next activity, covering
transitions for retention analytics.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_contacts_ws_stage_last_touch",
        "contacts",
        ["workspace_id", "stage", "last_touch_at", "id"],
    )
    op.create_index(
        "ix_contacts_ws_stage_next_activity",
        "contacts",
        ["workspace_id", "stage", "next_activity_at", "id"],
    )
    op.create_index(
        "ix_transitions_ws_effective_cover",
        "transitions",
        ["workspace_id", "effective_on", "contact_id", "to_stage", "from_stage", "reason"],
    )
    op.drop_index("ix_transitions_ws_effective", table_name="transitions")


def downgrade() -> None:
    op.create_index("ix_transitions_ws_effective", "transitions", ["workspace_id", "effective_on"])
    op.drop_index("ix_transitions_ws_effective_cover", table_name="transitions")
    op.drop_index("ix_contacts_ws_stage_next_activity", table_name="contacts")
    op.drop_index("ix_contacts_ws_stage_last_touch", table_name="contacts")
