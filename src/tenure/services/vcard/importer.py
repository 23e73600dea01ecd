"""Importing a .vcf file into the workspace: each card a contact, through the contact service.

Each card is all-or-nothing in its own SAVEPOINT: a bad card is reported (card number, vCard
property, value, rule) and the others still import. A card is matched to an existing contact by
its UID (kept as an external id, source ``vcard``), then by email, then by phone (and an
organization by its name); ``on_duplicate`` says what a match does. A UID match is the same
card imported again: it updates (or, with ``skip``, skips) but never creates a second contact.
A dry run does it all inside a savepoint that is rolled back, so its report is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.vcard import ContactMatchRepository, ExternalIdRepository
from tenure.domain.access import Permission
from tenure.domain.contacts import (
    MAX_TAG_LENGTH,
    ContactKind,
    normalize_email,
    normalize_phone,
    normalize_tag,
    region_of_timezone,
)
from tenure.domain.errors import (
    ContactMerged,
    DomainError,
    DuplicateValue,
    FieldError,
    InvalidInput,
)
from tenure.services import audit, contacts
from tenure.services.contacts import EmailIn, OrganizationLink, PhoneIn
from tenure.services.context import Ctx
from tenure.services.vcard.cards import Card, CardProblem
from tenure.services.vcard.parse import parse_vcards

SOURCE = "vcard"
#: A report lists at most this many problems (the counts stay exact).
MAX_PROBLEMS = 1000
MAX_NOTES = 100_000

_Item = TypeVar("_Item", EmailIn, PhoneIn)


class OnDuplicate(StrEnum):
    SKIP = "skip"
    UPDATE = "update"
    CREATE = "create"


@dataclass
class ImportReport:
    dry_run: bool = False
    cards: int = 0
    created: int = 0
    updated: int = 0
    #: Matched, and already saying what the card says.
    unchanged: int = 0
    skipped: int = 0
    #: Cards that were not imported because of a problem.
    failed: int = 0
    #: Organizations created for the ORG of people (not counted in ``created``).
    organizations_created: int = 0
    problems: list[CardProblem] = field(default_factory=list)

    def add_problems(self, problems: list[CardProblem]) -> None:
        self.failed += 1
        room = MAX_PROBLEMS - len(self.problems)
        self.problems.extend(problems[: max(room, 0)])

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "cards": self.cards,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "failed": self.failed,
            "organizations_created": self.organizations_created,
            "problems": [p.as_dict() for p in self.problems],
        }


def check_on_duplicate(value: str) -> OnDuplicate:
    try:
        return OnDuplicate(value)
    except ValueError:
        raise InvalidInput.one(
            "on_duplicate", "choice", f"must be one of {', '.join(OnDuplicate)}"
        ) from None


def import_vcards(
    ctx: Ctx, text: str, *, on_duplicate: str = "update", dry_run: bool = False
) -> ImportReport:
    ctx.require(Permission.WRITE)
    mode = check_on_duplicate(on_duplicate)
    report = ImportReport(dry_run=dry_run)
    outer = ctx.session.begin_nested() if dry_run else None
    try:
        for parsed in parse_vcards(text):
            report.cards += 1
            if parsed.card is None:
                report.add_problems(parsed.problems)
            else:
                _import_card(ctx, parsed.index, parsed.card, mode, report)
    finally:
        if outer is not None:
            outer.rollback()
    if not dry_run:
        audit.log(
            ctx,
            "contacts.imported",
            format="vcard",
            cards=report.cards,
            created=report.created,
            updated=report.updated,
            failed=report.failed,
        )
    return report


def _import_card(ctx: Ctx, index: int, card: Card, mode: OnDuplicate, report: ImportReport) -> None:
    values = _checked(ctx, index, card)
    if isinstance(values, list):
        report.add_problems(values)
        return
    try:
        with ctx.session.begin_nested():
            outcome, org_created = _apply(ctx, values, mode)
    except InvalidInput as exc:
        report.add_problems([_service_problem(index, values, e) for e in exc.errors])
        return
    except DuplicateValue as exc:
        taken = ", ".join(str(v) for v in exc.details.get("values", []))
        report.add_problems(
            [CardProblem(index, "EMAIL", taken, "unique", exc.message, values.card.display_name)]
        )
        return
    except DomainError as exc:
        report.add_problems(
            [CardProblem(index, "card", "", exc.code, exc.message, values.card.display_name)]
        )
        return
    setattr(report, outcome, getattr(report, outcome) + 1)
    report.organizations_created += int(org_created)


# --- checking a card ---------------------------------------------------------------------------


@dataclass
class _Values:
    """A card's values in the form a contact stores them (emails lower-case, phones E.164)."""

    index: int
    card: Card
    emails: list[EmailIn]
    phones: list[PhoneIn]
    tags: list[str]


