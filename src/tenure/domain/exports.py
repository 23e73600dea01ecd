"""Export formats: CSV cells that spreadsheets cannot run, and the archive's format identity.

A CSV cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which
some spreadsheets skip before reading a formula) is run as a formula when the file is opened:
``=HYPERLINK(…)`` in a contact's name would act on whoever opens the export. Following the
OWASP guidance on CSV injection, such a cell gets a leading apostrophe, which spreadsheets show
as text and do not display. Everything else is left exactly as it is.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

#: The first characters that make a spreadsheet read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: The archive format: its name and version are in every archive's manifest.
ARCHIVE_FORMAT = "tenure-workspace-archive"
ARCHIVE_VERSION = 1


def neutralize(cell: str) -> str:
    """The cell as a spreadsheet will show it as text, never as a formula."""
    if cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def cell_text(value: Any) -> str:
    """One value as CSV cell text: empty for none, ISO 8601 for times, JSON for structures,
    ``;``-joined for lists of plain strings (tags); always neutralized."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return neutralize("; ".join(value))
    if isinstance(value, dict | list):
        return neutralize(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return neutralize(str(value))


def check_manifest(manifest: Any) -> list[str]:
    """What is wrong with an archive's manifest (empty when it can be imported)."""
    if not isinstance(manifest, dict):
        return ["manifest.json is not a JSON object"]
    problems = []
    if manifest.get("format") != ARCHIVE_FORMAT:
        problems.append(f"not a Tenure workspace archive (format {manifest.get('format')!r})")
    elif manifest.get("format_version") != ARCHIVE_VERSION:
        problems.append(
            f"archive format version {manifest.get('format_version')!r} is not supported "
            f"(this Tenure reads version {ARCHIVE_VERSION})"
        )
    if not isinstance(manifest.get("counts"), dict):
        problems.append("manifest.json has no table counts")
    return problems
