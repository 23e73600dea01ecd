"""Writing one batch of contact rows through the contact, agreement and lifecycle services.

Each row is created, updated or skipped as ``OnDuplicate`` says; a row with stage history
gets a confirmed agreement starting on its ``client_since`` (the evidence a client needs) and,
when it ended, the end of the relationship on ``ended_on`` with its reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tenure.db.models import Contact
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.imports import ImportLookups
from tenure.domain.contacts import ContactKind
from tenure.domain.imports.mapping import Resolved
from tenure.domain.imports.rows import ContactRow, Problem
from tenure.domain.lifecycle import Stage
from tenure.services import agreements, lifecycle
from tenure.services import contacts as contact_service
from tenure.services.contacts import EmailIn, OrganizationLink, PhoneIn
from tenure.services.context import Ctx
from tenure.services.imports.bulk import NewContact, create_contacts
from tenure.services.imports.dedupe import Matcher, OnDuplicate

#: Which mapped field a service's error field belongs to.
_FIELD_OF = {"emails": "emails", "phones": "phones", "display_name": "display_name"}


@dataclass
class BatchOutcome:
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)


class ContactBatch:
    def __init__(
        self,
        ctx: Ctx,
        resolved: Resolved,
        on_duplicate: OnDuplicate,
        rows: list[ContactRow],
        *,
        eager: bool = False,
    ) -> None:
        self.ctx = ctx
        self.resolved = resolved
        self.on_duplicate = on_duplicate
        self.rows = rows
        self.lookups = ImportLookups(ctx.session, ctx.workspace_id)
        self.source = resolved.mapping.source
        self.outcome = BatchOutcome()
        self.matcher = Matcher.load(self.lookups, self.source, rows)
        self.organizations = self.lookups.organizations_named(
            r.organization for r in rows if r.organization and r.kind is ContactKind.PERSON
        )
        #: The matched contacts a row may update (skipping or creating reads none of them).
        self.contacts: dict[int, Contact] = {}
        if on_duplicate is OnDuplicate.UPDATE:
            matched = [m.contact_id for r in rows if (m := self.matcher.match(r))]
            self.contacts = self.lookups.contacts(matched)
        #: New contacts not written yet (``flush``), known meanwhile by placeholder ids < 0.
        self.pending: list[NewContact] = []
        self.external_ids: list[tuple[int, str]] = []
        #: Write each row's new contacts at once (row by row, each in its own savepoint).
        self.eager = eager

    def column(self, name: str) -> str:
        bound = self.resolved.columns.get(name, ())
        return bound[0][1] if bound else name

    def problem(self, row: ContactRow, name: str, value: str, rule: str, message: str) -> None:
        self.outcome.problems.append(Problem(row.row, self.column(name), value, rule, message))

    # --- one row ----------------------------------------------------------------------------

    def apply(self, row: ContactRow) -> None:
        """Write one row; on an error nothing of it is counted or remembered (the caller rolls
        its savepoint back and calls ``forget_row``)."""
        self.row_counts: Counter[str] = Counter()
        self.row_organizations: list[str] = []
        match = self.matcher.match(row)
        if match is not None and self.on_duplicate is OnDuplicate.SKIP:
            self.outcome.counts["skipped"] += 1
            whom = (
                f"contact {match.contact_id}"
                if match.contact_id > 0
                else "a contact an earlier row created"
            )
            message = f"same {match.by.replace('_', ' ')} as {whom}; skipped"
            self.problem(row, _column_field(match.by), match.value, "duplicate", message)
            return
        if match is None or self.on_duplicate is OnDuplicate.CREATE:
            taken = self.matcher.taken(row)
            if taken is not None:
                self.outcome.counts["invalid"] += 1
                self.problem(row, taken[0], taken[1], "unique", "another contact already has it")
                return
            contact_id = self._create(row)
            self.row_counts["created"] += 1
        else:
            # The contact to update may be one this batch has not written yet.
            contact_id = self.flush().get(match.contact_id, match.contact_id)
            self.row_counts["updated" if self._update(contact_id, row) else "unchanged"] += 1
        self.matcher.remember(contact_id, row)
        if row.client_since is not None or self.eager:
            contact_id = self.flush().get(contact_id, contact_id)
            self._history(contact_id, row)
        self.outcome.counts.update(self.row_counts)

    def forget_row(self) -> None:
        """What the failed row added was rolled back with it (its savepoint)."""
        for key in self.row_organizations:
            self.organizations.pop(key, None)
        self.pending.clear()
        self.external_ids.clear()
        self.matcher.forget_placeholders()

    def flush(self) -> dict[int, int]:
        """Write the pending new contacts (one INSERT per table); placeholder → id."""
        if not self.pending:
            return {}
        ids = create_contacts(self.ctx, self.pending)
        self.pending.clear()
        self.matcher.resolve_placeholders(ids)
        for key, org in list(self.organizations.items()):
            if org < 0:
                self.organizations[key] = ids[org]
        external = [(ids.get(cid, cid), eid) for cid, eid in self.external_ids]
        self.lookups.add_external_ids([(cid, self.source, eid) for cid, eid in external])
        self.external_ids.clear()
        return ids

    def _new(self, row: ContactRow, organization: int | None) -> int:
        placeholder = -(len(self.pending) + 1)
        self.pending.append(NewContact(row, organization, placeholder))
        return placeholder

    def _create(self, row: ContactRow) -> int:
        contact_id = self._new(row, self._organization(row))
        if row.external_id:
            self.external_ids.append((contact_id, row.external_id))
        return contact_id

    def _organization(self, row: ContactRow) -> int | None:
        """The id (or placeholder) of the person's organization, found by name or created."""
        if row.kind is not ContactKind.PERSON or not row.organization:
            return None
        key = row.organization.lower()[:300]
        org_id = self.organizations.get(key)
        if org_id is None:
            organization = ContactRow(
                row=row.row, kind=ContactKind.ORGANIZATION, display_name=row.organization
            )
            org_id = self.organizations[key] = self._new(organization, None)
            self.row_organizations.append(key)
            self.row_counts["organizations_created"] += 1
        return org_id

    def _update(self, contact_id: int, row: ContactRow) -> bool:
        contact = self.contacts.get(contact_id) or ContactRepository(
            self.ctx.session, self.ctx.workspace_id
        ).get(contact_id)
        changes = _changes(contact, row)
        if row.kind is ContactKind.PERSON and row.organization and contact.kind == row.kind.value:
            current = ContactRepository(self.ctx.session, self.ctx.workspace_id).affiliations_of(
                contact_id
            )
            existing = [
                OrganizationLink(a.organization_id, a.title)
                for a in current
                if a.person_id == contact_id
            ]
            org_id = self._organization(row)
            if org_id is not None and org_id < 0:
                org_id = self.flush()[org_id]
            if org_id is not None and all(o.organization_id != org_id for o in existing):
                changes["organizations"] = [*existing, OrganizationLink(org_id, row.job_title)]
        if row.external_id and self.matcher.external.get(row.external_id) != contact_id:
            self.lookups.add_external_ids([(contact_id, self.source, row.external_id)])
        if not changes:
            return False
        contact_service.update_contact(
            self.ctx, contact_id, expected_version=contact.version, changes=changes
        )
        return True

    def _history(self, contact_id: int, row: ContactRow) -> None:
        if row.client_since is None or row.agreement is None:
            return
        contact = ContactRepository(self.ctx.session, self.ctx.workspace_id).get(contact_id)
        if Stage(contact.stage) is not Stage.CLIENT:
            terms = row.agreement
            agreement = agreements.create_agreement(
                self.ctx,
                contact_id,
                title=terms.title,
                kind=terms.kind,
                starts_on=terms.starts_on,
                ends_on=terms.ends_on,
                value_minor=terms.value_minor,
                currency=terms.currency,
            )
            agreements.confirm(self.ctx, agreement.id, starts_on=terms.starts_on)
            self.row_counts["clients"] += 1
        if row.ended_on is not None and row.end_reason is not None:
            lifecycle.end(self.ctx, contact_id, reason=row.end_reason, effective_on=row.ended_on)
            self.row_counts["ended"] += 1