def _checked(ctx: Ctx, index: int, card: Card) -> _Values | list[CardProblem]:
    """The card's values, or every problem with them at once (the contact service checks some
    of these too, but could not name the vCard property and the value)."""
    problems: list[CardProblem] = []

    def bad(prop: str, value: str, rule: str, message: str) -> None:
        problems.append(CardProblem(index, prop, value[:200], rule, message, card.display_name))

    for prop, value, limit in (
        ("FN", card.display_name, 300),
        ("N", card.given_name or "", 150),
        ("N", card.family_name or "", 150),
        ("ORG", card.organization or "", 300),
        ("TITLE", card.title, 200),
        ("UID", card.uid or "", 200),
        ("NOTE", card.notes, MAX_NOTES),
    ):
        if len(value) > limit:
            bad(prop, value, "max-length", f"at most {limit} characters")
    emails: list[EmailIn] = []
    for email in card.emails:
        normalized, error = normalize_email(email.email, "EMAIL")
        if error or normalized is None:
            bad("EMAIL", email.email, "email", error.message if error else "not an email")
        elif normalized not in {e.email for e in emails}:
            emails.append(EmailIn(normalized, email.label, email.primary))
    region = card.region or region_of_timezone(card.timezone or ctx.workspace_timezone)
    phones: list[PhoneIn] = []
    for phone in card.phones:
        number, error = normalize_phone(phone.number, "TEL", region)
        if error or number is None:
            bad("TEL", phone.number, "phone", error.message if error else "not a phone number")
        elif number not in {p.number for p in phones}:
            phones.append(PhoneIn(number, phone.label, phone.primary))
    tags: list[str] = []
    for raw in card.tags:
        tag = normalize_tag(raw)
        if len(tag) > MAX_TAG_LENGTH:
            bad("CATEGORIES", raw, "max-length", f"a tag has at most {MAX_TAG_LENGTH} characters")
        elif tag and tag not in tags:
            tags.append(tag)
    if problems:
        return problems
    return _Values(index, card, _one_primary(emails), _one_primary(phones), tags)


def _one_primary(items: list[_Item]) -> list[_Item]:
    """Deduplication can drop the preferred one's twin; keep at most one primary."""
    seen = False
    out: list[_Item] = []
    for item in items:
        primary = item.primary and not seen
        seen = seen or primary
        out.append(replace(item, primary=primary))
    return out


def _service_problem(index: int, values: _Values, error: FieldError) -> CardProblem:
    """A contact-service error, named by the vCard property it came from."""
    prop = {
        "display_name": "FN",
        "given_name": "N",
        "family_name": "N",
        "emails": "EMAIL",
        "phones": "TEL",
        "tags": "CATEGORIES",
        "timezone": "TZ",
        "organizations": "ORG",
        "address": "ADR",
        "notes": "NOTE",
    }.get(error.field.split("[", 1)[0].split(".", 1)[0], error.field)
    return CardProblem(index, prop, "", error.rule, error.message, values.card.display_name)


# --- matching and writing ----------------------------------------------------------------------


def _apply(ctx: Ctx, values: _Values, mode: OnDuplicate) -> tuple[str, bool]:
    """Create, update or skip the card's contact: the outcome and whether an organization was
    created for its ORG."""
    card = values.card
    match, by_uid = _match(ctx, values)
    if match is not None and (mode is OnDuplicate.SKIP):
        return "skipped", False
    org_id, org_created = _organization(ctx, card)
    if match is not None and (by_uid or mode is OnDuplicate.UPDATE):
        changed = _update(ctx, match, values, org_id)
        outcome = "updated" if changed else "unchanged"
        contact_id = match
    else:
        view = contacts.create_contact(
            ctx,
            kind=card.kind,
            display_name=card.display_name,
            given_name=card.given_name,
            family_name=card.family_name,
            emails=values.emails,
            phones=values.phones,
            address=card.address,
            timezone=card.timezone,
            tags=values.tags,
            organizations=[OrganizationLink(org_id, card.title)] if org_id else [],
            notes=card.notes,
        )
        outcome, contact_id = "created", view.contact.id
    if card.uid and not by_uid:
        ExternalIdRepository(ctx.session, ctx.workspace_id).link(contact_id, SOURCE, card.uid)
        ctx.session.flush()
    return outcome, org_created


