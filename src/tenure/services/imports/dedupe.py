"""Finding the contact a row already is: by external id, then email, then phone.

One query per key kind per batch (``ImportLookups``), then rows are matched in order against
what the database had plus what this batch has created so far, so two rows of one file that
describe the same contact are one contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from tenure.db.repositories.imports import ImportLookups
from tenure.domain.imports.rows import ContactRow


class OnDuplicate(StrEnum):
    SKIP = "skip"
    UPDATE = "update"
    CREATE = "create"


@dataclass(frozen=True)
class Match:
    contact_id: int
    #: external_id, email or phone: what matched.
    by: str
    value: str


@dataclass
class Matcher:
    source: str
    emails: dict[str, int] = field(default_factory=dict)
    phones: dict[str, int] = field(default_factory=dict)
    external: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, lookups: ImportLookups, source: str, rows: Sequence[ContactRow]) -> Matcher:
        return cls(
            source=source,
            emails=lookups.by_email(e for r in rows for e in r.emails),
            phones=lookups.by_phone(p for r in rows for p in r.phones),
            external=lookups.by_external_id(source, (r.external_id for r in rows if r.external_id)),
        )

    def match(self, row: ContactRow) -> Match | None:
        if row.external_id and row.external_id in self.external:
            return Match(self.external[row.external_id], "external_id", row.external_id)
        for email in row.emails:
            if email in self.emails:
                return Match(self.emails[email], "email", email)
        for phone in row.phones:
            if phone in self.phones:
                return Match(self.phones[phone], "phone", phone)
        return None

    def taken(self, row: ContactRow) -> tuple[str, str] | None:
        """A unique value of the row another contact holds (a new contact cannot have it)."""
        if row.external_id and row.external_id in self.external:
            return "external_id", row.external_id
        for email in row.emails:
            if email in self.emails:
                return "emails", email
        return None

    def resolve_placeholders(self, ids: dict[int, int]) -> None:
        """New contacts were written: their placeholders (< 0) become their ids."""
        for index in (self.emails, self.phones, self.external):
            for key, value in index.items():
                if value < 0:
                    index[key] = ids[value]

    def forget_placeholders(self) -> None:
        """A failed row's unwritten contacts are gone: forget what pointed at them."""
        for index in (self.emails, self.phones, self.external):
            for key in [k for k, v in index.items() if v < 0]:
                del index[key]

    def remember(self, contact_id: int, row: ContactRow) -> None:
        """Later rows of the batch match the contact this row created or updated."""
        for email in row.emails:
            self.emails.setdefault(email, contact_id)
        for phone in row.phones:
            self.phones.setdefault(phone, contact_id)
        if row.external_id:
            self.external.setdefault(row.external_id, contact_id)
