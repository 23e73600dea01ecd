"""The report of a vCard import."""

from __future__ import annotations

from tenure.api.schemas.common import Output
from tenure.services.vcard import ImportReport


class CardProblemRead(Output):
    card: int
    name: str
    field: str
    value: str
    rule: str
    message: str


class VCardImportRead(Output):
    dry_run: bool
    cards: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    failed: int
    organizations_created: int
    problems: list[CardProblemRead]


def import_read(report: ImportReport) -> VCardImportRead:
    return VCardImportRead.model_validate(report.as_dict())
