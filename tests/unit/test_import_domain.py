"""The pure parts of CSV import: presets and mappings, row normalization, values, delimiters."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.errors import InvalidInput
from tenure.domain.imports.mapping import from_spec, resolve, suggest
from tenure.domain.imports.presets import ImportKind
from tenure.domain.imports.rows import contact_row
from tenure.domain.imports.sniff import detect_delimiter
from tenure.domain.imports.values import minor_units, parse_date, parse_moment

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"
TODAY = date(2026, 12, 1)


def _header(name: str) -> list[str]:
    with open(FIXTURES / name, newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


@pytest.mark.parametrize(
    ("name", "preset"),
    [
        ("google-contacts.csv", "google"),
        ("hubspot-contacts.csv", "hubspot"),
        ("salesforce-contacts.csv", "salesforce"),
    ],
)
def test_the_preset_is_recognized_from_the_header(name: str, preset: str) -> None:
    mapping = suggest(ImportKind.CONTACTS, _header(name))
    assert mapping.preset == preset
    assert {"given_name", "family_name", "emails", "phones"} <= set(mapping.fields)


def test_generic_header_maps_to_fields_by_name() -> None:
    mapping = suggest(ImportKind.CONTACTS, ["Name", "Email", "client_since", "Phone2"])
    assert mapping.preset == "generic"
    assert mapping.fields["display_name"] == ("Name",)
    assert mapping.fields["emails"] == ("Email",)
    assert mapping.fields["phones"] == ("Phone2",)
    assert mapping.fields["client_since"] == ("client_since",)


def test_a_mapping_file_names_each_mistake() -> None:
    with pytest.raises(InvalidInput) as caught:
        from_spec(
            ImportKind.CONTACTS,
            {"fields": {"nickname": "Nick", "given_name": ["A", "B"], "emails": 3}},
        )
    assert {(e.field, e.rule) for e in caught.value.errors} == {
        ("mapping.nickname", "field"),
        ("mapping.given_name", "one-column"),
        ("mapping.emails", "type"),
    }


def test_a_mapped_column_the_file_lacks_is_an_error() -> None:
    mapping = from_spec(ImportKind.CONTACTS, {"given_name": "First", "emails": ["Mail"]})
    with pytest.raises(InvalidInput) as caught:
        resolve(mapping, ["First", "E-mail"])
    assert [(e.field, e.rule) for e in caught.value.errors] == [("mapping.emails", "column")]


def test_a_mapping_without_a_name_or_email_is_refused() -> None:
    mapping = from_spec(ImportKind.CONTACTS, {"city": "City"})
    with pytest.raises(InvalidInput) as caught:
        resolve(mapping, ["City"])
    assert caught.value.errors[0].rule == "required"


def test_values() -> None:
    assert parse_date("2024-02-29") == date(2024, 2, 29)
    assert parse_date("2023-03-01 00:00") == date(2023, 3, 1)
    assert parse_date("3/14/2022", ["%m/%d/%Y"]) == date(2022, 3, 14)
    assert parse_date("3/14/2022") is None
    assert parse_date("2023-02-30") is None
    assert minor_units("1,200.50", "GBP") == 120050
    assert minor_units("1200", "JPY") == 1200
    assert minor_units("12.345", "EUR") is None
    assert minor_units("-5", "EUR") is None
    assert minor_units("abc", "EUR") is None
    assert parse_moment("2025-01-01T10:00:00+02:00", "UTC").hour == 8  # type: ignore[union-attr]
    assert parse_moment("2025-07-01 10:00", "Europe/London").hour == 9  # type: ignore[union-attr]


# --- properties --------------------------------------------------------------------------------

names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=40)
cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
HEADER = ["name", "given_name", "family_name", "email", "phone", "tags", "client_since"]
RESOLVED = resolve(suggest(ImportKind.CONTACTS, HEADER), HEADER)


@settings(max_examples=300, deadline=None)
@given(st.lists(cells, min_size=0, max_size=len(HEADER) + 2))
def test_any_record_gives_a_contact_or_problems_never_an_exception(values: list[str]) -> None:
    row, problems = contact_row(2, values, RESOLVED, region="GB", today=TODAY)
    assert (row is None) == bool(problems)
    for problem in problems:
        assert problem.row == 2
        assert problem.rule
        assert problem.column in HEADER
    if row is not None:
        assert row.name.strip()
        assert all(e == e.lower() for e in row.emails)
        assert len(set(row.emails)) == len(row.emails)
        assert all(p.startswith("+") for p in row.phones)
        assert all(t == " ".join(t.lower().split()) and t for t in row.tags)
        assert row.client_since is None or row.client_since <= TODAY


@settings(max_examples=200, deadline=None)
@given(
    local=st.from_regex(r"[a-z][a-z0-9.]{0,15}[a-z0-9]", fullmatch=True),
    given_name=names,
    tags=st.lists(st.from_regex(r"[A-Za-z][A-Za-z ]{0,10}", fullmatch=True), max_size=4),
)
def test_valid_people_normalize_stably(local: str, given_name: str, tags: list[str]) -> None:
    """A valid row keeps its identity: the email lower-cased, tags folded, names trimmed, and
    normalizing what came out again changes nothing (idempotent)."""
    email = f"{local.replace('..', '.')}@Example.COM"
    values = ["", given_name, "Smith", email, "", ", ".join(tags), "2020-01-31"]
    row, problems = contact_row(2, values, RESOLVED, region=None, today=TODAY)
    if row is None:
        assert problems
        return
    assert row.emails == (email.lower(),)
    assert row.given_name == (given_name.strip() or None)
    again, _ = contact_row(
        2,
        ["", row.given_name or "", "Smith", row.emails[0], "", ", ".join(row.tags), "2020-01-31"],
        RESOLVED,
        region=None,
        today=TODAY,
    )
    assert again == row
    assert row.agreement is not None and row.agreement.starts_on == date(2020, 1, 31)


@settings(max_examples=150, deadline=None)
@given(
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    table=st.lists(
        st.lists(st.from_regex(r"[A-Za-z0-9 @.]{1,12}", fullmatch=True), min_size=3, max_size=3),
        min_size=3,
        max_size=8,
    ),
)
def test_the_delimiter_is_detected(delimiter: str, table: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(
        [["name", "email", "city"], *table]
    )
    assert detect_delimiter(out.getvalue()) == delimiter


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(["GBP", "JPY", "KWD"]))
def test_minor_units_round_trip(minor: int, currency: str) -> None:
    exponent = {"GBP": 2, "JPY": 0, "KWD": 3}[currency]
    text = f"{minor / 10**exponent:.{exponent}f}" if exponent else str(minor)
    assert minor_units(text, currency) == minor
