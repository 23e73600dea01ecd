"""Writing one batch of past interactions through the interactions service (back-dated)."""

from __future__ import annotations

from tenure.db.repositories.imports import ImportLookups
from tenure.domain.imports.mapping import Resolved
from tenure.domain.imports.rows import InteractionRow, Problem
from tenure.services import interactions
from tenure.services.context import Ctx
from tenure.services.imports.contacts_batch import BatchOutcome


class InteractionBatch:
    def __init__(self, ctx: Ctx, resolved: Resolved, rows: list[InteractionRow]) -> None:
        self.ctx = ctx
        self.resolved = resolved
        self.outcome = BatchOutcome()
        lookups = ImportLookups(ctx.session, ctx.workspace_id)
        self.emails = lookups.by_email(r.email for r in rows if r.email)
        self.external = lookups.by_external_id(
            resolved.mapping.source, (r.external_id for r in rows if r.external_id)
        )

    def column(self, name: str) -> str:
        bound = self.resolved.columns.get(name, ())
        return bound[0][1] if bound else name

    def apply(self, row: InteractionRow) -> None:
        contact_id = (self.external.get(row.external_id) if row.external_id else None) or (
            self.emails.get(row.email) if row.email else None
        )
        if contact_id is None:
            name, value = (
                ("external_id", row.external_id) if row.external_id else ("email", row.email)
            )
            self.outcome.counts["invalid"] += 1
            self.outcome.problems.append(
                Problem(row.row, self.column(name), value or "", "not-found", "no such contact")
            )
            return
        interactions.log_interaction(
            self.ctx,
            contact_id,
            channel=interactions.Channel(row.channel),
            direction=interactions.Direction(row.direction),
            occurred_at=row.occurred_at,
            subject=row.subject,
            body=row.body,
        )
        self.outcome.counts["logged"] += 1

    def forget_row(self) -> None:
        """Nothing is cached per row."""

    def flush(self) -> dict[int, int]:
        """Interactions are written as each row is applied."""
        return {}
