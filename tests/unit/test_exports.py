"""CSV cells that cannot run as formulas, the archive manifest check, and the archive's
coverage of every table."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from tenure.db.models import Base
from tenure.domain.exports import (
    ARCHIVE_FORMAT,
    ARCHIVE_VERSION,
    FORMULA_PREFIXES,
    cell_text,
    check_manifest,
    neutralize,
)
from tenure.services.exports.spec import (
    EXCLUDED_COLUMNS,
    EXCLUDED_TABLES,
    GLOBAL_TABLES,
    JSON_ID_KEYS,
    POLYMORPHIC,
    archived_tables,
    references,
    strip_secrets,
)


@given(st.text())
def test_a_neutralized_cell_never_starts_a_formula_and_keeps_its_text(cell: str) -> None:
    out = neutralize(cell)
    assert not out.startswith(FORMULA_PREFIXES)
    if cell.startswith(FORMULA_PREFIXES):
        assert out == "'" + cell
    else:
        assert out == cell


@given(st.sampled_from(FORMULA_PREFIXES), st.text())
def test_every_formula_prefix_is_neutralized(prefix: str, rest: str) -> None:
    assert neutralize(prefix + rest) == "'" + prefix + rest


@given(st.lists(st.text(), max_size=5))
def test_cells_survive_the_csv_writer_and_reader(cells: list[str]) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerow([cell_text(c) for c in cells])
    back = next(csv.reader(io.StringIO(buf.getvalue()))) if cells else []
    assert back == [neutralize(c) for c in cells]


def test_cell_text_of_values() -> None:
    assert cell_text(None) == ""
    assert cell_text(True) == "true"
    assert cell_text(date(2025, 3, 1)) == "2025-03-01"
    assert cell_text(datetime(2025, 3, 1, 9, tzinfo=UTC)) == "2025-03-01T09:00:00+00:00"
    assert cell_text(["vip", "-risk"]) == "vip; -risk"
    assert cell_text(["=1"]) == "'=1"
    assert cell_text({"city": "Köln"}) == '{"city": "Köln"}'
    assert cell_text(-5) == "'-5"  # a negative number reads as a formula too


def test_manifest_check_names_the_problem() -> None:
    good = {"format": ARCHIVE_FORMAT, "format_version": ARCHIVE_VERSION, "counts": {}}
    assert check_manifest(good) == []
    assert "not a Tenure" in check_manifest({**good, "format": "zip"})[0]
    assert "version 2" in check_manifest({**good, "format_version": 2})[0]
    assert check_manifest([]) == ["manifest.json is not a JSON object"]
    assert check_manifest({**good, "counts": None}) == ["manifest.json has no table counts"]


def test_every_table_is_archived_or_excluded_with_a_reason() -> None:
    archived = {s.name for s in archived_tables()}
    for table in Base.metadata.sorted_tables:
        reason = EXCLUDED_TABLES.get(table.name) or GLOBAL_TABLES.get(table.name)
        assert (table.name in archived) != bool(reason), (
            f"{table.name}: archive it, or add it to EXCLUDED_TABLES with the reason"
        )
    for (table, column), reason in EXCLUDED_COLUMNS.items():
        assert table in archived and column in Base.metadata.tables[table].c and reason


def test_archived_rows_come_after_what_they_reference() -> None:
    order = [s.name for s in archived_tables()]
    position = {name: i for i, name in enumerate(order)}
    for spec in archived_tables():
        for column, target in references(spec.table).items():
            assert target not in EXCLUDED_TABLES, f"{spec.name}.{column} → excluded {target}"
            if target in position and target != spec.name:
                assert position[target] < position[spec.name], (spec.name, column)
    for (table, _), (_, kinds) in POLYMORPHIC.items():
        assert all(position[t] < position[table] for t in kinds.values())
    assert set(JSON_ID_KEYS.values()) <= set(position) | {"users"}


def test_secrets_are_stripped_from_settings_at_any_depth() -> None:
    settings = {
        "smtp": {"host": "h", "password": "p", "username": "u"},
        "invites": {"abc": {"user_id": 1}},
        "cadence_days": 30,
        "hooks": [{"api_key": "k", "name": "n"}, {"signing_secret": "s"}],
    }
    assert strip_secrets(settings) == {
        "smtp": {"host": "h", "username": "u"},
        "cadence_days": 30,
        "hooks": [{"name": "n"}, {}],
    }
