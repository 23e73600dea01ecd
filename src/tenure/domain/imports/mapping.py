"""Column mappings: which columns of a file fill which fields, suggested or given.

A mapping is written (mapping file, API form field) either flat, ``{"given_name": "First"}``,
or with options, ``{"fields": {...}, "date_formats": ["%d.%m.%Y"], "source": "crm"}``. A field
takes one column name, or a list of them for the list fields (emails, phones, tags, notes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenure.domain.errors import FieldError, InvalidInput
from tenure.domain.imports.presets import (
    FIELDS_BY_KIND,
    LIST_FIELDS,
    ImportKind,
    Preset,
    presets_for,
)

MAX_SOURCE_LENGTH = 40


@dataclass(frozen=True)
class ColumnMapping:
    kind: ImportKind
    #: field → the header names it is read from, in order.
    fields: dict[str, tuple[str, ...]]
    date_formats: tuple[str, ...] = ()
    source: str = "import"
    ignored_tags: frozenset[str] = field(default_factory=frozenset)
    preset: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The mapping as a mapping file spells it (stored on the import, shown in previews)."""
        return {
            "fields": {
                name: list(cols) if name in LIST_FIELDS else cols[0]
                for name, cols in self.fields.items()
            },
            "date_formats": list(self.date_formats),
            "source": self.source,
        }


@dataclass(frozen=True)
class Resolved:
    """A mapping bound to one file's header: field → (column index, header name) pairs."""

    mapping: ColumnMapping
    columns: dict[str, tuple[tuple[int, str], ...]]

    def has(self, name: str) -> bool:
        return name in self.columns


def header_key(name: str) -> str:
    """Headers are matched without case, surrounding spaces or a byte-order mark."""
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def _present(preset: Preset, headers: Sequence[str]) -> dict[str, tuple[str, ...]]:
    by_key: dict[str, str] = {}
    for h in headers:
        by_key.setdefault(header_key(h), h)
    found: dict[str, tuple[str, ...]] = {}
    for name, candidates in preset.columns.items():
        cols = [by_key[header_key(c)] for c in candidates if header_key(c) in by_key]
        cols = list(dict.fromkeys(cols))
        if cols:
            found[name] = tuple(cols) if name in LIST_FIELDS else (cols[0],)
    return found


def from_preset(preset: Preset, headers: Sequence[str]) -> ColumnMapping:
    return ColumnMapping(
        kind=preset.kind,
        fields=_present(preset, headers),
        date_formats=preset.date_formats,
        source=preset.source,
        ignored_tags=preset.ignored_tags,
        preset=preset.name,
    )


def suggest(kind: ImportKind, headers: Sequence[str]) -> ColumnMapping:
    """The preset that recognizes the most columns (the generic one on a tie)."""
    presets = presets_for(kind)
    best = max(
        presets.values(),
        key=lambda p: (sum(len(c) for c in _present(p, headers).values()), p.name == "generic"),
    )
    return from_preset(best, headers)


def preset_named(kind: ImportKind, name: str) -> Preset:
    presets = presets_for(kind)
    if name not in presets:
        raise InvalidInput.one("preset", "choice", f"must be one of {', '.join(sorted(presets))}")
    return presets[name]


def from_spec(
    kind: ImportKind, spec: Mapping[str, Any], *, base: Preset | None = None
) -> ColumnMapping:
    """A mapping from its written form; every mistake at once, each naming its field."""
    if not isinstance(spec, Mapping):
        raise InvalidInput.one("mapping", "type", "a mapping is a JSON object")
    raw = spec.get("fields", spec)
    options = spec if "fields" in spec else {}
    errors: list[FieldError] = []
    if not isinstance(raw, Mapping):
        raise InvalidInput.one("mapping.fields", "type", "fields is a JSON object")
    known = FIELDS_BY_KIND[kind]
    fields: dict[str, tuple[str, ...]] = {}
    for name, value in raw.items():
        where = f"mapping.{name}"
        if name not in known:
            errors.append(FieldError(where, "field", f"no such field; one of {', '.join(known)}"))
            continue
        cols = [value] if isinstance(value, str) else value
        if not isinstance(cols, list) or not all(isinstance(c, str) and c for c in cols):
            errors.append(FieldError(where, "type", "a column name, or a list of them"))
            continue
        if len(cols) > 1 and name not in LIST_FIELDS:
            errors.append(FieldError(where, "one-column", "this field takes one column"))
            continue
        if cols:
            fields[name] = tuple(cols)
    formats = options.get("date_formats", list(base.date_formats) if base else [])
    if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
        errors.append(FieldError("mapping.date_formats", "type", "a list of strptime formats"))
        formats = []
    source = options.get("source", base.source if base else "import")
    if not isinstance(source, str) or not 0 < len(source.strip()) <= MAX_SOURCE_LENGTH:
        errors.append(FieldError("mapping.source", "type", "a name of at most 40 characters"))
        source = "import"
    if errors:
        raise InvalidInput(errors)
    return ColumnMapping(
        kind=kind,
        fields=fields,
        date_formats=tuple(formats),
        source=source.strip(),
        ignored_tags=base.ignored_tags if base else frozenset(),
        preset=base.name if base else None,
    )


def resolve(mapping: ColumnMapping, headers: Sequence[str]) -> Resolved:
    """Bind a mapping to a header row; a column the file does not have is an error."""
    index: dict[str, int] = {}
    for i, h in enumerate(headers):
        index.setdefault(header_key(h), i)
    errors: list[FieldError] = []
    columns: dict[str, tuple[tuple[int, str], ...]] = {}
    for name, cols in mapping.fields.items():
        bound = []
        for col in cols:
            key = header_key(col)
            if key not in index:
                errors.append(
                    FieldError(f"mapping.{name}", "column", f"the file has no column {col!r}")
                )
            else:
                bound.append((index[key], headers[index[key]]))
        columns[name] = tuple(bound)
    errors += _required(mapping)
    if errors:
        raise InvalidInput(errors)
    return Resolved(mapping, columns)


def _required(mapping: ColumnMapping) -> list[FieldError]:
    have = set(mapping.fields)
    if mapping.kind is ImportKind.CONTACTS:
        names = {"display_name", "given_name", "family_name", "organization", "emails"}
        if not have & names:
            return [FieldError("mapping", "required", "map a name, organization or email column")]
        return []
    errors = []
    if not have & {"email", "external_id"}:
        errors.append(FieldError("mapping.email", "required", "map the contact's email or id"))
    if "occurred_at" not in have:
        errors.append(FieldError("mapping.occurred_at", "required", "map when it happened"))
    return errors
