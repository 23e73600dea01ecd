"""Search, duplicates and merge: request and response bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tenure.api.schemas.common import Input, Output
from tenure.api.schemas.contacts import ContactRead

SearchKind = Literal["contact", "interaction", "knowledge", "note", "case"]


class SearchHit(Output):
    kind: SearchKind
    id: int = Field(description="The id of the record of this kind (a note's id is its contact's).")
    contact_id: int | None
    title: str
    snippet: str = Field(description="Text around the matched words, which are marked **so**.")
    score: float = Field(description="Relevance, higher is better; compare within one answer.")


class SearchResults(Output):
    items: list[SearchHit]


class ContactHitRead(Output):
    contact: ContactRead
    score: float = Field(
        description="0-100: 50-100 when every word matched, below 50 for a name with typos."
    )
    matched: Literal["prefix", "fuzzy", "text"]


class ContactSearchResults(Output):
    items: list[ContactHitRead]


class ContactBrief(Output):
    id: int
    kind: str
    display_name: str
    stage: str
    emails: list[str]
    phones: list[str]


class Reason(Output):
    code: str
    detail: str
    weight: int = Field(description="Strength of the evidence (0-100), negative for a penalty.")


class DuplicateRead(Output):
    a: ContactBrief
    b: ContactBrief
    score: int = Field(description="0-100: how likely a and b are one contact.")
    reasons: list[Reason]


class DuplicatePage(Output):
    items: list[DuplicateRead]
    next_cursor: str | None


class DuplicateList(Output):
    items: list[DuplicateRead]


MergePick = Literal["survivor", "other", "both"]


class MergeRequest(Input):
    other_id: int = Field(description="The contact merged into this one (it becomes a pointer).")
    fields: dict[
        Literal[
            "display_name",
            "given_name",
            "family_name",
            "address",
            "timezone",
            "owner_id",
            "notes",
            "cadence_days",
            "do_not_email",
        ],
        MergePick,
    ] = Field(
        default_factory=dict,
        description=(
            "Whose value each field keeps: `survivor` or `other` (`both` for notes). Unnamed "
            "fields keep the survivor's value, or take the other's where the survivor has none; "
            "notes keep both; an opt-out from email is kept. Emails, phones, tags and "
            "organizations are always united."
        ),
    )


class MergeRead(Output):
    survivor: ContactRead
    other_id: int
    fields: dict[str, str]
    moved: dict[str, int] = Field(description="Rows moved to the survivor, per table.column.")
