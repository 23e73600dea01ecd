"""The fields an import can fill, and presets: where common exports keep them.

A mapping names, for each target field, the source column(s) it comes from. Fields ending in
``s`` in ``LIST_FIELDS`` take several columns (a second email, a mobile beside a phone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ImportKind(StrEnum):
    CONTACTS = "contacts"
    INTERACTIONS = "interactions"


#: Target fields of a contacts import.
CONTACT_FIELDS = (
    "kind",
    "display_name",
    "given_name",
    "family_name",
    "emails",
    "phones",
    "organization",
    "job_title",
    "tags",
    "notes",
    "timezone",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "external_id",
    "client_since",
    "ended_on",
    "end_reason",
    "agreement_title",
    "agreement_kind",
    "agreement_ends_on",
    "agreement_value",
    "agreement_currency",
)

#: Target fields of an interactions import.
INTERACTION_FIELDS = (
    "email",
    "external_id",
    "occurred_at",
    "channel",
    "direction",
    "subject",
    "body",
)

#: Fields that take several columns (their values are collected in order).
LIST_FIELDS = frozenset({"emails", "phones", "tags", "notes"})

FIELDS_BY_KIND: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.CONTACTS: CONTACT_FIELDS,
    ImportKind.INTERACTIONS: INTERACTION_FIELDS,
}


@dataclass(frozen=True)
class Preset:
    name: str
    kind: ImportKind
    #: field → source column names, in order of preference/collection.
    columns: dict[str, tuple[str, ...]]
    #: strptime formats tried for dates after ISO 8601.
    date_formats: tuple[str, ...] = ()
    #: Where external ids come from (``contact_external_ids.source``).
    source: str = "import"
    #: Labels that carry no meaning (Google's "* myContacts" group).
    ignored_tags: frozenset[str] = field(default_factory=frozenset)


GOOGLE = Preset(
    name="google",
    kind=ImportKind.CONTACTS,
    columns={
        "given_name": ("First Name", "Given Name"),
        "family_name": ("Last Name", "Family Name"),
        "emails": ("E-mail 1 - Value", "E-mail 2 - Value", "E-mail 3 - Value"),
        "phones": ("Phone 1 - Value", "Phone 2 - Value", "Phone 3 - Value"),
        "organization": ("Organization Name", "Organization 1 - Name"),
        "job_title": ("Organization Title", "Organization 1 - Title"),
        "tags": ("Labels", "Group Membership"),
        "notes": ("Notes",),
        "street": ("Address 1 - Street",),
        "city": ("Address 1 - City",),
        "region": ("Address 1 - Region",),
        "postal_code": ("Address 1 - Postal Code",),
        "country": ("Address 1 - Country",),
    },
    source="google",
    ignored_tags=frozenset({"mycontacts", "starred"}),
)

HUBSPOT = Preset(
    name="hubspot",
    kind=ImportKind.CONTACTS,
    columns={
        "external_id": ("Record ID", "Contact ID"),
        "given_name": ("First Name",),
        "family_name": ("Last Name",),
        "emails": ("Email",),
        "phones": ("Phone Number", "Mobile Phone Number"),
        "organization": ("Company Name",),
        "job_title": ("Job Title",),
        "client_since": ("Became a Customer Date",),
        "street": ("Street Address",),
        "city": ("City",),
        "region": ("State/Region",),
        "postal_code": ("Postal Code",),
        "country": ("Country/Region",),
    },
    date_formats=("%m/%d/%Y",),
    source="hubspot",
)

SALESFORCE = Preset(
    name="salesforce",
    kind=ImportKind.CONTACTS,
    columns={
        "external_id": ("Contact ID", "Id"),
        "given_name": ("First Name",),
        "family_name": ("Last Name",),
        "emails": ("Email",),
        "phones": ("Phone", "Mobile"),
        "organization": ("Account Name",),
        "job_title": ("Title",),
        "notes": ("Description",),
        "street": ("Mailing Street",),
        "city": ("Mailing City",),
        "region": ("Mailing State/Province",),
        "postal_code": ("Mailing Zip/Postal Code",),
        "country": ("Mailing Country",),
    },
    date_formats=("%m/%d/%Y",),
    source="salesforce",
)

GENERIC = Preset(
    name="generic",
    kind=ImportKind.CONTACTS,
    columns={
        **{name: (name,) for name in CONTACT_FIELDS},
        "emails": ("email", "emails", "email2", "email_2"),
        "phones": ("phone", "phones", "phone2", "phone_2", "mobile"),
        "display_name": ("display_name", "name"),
        "organization": ("organization", "company"),
    },
)

GENERIC_INTERACTIONS = Preset(
    name="generic",
    kind=ImportKind.INTERACTIONS,
    columns={
        **{name: (name,) for name in INTERACTION_FIELDS},
        "email": ("email", "contact_email"),
        "occurred_at": ("occurred_at", "date", "when"),
    },
)

PRESETS: dict[str, Preset] = {p.name: p for p in (GOOGLE, HUBSPOT, SALESFORCE, GENERIC)}
INTERACTION_PRESETS: dict[str, Preset] = {"generic": GENERIC_INTERACTIONS}


def presets_for(kind: ImportKind) -> dict[str, Preset]:
    return PRESETS if kind is ImportKind.CONTACTS else INTERACTION_PRESETS
