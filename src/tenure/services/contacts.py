"""Creating, changing, reading and listing contacts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tenure.db.models import Contact
from tenure.db.repositories.contacts import (
    CONTACT_SORTS,
    AffiliationRow,
    ContactFilter,
    ContactRepository,
)
from tenure.db.repositories.pagination import (
    Page,
    check_limit,
    decode_cursor,
    page_of,
)
from tenure.domain.access import Permission
from tenure.domain.cadence import check_cadence
from tenure.domain.contacts import (
    MAX_TAG_LENGTH,
    ContactKind,
    is_valid_timezone,
    normalize_email,
    normalize_phone,
    normalize_tag,
    region_of_timezone,
)
from tenure.domain.errors import (
    DuplicateValue,
    FieldError,
    InvalidInput,
    PreconditionFailed,
)
from tenure.domain.events import EventType
from tenure.domain.lifecycle import Stage
from tenure.services import cadence, health, search, timeline
from tenure.services.context import Ctx
from tenure.services.members import check_member


@dataclass(frozen=True)
class EmailIn:
    email: str
    label: str | None = None
    primary: bool = False


@dataclass(frozen=True)
class PhoneIn:
    number: str
    label: str | None = None
    primary: bool = False


@dataclass(frozen=True)
class OrganizationLink:
    organization_id: int
    title: str = ""


@dataclass(frozen=True)
class ContactView:
    contact: Contact
    affiliations: list[AffiliationRow] = field(default_factory=list)


#: Fields a PATCH may change (kind is fixed at creation: affiliations depend on it).
UPDATABLE = frozenset(
    {
        "display_name",
        "given_name",
        "family_name",
        "emails",
        "phones",
        "address",
        "timezone",
        "tags",
        "owner_id",
        "organizations",
        "notes",
        "cadence_days",
        "do_not_email",
    }
)


def _repo(ctx: Ctx) -> ContactRepository:
    return ContactRepository(ctx.session, ctx.workspace_id)


def create_contact(
    ctx: Ctx,
    *,
    kind: ContactKind,
    display_name: str | None = None,
    given_name: str | None = None,
    family_name: str | None = None,
    emails: Sequence[EmailIn] = (),
    phones: Sequence[PhoneIn] = (),
    address: Mapping[str, str | None] | None = None,
    timezone: str | None = None,
    tags: Sequence[str] = (),
    owner_id: int | None = None,
    organizations: Sequence[OrganizationLink] = (),
    notes: str = "",
    cadence_days: int | None = None,
    do_not_email: bool = False,
) -> ContactView:
    ctx.require(Permission.WRITE)
    values: dict[str, Any] = {
        "display_name": display_name,
        "given_name": given_name,
        "family_name": family_name,
        "emails": emails,
        "phones": phones,
        "address": address,
        "timezone": timezone,
        "tags": tags,
        "owner_id": owner_id,
        "organizations": organizations,
        "notes": notes,
        "cadence_days": cadence_days,
        "do_not_email": do_not_email,
    }
    contact = Contact(kind=kind.value, stage=Stage.CONTACT.value, created_at=ctx.now)
    contact.updated_at = ctx.now
    links = _apply(ctx, contact, values, contact_id=None)
    repo = _repo(ctx)
    repo.add(contact)
    ctx.session.flush()  # the id, for every row below
    # A new contact has no lookup rows, links, documents or keys yet: write them without
    # deleting or looking for earlier ones.
    repo.add_lookup_rows(contact)
    if links:
        repo.add_affiliations(contact.id, links)
    search.index_new_contact(ctx, contact, organizations=bool(links))
    timeline.record(
        ctx,
        contact_id=contact.id,
        type=EventType.CONTACT_CREATED,
        subject_type="contact",
        subject_id=contact.id,
        summary=f"{contact.display_name} was added as a {kind.value}",
    )
    ctx.session.flush()
    # The unit of work holds the row as written; only its links need their names read.
    return ContactView(contact, repo.affiliations_of(contact.id) if links else [])


def update_contact(
    ctx: Ctx, contact_id: int, *, expected_version: int, changes: Mapping[str, Any]
) -> ContactView:
    ctx.require(Permission.WRITE)
    unknown = sorted(set(changes) - UPDATABLE)
    if unknown:
        raise InvalidInput([FieldError(name, "read-only", "cannot be changed") for name in unknown])
    repo = _repo(ctx)
    contact = repo.get_writable(contact_id, for_update=True)
    if contact.version != expected_version:
        raise PreconditionFailed(
            f"contact {contact_id} is at version {contact.version}, not {expected_version}",
            current_version=contact.version,
        )
    derived = " ".join(p for p in (contact.given_name, contact.family_name) if p)
    merged = {
        # A display name that was derived from the names follows them when they change.
        "display_name": "" if contact.display_name == derived else contact.display_name,
        "given_name": contact.given_name,
        "family_name": contact.family_name,
        **changes,
    }
    # Only what was sent is re-validated, except the name trio which derives display_name.
    links = _apply(ctx, contact, merged, contact_id=contact.id, only=set(changes))
    changed = sorted(changes)
    if not changed:
        return get_contact(ctx, contact_id)
    contact.updated_at = ctx.now
    ctx.session.flush()  # bumps version (version_id_col)
    if {"emails", "phones", "tags"} & set(changes):
        repo.replace_lookup_rows(contact)
    if links is not None:
        repo.set_affiliations(contact.id, links)
    if {"tags", "cadence_days"} & set(changes):
        cadence.refresh(ctx, contact)
        health.recompute(ctx, contact)
    search.index_contact(ctx, contact)
    timeline.record(
        ctx,
        contact_id=contact.id,
        type=EventType.CONTACT_UPDATED,
        subject_type="contact",
        subject_id=contact.id,
        summary=f"Changed {', '.join(changed)}",
        data={"changed": changed},
    )
    ctx.session.flush()
    return get_contact(ctx, contact_id)


def get_contact(ctx: Ctx, contact_id: int) -> ContactView:
    ctx.require(Permission.READ)
    repo = _repo(ctx)
    contact = repo.get(contact_id)
    return ContactView(contact, repo.affiliations_of(contact_id))


def list_contacts(
    ctx: Ctx,
    *,
    filters: ContactFilter,
    sort: str = "name",
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    ctx.require(Permission.READ)
    check_limit(limit)
    if sort not in CONTACT_SORTS:
        raise InvalidInput.one("sort", "choice", f"must be one of {', '.join(CONTACT_SORTS)}")
    if filters.stage and filters.stage not in {s.value for s in Stage}:
        raise InvalidInput.one("stage", "choice", f"must be one of {', '.join(Stage)}")
    if filters.kind and filters.kind not in {k.value for k in ContactKind}:
        raise InvalidInput.one("kind", "choice", f"must be one of {', '.join(ContactKind)}")
    if filters.tag:
        filters = ContactFilter(**{**filters.__dict__, "tag": normalize_tag(filters.tag)})
    if filters.q:
        # A search answers one ranked page (best first), never a next one.
        if cursor:
            raise InvalidInput.one("cursor", "with-q", "a search (q) has a single ranked page")
        found = search.search_contacts(ctx, filters.q, filters=filters, limit=limit)
        return Page([r.contact for r in found], None)
    order = CONTACT_SORTS[sort]
    after = _sort_cursor(cursor, order.kind) if cursor else None
    rows = _repo(ctx).list_page(filters, sort=sort, after=after, limit=limit)
    return page_of(rows, limit, key=lambda c: [_cursor_value(order.value(c)), c.id])


def _cursor_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _sort_cursor(cursor: str, kind: type) -> list[Any]:
    """A contact-list cursor: the sort value (typed back from its JSON form) and the id."""
    raw = decode_cursor(cursor, arity=2, types=(int if kind is int else str, int))
    if kind in (date, datetime):
        try:
            value = (
                datetime.fromisoformat(raw[0]) if kind is datetime else date.fromisoformat(raw[0])
            )
        except ValueError:
            raise InvalidInput.one("cursor", "cursor", "not a cursor this list gave out") from None
        if isinstance(value, datetime) and value.tzinfo is None:
            raise InvalidInput.one("cursor", "cursor", "not a cursor this list gave out")
        return [value, raw[1]]
    return raw


# --- validation and normalization -------------------------------------------------------------


def _apply(
    ctx: Ctx,
    contact: Contact,
    values: Mapping[str, Any],
    *,
    contact_id: int | None,
    only: set[str] | None = None,
) -> list[tuple[int, str]] | None:
    """Validate ``values`` into ``contact``; all errors at once, nothing changed on error.

    Returns the organization links to write, or None when they are not being set.
    """
    errors: list[FieldError] = []
    out: dict[str, Any] = {}

    def wants(name: str) -> bool:
        return only is None or name in only

    kind = ContactKind(contact.kind)
    _names(kind, values, out, errors, wants)
    if wants("timezone"):
        tz = values.get("timezone")
        if tz and not is_valid_timezone(tz):
            errors.append(FieldError("timezone", "timezone", f"{tz!r} is not an IANA time zone"))
        out["timezone"] = tz or None
    if wants("emails"):
        out["emails"] = _emails(values.get("emails") or (), errors)
    if wants("phones"):
        tz = out.get("timezone", contact.timezone) or ctx.workspace_timezone
        out["phones"] = _phones(values.get("phones") or (), region_of_timezone(tz), errors)
    if wants("tags"):
        out["tags"] = _tags(values.get("tags") or (), errors)
    if wants("address"):
        address = values.get("address")
        out["address"] = (
            {k: v for k, v in dict(address).items() if v not in (None, "")} or None
            if address
            else None
        )
    if wants("notes"):
        out["notes"] = values.get("notes") or ""
    if wants("cadence_days"):
        try:
            out["cadence_days"] = check_cadence(values.get("cadence_days"))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if wants("do_not_email"):
        out["do_not_email"] = bool(values.get("do_not_email"))
    if wants("owner_id"):
        owner_id = values.get("owner_id")
        check_member(ctx, owner_id, errors, "owner_id")
        out["owner_id"] = owner_id
    links = None
    if wants("organizations"):
        links = _organizations(ctx, kind, values.get("organizations") or (), contact_id, errors)
    if errors:
        raise InvalidInput(errors)
    if "emails" in out:
        taken = _repo(ctx).emails_taken(
            [e["email"] for e in out["emails"]], except_contact=contact_id
        )
        if taken:
            raise DuplicateValue(
                f"another contact already has {', '.join(sorted(taken))}",
                field="emails",
                values=sorted(taken),
            )
    for name, value in out.items():
        setattr(contact, name, value)
    return links


def _names(
    kind: ContactKind,
    values: Mapping[str, Any],
    out: dict[str, Any],
    errors: list[FieldError],
    wants: Any,
) -> None:
    given = (values.get("given_name") or "").strip() or None
    family = (values.get("family_name") or "").strip() or None
    display = (values.get("display_name") or "").strip()
    if (
        kind is ContactKind.ORGANIZATION
        and (given or family)
        and (wants("given_name") or wants("family_name"))
    ):
        errors.append(FieldError("given_name", "person-only", "organizations have no given name"))
    if not display:
        display = " ".join(p for p in (given, family) if p)
    if not display:
        errors.append(
            FieldError("display_name", "required", "give a display name or a given/family name")
        )
    elif len(display) > 300:
        errors.append(FieldError("display_name", "max-length", "at most 300 characters"))
    out.update(
        # lower() can lengthen a name ("İ" → "i̇"); the sort key must still fit its column.
        display_name=display,
        sort_name=display.lower()[:300],
        given_name=given,
        family_name=family,
    )


def _emails(items: Sequence[EmailIn], errors: list[FieldError]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        email, error = normalize_email(item.email, f"emails[{i}].email")
        if error:
            errors.append(error)
            continue
        assert email is not None
        if email in seen:
            errors.append(FieldError(f"emails[{i}].email", "unique", "given twice"))
            continue
        seen.add(email)
        result.append({"email": email, "label": item.label, "primary": item.primary})
    return _one_primary(result, "emails", errors)


def _phones(
    items: Sequence[PhoneIn], region: str | None, errors: list[FieldError]
) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        number, error = normalize_phone(item.number, f"phones[{i}].number", region)
        if error:
            errors.append(error)
            continue
        result.append({"number": number, "label": item.label, "primary": item.primary})
    return _one_primary(result, "phones", errors)


def _one_primary(
    items: list[dict[str, Any]], name: str, errors: list[FieldError]
) -> list[dict[str, Any]]:
    """Exactly one primary, listed first; the first one if none was marked."""
    primaries = [i for i, item in enumerate(items) if item["primary"]]
    if len(primaries) > 1:
        errors.append(FieldError(name, "one-primary", "only one may be primary"))
        return items
    if items:
        first = primaries[0] if primaries else 0
        items[first]["primary"] = True
        items.insert(0, items.pop(first))
    return items


def _tags(items: Sequence[str], errors: list[FieldError]) -> list[str]:
    tags: list[str] = []
    for i, raw in enumerate(items):
        tag = normalize_tag(raw)
        if not tag:
            errors.append(FieldError(f"tags[{i}]", "required", "a tag cannot be empty"))
        elif len(tag) > MAX_TAG_LENGTH:
            errors.append(FieldError(f"tags[{i}]", "max-length", f"at most {MAX_TAG_LENGTH}"))
        elif tag not in tags:
            tags.append(tag)
    return tags


def _organizations(
    ctx: Ctx,
    kind: ContactKind,
    links: Sequence[OrganizationLink],
    contact_id: int | None,
    errors: list[FieldError],
) -> list[tuple[int, str]]:
    if links and kind is not ContactKind.PERSON:
        errors.append(
            FieldError("organizations", "person-only", "only a person belongs to organizations")
        )
        return []
    ids = [link.organization_id for link in links]
    found = _repo(ctx).existing_ids(ids, kind=ContactKind.ORGANIZATION.value)
    result: list[tuple[int, str]] = []
    for i, link in enumerate(links):
        if link.organization_id not in found or link.organization_id == contact_id:
            errors.append(
                FieldError(
                    f"organizations[{i}].organization_id", "organization", "no such organization"
                )
            )
        elif link.organization_id not in {org for org, _ in result}:
            result.append((link.organization_id, link.title.strip()))
    return result
