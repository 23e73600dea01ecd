"""The person (or organization) a vCard describes, in Tenure's words, and the vCard versions.

A ``Card`` is what a vCard and a contact have in common: the parser reads one from a vCard, the
writer writes one out, and the importer turns one into a contact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tenure.domain.contacts import ContactKind
from tenure.domain.errors import InvalidInput

VERSIONS = ("3.0", "4.0")

#: vCard types of an email or phone → the label a contact stores (the API's "work", "mobile" …).
#: The first type that is listed here names the label; "voice", "internet" and "pref" do not.
LABEL_OF_TYPE = {
    "cell": "mobile",
    "mobile": "mobile",
    "iphone": "mobile",
    "fax": "fax",
    "pager": "pager",
    "work": "work",
    "home": "home",
    "main": "main",
    "other": "other",
}

#: The reverse, for export: a label → the TYPE values of vCard (a label not here is written as
#: an Apple-style ``itemN.X-ABLabel``, which every common address book reads).
EMAIL_TYPES = {"work": ["work"], "home": ["home"]}
PHONE_TYPES = {
    "mobile": ["cell", "voice"],
    "work": ["work", "voice"],
    "home": ["home", "voice"],
    "fax": ["fax"],
    "pager": ["pager"],
}

MAX_LABEL = 40


@dataclass(frozen=True)
class CardEmail:
    email: str
    label: str | None = None
    primary: bool = False


@dataclass(frozen=True)
class CardPhone:
    number: str
    label: str | None = None
    primary: bool = False


@dataclass
class Card:
    kind: ContactKind = ContactKind.PERSON
    display_name: str = ""
    given_name: str | None = None
    family_name: str | None = None
    #: A person's organization (ORG) and their title there (TITLE).
    organization: str | None = None
    title: str = ""
    emails: list[CardEmail] = field(default_factory=list)
    phones: list[CardPhone] = field(default_factory=list)
    #: {street, locality, region, postal_code, country}, as a contact stores it.
    address: dict[str, str] | None = None
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    timezone: str | None = None
    uid: str | None = None
    #: Where the card says the person lives (ISO 3166 alpha-2), for phone numbers written
    #: without a country code.
    region: str | None = None


@dataclass(frozen=True)
class CardProblem:
    """Why a card (1-based ``card``) was not imported: the vCard property, its value, the rule."""

    card: int
    field: str
    value: str
    rule: str
    message: str
    name: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "card": self.card,
            "name": self.name,
            "field": self.field,
            "value": self.value,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass
class ParsedCard:
    """One card of a file: what it says, or why it cannot be read."""

    index: int
    card: Card | None
    problems: list[CardProblem] = field(default_factory=list)


def check_version(version: str) -> str:
    if version not in VERSIONS:
        raise InvalidInput.one("version", "choice", f"must be one of {', '.join(VERSIONS)}")
    return version
