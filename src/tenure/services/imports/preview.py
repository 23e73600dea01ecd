"""What an import would make of a file, before anything is written: for the mapping screen.

Detected encoding and delimiter, the header, the suggested (or given) mapping, and the first
rows as they map, each with its problems and what would happen to it (create, update, skip).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import Enum
from itertools import islice
from typing import Any

from tenure.db.repositories.imports import ImportLookups
from tenure.domain.access import Permission
from tenure.domain.errors import InvalidInput
from tenure.domain.imports.mapping import resolve
from tenure.domain.imports.presets import ImportKind
from tenure.domain.imports.rows import ContactRow, contact_row, interaction_row
from tenure.services.context import Ctx
from tenure.services.imports.dedupe import Matcher, OnDuplicate
from tenure.services.imports.jobs import ImportRequest, choose_mapping
from tenure.services.imports.source import Opener, inspect, records, set_field_limit

MAX_PREVIEW_ROWS = 200


@dataclass(frozen=True)
class PreviewRow:
    row: int
    values: dict[str, Any]
    problems: list[dict[str, Any]]
    #: create, update, skip (a duplicate), or invalid.
    action: str


@dataclass(frozen=True)
class Preview:
    encoding: str
    delimiter: str
    headers: list[str]
    preset: str | None
    mapping: dict[str, Any]
    rows: list[PreviewRow]


def preview(ctx: Ctx, opener: Opener, request: ImportRequest, *, limit: int = 20) -> Preview:
    ctx.require(Permission.WRITE)
    request = request.checked()
    if not 1 <= limit <= MAX_PREVIEW_ROWS:
        raise InvalidInput.one("limit", "range", f"between 1 and {MAX_PREVIEW_ROWS}")
    set_field_limit()
    dialect = inspect(opener, delimiter=request.delimiter)
    mapping = choose_mapping(request, dialect.headers)
    resolved = resolve(mapping, dialect.headers)
    with records(opener, dialect.encoding, dialect.delimiter) as rows:
        sample = list(islice(rows, limit))
    parsed: list[tuple[int, Any, list[Any]]] = []
    for offset, values in enumerate(sample):
        number = offset + 2
        row: Any
        if mapping.kind is ImportKind.CONTACTS:
            row, problems = contact_row(
                number, values, resolved, region=request.region, today=ctx.today
            )
        else:
            row, problems = interaction_row(
                number, values, resolved, timezone=ctx.workspace_timezone, now=ctx.now
            )
        parsed.append((number, row, problems))
    contacts = [row for _, row, _ in parsed if isinstance(row, ContactRow)]
    matcher = Matcher.load(ImportLookups(ctx.session, ctx.workspace_id), mapping.source, contacts)
    on_duplicate = OnDuplicate(request.on_duplicate)
    return Preview(
        encoding=dialect.encoding,
        delimiter=dialect.delimiter,
        headers=dialect.headers,
        preset=mapping.preset,
        mapping=mapping.as_dict(),
        rows=[
            PreviewRow(
                row=number,
                values=_plain(asdict(row)) if row is not None else {},
                problems=[p.as_dict() for p in problems],
                action=_action(row, matcher, on_duplicate),
            )
            for number, row, problems in parsed
        ],
    )


def _action(row: Any, matcher: Matcher, on_duplicate: OnDuplicate) -> str:
    if row is None:
        return "invalid"
    if not isinstance(row, ContactRow):
        return "create"
    match = matcher.match(row)
    if match is None or on_duplicate is OnDuplicate.CREATE:
        return "create"
    return "skip" if on_duplicate is OnDuplicate.SKIP else "update"


def _plain(value: Any) -> Any:
    """JSON-ready: dates as ISO text, enums as their values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "row"}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value
