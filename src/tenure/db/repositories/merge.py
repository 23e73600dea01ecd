"""Moving everything of one contact to another (a merge), table by table.

Which tables point at contacts is read from the models' foreign keys, so a table added later is
moved too without anyone remembering to list it here. Only tables whose unique constraints
could clash when two contacts' rows meet need a rule of their own (``_SPECIAL``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Column, Table, and_, delete, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from tenure.db.models import (
    Affiliation,
    Base,
    ContactEmail,
    ContactMatchKey,
    ContactPhone,
    ContactTag,
    HealthSnapshot,
    Interaction,
    SearchDocument,
    Transition,
)


@dataclass(frozen=True)
class ContactReference:
    table: Table
    column: Column[int]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def contact_references() -> list[ContactReference]:
    """Every column of every table that holds a contact id (``contacts.merged_into_id`` too)."""
    out = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "contacts" and fk.column.name == "id":
                out.append(ContactReference(table, fk.parent))
    return sorted(out, key=lambda r: r.name)


#: Rows the merge rewrites itself rather than re-pointing: lookup rows are rebuilt from the
#: survivor's united fields, the other's search documents and keys are dropped and the
#: survivor's rebuilt, and transitions are combined into one history (``domain.duplicates``).
_REBUILT = frozenset(
    {
        "contact_emails.contact_id",
        "contact_phones.contact_id",
        "contact_tags.contact_id",
        "contact_match_keys.contact_id",
        "transitions.contact_id",
    }
)


class MergeRepository:
    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def transitions(self, contact_id: int) -> Sequence[Transition]:
        stmt = (
            select(Transition)
            .where(
                Transition.workspace_id == self.workspace_id, Transition.contact_id == contact_id
            )
            .order_by(Transition.effective_on, Transition.id)
        )
        return self.session.scalars(stmt).all()

    def move_all(self, other: int, survivor: int) -> dict[str, int]:
        """Re-point every row of ``other`` at ``survivor``; returns rows moved per column.

        Clashes are settled first: a link both have (the same organization, the same tag …) is
        kept once, the survivor's health snapshot of a day wins, and an email interaction both
        recorded keeps its Message-ID on the survivor's copy only.
        """
        self._drop_clashes(other, survivor)
        moved: dict[str, int] = {}
        for ref in contact_references():
            if ref.name in _REBUILT:
                continue
            stmt = update(ref.table).where(ref.column == other).values({ref.column.name: survivor})
            if "workspace_id" in ref.table.c:
                stmt = stmt.where(ref.table.c.workspace_id == self.workspace_id)
            count = int(self.session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]
            if count:
                moved[ref.name] = count
        return moved

    def _drop_clashes(self, other: int, survivor: int) -> None:
        ws = self.workspace_id
        # The other's own documents (its contact and notes documents) and keys are rebuilt.
        self.session.execute(
            delete(SearchDocument).where(
                SearchDocument.workspace_id == ws,
                SearchDocument.kind.in_(("contact", "note")),
                SearchDocument.ref_id == other,
            )
        )
        for model in (ContactEmail, ContactPhone, ContactTag, ContactMatchKey):
            self.session.execute(
                delete(model).where(model.workspace_id == ws, model.contact_id == other)
            )
        mine = aliased(Affiliation)
        for own, partner in (
            (Affiliation.person_id, Affiliation.organization_id),
            (Affiliation.organization_id, Affiliation.person_id),
        ):
            mine_own = getattr(mine, own.key)
            mine_partner = getattr(mine, partner.key)
            self.session.execute(
                delete(Affiliation).where(
                    Affiliation.workspace_id == ws,
                    own == other,
                    exists().where(mine_own == survivor, mine_partner == partner),
                )
            )
        theirs = aliased(HealthSnapshot)
        self.session.execute(
            delete(HealthSnapshot).where(
                HealthSnapshot.workspace_id == ws,
                HealthSnapshot.contact_id == other,
                exists().where(theirs.contact_id == survivor, theirs.day == HealthSnapshot.day),
            )
        )
        same = aliased(Interaction)
        self.session.execute(
            update(Interaction)
            .where(
                Interaction.workspace_id == ws,
                Interaction.contact_id == other,
                Interaction.message_id.is_not(None),
                exists().where(
                    and_(
                        same.workspace_id == ws,
                        same.contact_id == survivor,
                        same.message_id == Interaction.message_id,
                    )
                ),
            )
            .values(message_id=None)
        )

    def references_to(self, contact_id: int) -> dict[str, int]:
        """Rows anywhere that still hold this contact id (a merged contact has none)."""
        out: dict[str, int] = {}
        for ref in contact_references():
            stmt = select(func.count()).select_from(ref.table).where(ref.column == contact_id)
            count = int(self.session.scalar(stmt) or 0)
            if count:
                out[ref.name] = count
        return out
