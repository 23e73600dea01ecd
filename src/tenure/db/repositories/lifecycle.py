"""Queries about transitions and agreements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func

from tenure.db.models import Agreement, Transition
from tenure.db.repositories.base import Repository
from tenure.db.repositories.keyset import KeysetOrder


class TransitionRepository(Repository[Transition]):
    model = Transition
    noun = "transition"

    def of_contact(self, contact_id: int) -> Sequence[Transition]:
        """Oldest first: the order the lifecycle replays them in."""
        stmt = (
            self.select()
            .where(Transition.contact_id == contact_id)
            .order_by(Transition.effective_on, Transition.id)
        )
        return self.session.scalars(stmt).all()

    def last_effective_on(self, contact_id: int) -> Any:
        stmt = self.select(func.max(Transition.effective_on)).where(
            Transition.contact_id == contact_id
        )
        return self.session.scalar(stmt)


class AgreementRepository(Repository[Agreement]):
    model = Agreement
    noun = "agreement"

    def of_contact_page(
        self, contact_id: int, *, status: str | None, after: list[Any] | None, limit: int
    ) -> Sequence[Agreement]:
        stmt = self.select().where(Agreement.contact_id == contact_id)
        if status:
            stmt = stmt.where(Agreement.status == status)
        stmt = KeysetOrder(Agreement.id, Agreement.id, descending=True).apply(stmt, after, limit)
        return self.session.scalars(stmt).all()

    def active_of_contact(
        self, contact_id: int, *, for_update: bool = False
    ) -> Sequence[Agreement]:
        stmt = (
            self.select()
            .where(Agreement.contact_id == contact_id, Agreement.status == "active")
            .order_by(Agreement.id)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).all()
