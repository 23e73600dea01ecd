"""Contacts as vCards: one contact, or a filtered list a keyset page at a time."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from tenure.db.models import Contact
from tenure.db.repositories.contacts import ContactFilter
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.db.repositories.vcard import ContactMatchRepository, ExternalIdRepository
from tenure.domain.access import Permission
from tenure.domain.contacts import ContactKind
from tenure.services import audit, contacts
from tenure.services.context import Ctx
from tenure.services.vcard.cards import Card, CardEmail, CardPhone, check_version
from tenure.services.vcard.importer import SOURCE
from tenure.services.vcard.write import to_vcard

#: Stable UIDs for contacts that came from nowhere else: re-importing an export into the same
#: workspace then finds the same contacts.
_UID_NAMESPACE = uuid.UUID("7d3c5b2e-4f0a-4e8e-9a51-6a1f2c0e9b17")

MEDIA_TYPE = "text/vcard; charset=utf-8"


@dataclass(frozen=True)
class VCardFile:
    filename: str
    text: str


def card_of(
    contact: Contact, *, workspace_id: int, organization: tuple[str, str] | None, uid: str | None
) -> Card:
    """What a contact says, as a ``Card``. ``organization`` is a person's (name, title)."""
    org_name, title = organization or (None, "")
    return Card(
        kind=ContactKind(contact.kind),
        display_name=contact.display_name,
        given_name=contact.given_name,
        family_name=contact.family_name,
        organization=org_name,
        title=title,
        emails=[
            CardEmail(e["email"], e.get("label"), bool(e.get("primary"))) for e in contact.emails
        ],
        phones=[
            CardPhone(p["number"], p.get("label"), bool(p.get("primary"))) for p in contact.phones
        ],
        address=dict(contact.address) if contact.address else None,
        notes=contact.notes,
        tags=list(contact.tags),
        timezone=contact.timezone,
        uid=uid or f"urn:uuid:{uuid.uuid5(_UID_NAMESPACE, f'{workspace_id}:{contact.id}')}",
    )


def export_contact(ctx: Ctx, contact_id: int, *, version: str = "3.0") -> VCardFile:
    ctx.require(Permission.READ)
    check_version(version)
    view = contacts.get_contact(ctx, contact_id)
    mine = [a for a in view.affiliations if a.person_id == contact_id]
    uid = ExternalIdRepository(ctx.session, ctx.workspace_id).of_contacts(SOURCE, [contact_id])
    card = card_of(
        view.contact,
        workspace_id=ctx.workspace_id,
        organization=(mine[0].organization_name, mine[0].title) if mine else None,
        uid=uid.get(contact_id),
    )
    audit.log(ctx, "contacts.exported", format="vcard", version=version, contact_id=contact_id)
    return VCardFile(f"contact-{contact_id}.vcf", to_vcard(card, version=version))


def export_page(
    ctx: Ctx,
    *,
    filters: ContactFilter,
    version: str = "3.0",
    sort: str = "name",
    cursor: str | None = None,
) -> tuple[str, str | None]:
    """One page of the filtered contact list as vCards, and the cursor of the next page.
    Three queries whatever the page size: the page, its people's organizations, their UIDs."""
    ctx.require(Permission.READ)
    check_version(version)
    page = contacts.list_contacts(ctx, filters=filters, sort=sort, cursor=cursor, limit=MAX_LIMIT)
    items: list[Contact] = page.items
    ids = [c.id for c in items]
    orgs = ContactMatchRepository(ctx.session, ctx.workspace_id).first_organizations(
        [c.id for c in items if c.kind == ContactKind.PERSON.value]
    )
    uids = ExternalIdRepository(ctx.session, ctx.workspace_id).of_contacts(SOURCE, ids)
    text = "".join(
        to_vcard(
            card_of(
                c, workspace_id=ctx.workspace_id, organization=orgs.get(c.id), uid=uids.get(c.id)
            ),
            version=version,
        )
        for c in items
    )
    return text, page.next_cursor


def export_stream(
    ctx: Ctx,
    *,
    filters: ContactFilter,
    version: str = "3.0",
    sort: str = "name",
    open_ctx: Callable[[], AbstractContextManager[Ctx]] | None = None,
) -> Iterator[str]:
    """The whole filtered list as vCards, a page at a time.

    The first page is read now, with ``ctx``, so bad filters fail before anything is sent; the
    others are read as the consumer asks for them, each in a unit of work of its own from
    ``open_ctx`` (an HTTP response streams after the request's transaction has ended), or with
    ``ctx`` when it stays open (the CLI).
    """
    first, cursor = export_page(ctx, filters=filters, version=version, sort=sort)
    described = {k: str(v) for k, v in filters.__dict__.items() if v is not None}
    audit.log(
        ctx, "contacts.exported", format="vcard", version=version, filters=described, sort=sort
    )

    def pages() -> Iterator[str]:
        yield first
        after = cursor
        while after:
            if open_ctx is None:
                text, after = export_page(
                    ctx, filters=filters, version=version, sort=sort, cursor=after
                )
            else:
                with open_ctx() as page_ctx:
                    text, after = export_page(
                        page_ctx, filters=filters, version=version, sort=sort, cursor=after
                    )
            yield text

    return pages()
