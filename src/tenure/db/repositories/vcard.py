"""Queries the vCard import and export need: external ids, matches by phone and by name, and
the organizations of a page of people in one query."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from tenure.db.models import Affiliation, Contact, ContactPhone, ExternalId
from tenure.db.repositories.base import Repository


class ExternalIdRepository(Repository[ExternalId]):
    model = ExternalId
    noun = "external id"

    def contact_of(self, source: str, external_id: str) -> int | None:
        stmt = self.select(ExternalId.contact_id).where(
            ExternalId.source == source, ExternalId.external_id == external_id
        )
        return self.session.scalars(stmt).first()

    def of_contacts(self, source: str, contact_ids: Sequence[int]) -> dict[int, str]:
        """Each contact's id in ``source`` (the first one, if a contact has several)."""
        if not contact_ids:
            return {}
        stmt = (
            self.select(ExternalId.contact_id, ExternalId.external_id)
            .where(ExternalId.source == source, ExternalId.contact_id.in_(contact_ids))
            .order_by(ExternalId.id)
        )
        out: dict[int, str] = {}
        for contact_id, external_id in self.session.execute(stmt).all():
            out.setdefault(contact_id, external_id)
        return out

    def link(self, contact_id: int, source: str, external_id: str) -> None:
        self.add(ExternalId(contact_id=contact_id, source=source, external_id=external_id))


class ContactMatchRepository(Repository[Contact]):
    """Finding the contact an imported card is about."""

    model = Contact
    noun = "contact"

    def phone_owner(self, number: str) -> int | None:
        stmt = (
            select(ContactPhone.contact_id)
            .join(Contact, Contact.id == ContactPhone.contact_id)
            .where(
                ContactPhone.workspace_id == self.workspace_id,
                ContactPhone.number == number,
                Contact.merged_into_id.is_(None),
            )
            .order_by(ContactPhone.contact_id)
        )
        return self.session.scalars(stmt).first()

    def organization_named(self, name: str) -> int | None:
        """A live organization whose name is ``name`` (case aside), the oldest if several.
        Erased ones are not (a card named "Erased contact" must not write to a tombstone)."""
        stmt = (
            self.select(Contact.id)
            .where(
                Contact.kind == "organization",
                Contact.sort_name == name.lower()[:300],
                Contact.merged_into_id.is_(None),
                Contact.erased_at.is_(None),
            )
            .order_by(Contact.id)
        )
        return self.session.scalars(stmt).first()

    def first_organizations(self, person_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """Each person's first organization (by name) and title, for a page in one query."""
        if not person_ids:
            return {}
        stmt = (
            select(Affiliation.person_id, Contact.display_name, Affiliation.title)
            .join(Contact, Contact.id == Affiliation.organization_id)
            .where(
                Affiliation.workspace_id == self.workspace_id,
                Affiliation.person_id.in_(person_ids),
            )
            .order_by(Affiliation.person_id, Contact.sort_name, Contact.id)
        )
        out: dict[int, tuple[str, str]] = {}
        for person_id, name, title in self.session.execute(stmt).all():
            out.setdefault(person_id, (name, title))
        return out