def _match(ctx: Ctx, values: _Values) -> tuple[int | None, bool]:
    """The contact the card is about, and whether its UID said so."""
    card = values.card
    if card.uid:
        found = ExternalIdRepository(ctx.session, ctx.workspace_id).contact_of(SOURCE, card.uid)
        if found is not None:
            return _live(ctx, found), True
    people = ContactRepository(ctx.session, ctx.workspace_id)
    for email in values.emails:
        owner = people.email_owner(email.email)
        if owner is not None:
            return _live(ctx, owner), False
    matches = ContactMatchRepository(ctx.session, ctx.workspace_id)
    for phone in values.phones:
        owner = matches.phone_owner(phone.number)
        if owner is not None:
            return owner, False
    if card.kind is ContactKind.ORGANIZATION:
        return matches.organization_named(card.display_name), False
    return None, False


def _live(ctx: Ctx, contact_id: int) -> int:
    """A merged contact's survivor stands for it."""
    try:
        return ContactRepository(ctx.session, ctx.workspace_id).get(contact_id).id
    except ContactMerged as merged:
        return merged.merged_into


def _organization(ctx: Ctx, card: Card) -> tuple[int | None, bool]:
    """The organization a person's ORG names: an existing one of that name, or a new one."""
    if card.kind is not ContactKind.PERSON or not card.organization:
        return None, False
    found = ContactMatchRepository(ctx.session, ctx.workspace_id).organization_named(
        card.organization
    )
    if found is not None:
        return found, False
    view = contacts.create_contact(
        ctx, kind=ContactKind.ORGANIZATION, display_name=card.organization
    )
    return view.contact.id, True


def _update(ctx: Ctx, contact_id: int, values: _Values, org_id: int | None) -> bool:
    """Merge the card into the contact: names, address and time zone from the card; emails,
    phones, tags and organizations added to what the contact has; notes added unless already
    there. Nothing the contact has is lost. Whether anything changed."""
    card = values.card
    view = contacts.get_contact(ctx, contact_id)
    contact = view.contact
    changes: dict[str, Any] = {}
    person = contact.kind == ContactKind.PERSON.value
    wanted: dict[str, Any] = {}
    if contact.kind == card.kind.value:
        # A person's card that matched an organization by its email does not rename it.
        wanted["display_name"] = card.display_name
        if person:
            wanted.update(given_name=card.given_name, family_name=card.family_name)
    if card.address:
        wanted["address"] = card.address
    if card.timezone:
        wanted["timezone"] = card.timezone
    for name, value in wanted.items():
        if getattr(contact, name) != value:
            changes[name] = value
    emails = _merged(contact.emails, values.emails, "email")
    if emails is not None:
        changes["emails"] = [EmailIn(e["email"], e["label"], e["primary"]) for e in emails]
    phones = _merged(contact.phones, values.phones, "number")
    if phones is not None:
        changes["phones"] = [PhoneIn(p["number"], p["label"], p["primary"]) for p in phones]
    new_tags = [t for t in values.tags if t not in contact.tags]
    if new_tags:
        changes["tags"] = [*contact.tags, *new_tags]
    if card.notes and card.notes not in contact.notes:
        changes["notes"] = f"{contact.notes}\n\n{card.notes}" if contact.notes else card.notes
    links = _merged_links(view, contact_id, org_id, card.title) if person else None
    if links is not None:
        changes["organizations"] = links
    if not changes:
        return False
    contacts.update_contact(ctx, contact_id, expected_version=contact.version, changes=changes)
    return True


def _merged(
    stored: list[dict[str, Any]], incoming: list[EmailIn] | list[PhoneIn], key: str
) -> list[dict[str, Any]] | None:
    """The stored items with the card's added (a card's label replaces a missing one), or
    None when the card adds nothing."""
    out = [dict(item) for item in stored]
    by_value = {item[key]: item for item in out}
    changed = False
    for item in incoming:
        value = item.email if isinstance(item, EmailIn) else item.number
        existing = by_value.get(value)
        if existing is None:
            out.append({key: value, "label": item.label, "primary": item.primary and not out})
            changed = True
        elif item.label and not existing.get("label"):
            existing["label"] = item.label
            changed = True
    return out if changed else None


def _merged_links(
    view: contacts.ContactView, contact_id: int, org_id: int | None, title: str
) -> list[OrganizationLink] | None:
    if org_id is None:
        return None
    links = {a.organization_id: a.title for a in view.affiliations if a.person_id == contact_id}
    if links.get(org_id) == title or (org_id in links and not title):
        return None
    links[org_id] = title
    return [OrganizationLink(org, t) for org, t in links.items()]