def _column_field(by: str) -> str:
    return {"email": "emails", "phone": "phones"}.get(by, by)


def _changes(contact: Contact, row: ContactRow) -> dict[str, Any]:
    """What the row adds to an existing contact: names it gives, emails, phones and tags it
    does not have yet, its address and zone, notes appended. Nothing is taken away."""
    changes: dict[str, Any] = {}
    for name in ("display_name", "given_name", "family_name", "timezone"):
        value = getattr(row, name)
        if value and value != getattr(contact, name):
            changes[name] = value
    if contact.kind == ContactKind.ORGANIZATION.value:
        changes.pop("given_name", None)
        changes.pop("family_name", None)
    emails = [e["email"] for e in contact.emails]
    if any(e not in emails for e in row.emails):
        changes["emails"] = [
            EmailIn(e["email"], e.get("label"), bool(e.get("primary"))) for e in contact.emails
        ] + [EmailIn(e) for e in row.emails if e not in emails]
    phones = [p["number"] for p in contact.phones]
    if any(p not in phones for p in row.phones):
        changes["phones"] = [
            PhoneIn(p["number"], p.get("label"), bool(p.get("primary"))) for p in contact.phones
        ] + [PhoneIn(p) for p in row.phones if p not in phones]
    if any(t not in contact.tags for t in row.tags):
        changes["tags"] = [*contact.tags, *(t for t in row.tags if t not in contact.tags)]
    if row.address and row.address != contact.address:
        changes["address"] = row.address
    if row.notes and row.notes not in contact.notes:
        changes["notes"] = f"{contact.notes}\n\n{row.notes}".strip()
    return changes


def error_field(name: str) -> str:
    """The mapped field a service's error names (``emails[0].email`` → ``emails``)."""
    base = name.split("[", maxsplit=1)[0].split(".", maxsplit=1)[0]
    return _FIELD_OF.get(base, base)
