"""vCard writing and reading without a database: round trips (hypothesis) and the 4.0 forms."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.contacts import ContactKind
from tenure.domain.errors import InvalidInput
from tenure.services.vcard import (
    Card,
    CardEmail,
    CardPhone,
    decode_bytes,
    parse_vcards,
    to_vcard,
    to_vcards,
)

# Text with the characters vCard escapes (, ; \ and line breaks in notes), accents, CJK, emoji.
ALPHABET = st.sampled_from(list("abcXYZ019 -'.&,;:\\\"/éßøÑ中文😀"))


def text(min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[str]:
    return st.text(ALPHABET, min_size=min_size, max_size=max_size).map(str.strip)


names = text(1).filter(bool)
optional_name = st.one_of(st.none(), text(1).filter(bool))
notes = st.lists(text(0, 40), max_size=4).map("\n".join).map(str.strip)
labels = st.one_of(
    st.none(),
    st.sampled_from(["work", "home", "mobile", "fax", "pager", "main"]),
    st.text(st.sampled_from(list("abc xyz,;é")), min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool),
)
emails = st.lists(
    st.tuples(
        st.from_regex(r"[a-z0-9]{1,8}(\.[a-z0-9]{1,5})?@[a-z]{2,8}\.example", fullmatch=True),
        labels,
    ),
    max_size=4,
    unique_by=lambda e: e[0],
)
phones = st.lists(
    st.tuples(st.from_regex(r"\+[1-9][0-9]{7,12}", fullmatch=True), labels),
    max_size=4,
    unique_by=lambda p: p[0],
)
tags = st.lists(
    text(1, 20).map(str.lower).filter(lambda t: t and t != "mycontacts"), max_size=4, unique=True
)
address = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "street": names,
            "locality": names,
            "region": names,
            "postal_code": st.from_regex(r"[A-Z0-9]{2,4} ?[A-Z0-9]{3}", fullmatch=True),
            "country": names,
        },
    ).filter(bool),
)


@st.composite
def cards(draw: st.DrawFn) -> Card:
    kind = draw(st.sampled_from(ContactKind))
    person = kind is ContactKind.PERSON
    given_name = draw(optional_name) if person else None
    family_name = draw(optional_name) if person else None
    mails = draw(emails)
    tels = draw(phones)
    primary_email = draw(st.integers(0, max(len(mails) - 1, 0)))
    primary_phone = draw(st.integers(0, max(len(tels) - 1, 0)))
    return Card(
        kind=kind,
        display_name=draw(names),
        given_name=given_name,
        family_name=family_name,
        organization=draw(optional_name) if person else None,
        title=draw(text()) if person else "",
        emails=[CardEmail(e, label, i == primary_email) for i, (e, label) in enumerate(mails)],
        phones=[CardPhone(p, label, i == primary_phone) for i, (p, label) in enumerate(tels)],
        address=draw(address),
        notes=draw(notes),
        tags=draw(tags),
        timezone=draw(st.sampled_from([None, "Europe/London", "America/New_York", "Asia/Tokyo"])),
        uid=draw(st.one_of(st.none(), st.uuids().map(lambda u: f"urn:uuid:{u}"))),
    )


def _looks_like_its_organization(card: Card) -> bool:
    return (
        card.kind is ContactKind.PERSON
        and not (card.given_name or card.family_name)
        and (card.organization or "").lower() == card.display_name.lower()
    )


def one(text_: str) -> Card:
    parsed = list(parse_vcards(text_))
    assert len(parsed) == 1
    assert parsed[0].problems == []
    assert parsed[0].card is not None
    return parsed[0].card


@pytest.mark.parametrize("version", ["3.0", "4.0"])
@settings(max_examples=150, deadline=None)
@given(card=cards())
def test_a_card_survives_writing_and_reading(version: str, card: Card) -> None:
    if version == "3.0" and _looks_like_its_organization(card):
        return  # 3.0 has no KIND: such a card reads as the organization (as Google's do)
    written = to_vcard(card, version=version)
    assert written.startswith("BEGIN:VCARD\r\n")
    assert f"\r\nVERSION:{version}\r\n" in written
    # vobject itself reads what we write (no hand-made syntax)
    assert vobject.readOne(written).fn.value == card.display_name
    # region is read from the address (a hint for local numbers), never written
    assert replace(one(written), region=None) == card


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(cards(), min_size=1, max_size=5))
def test_a_file_of_cards_survives_in_order(batch: list[Card]) -> None:
    for version in ("3.0", "4.0"):
        if version == "3.0" and any(_looks_like_its_organization(c) for c in batch):
            continue
        parsed = [
            replace(p.card, region=None) if p.card else None
            for p in parse_vcards(to_vcards(batch, version=version))
        ]
        assert parsed == batch


def test_version_4_uses_the_4_0_forms() -> None:
    card = Card(
        display_name="Ada Lovelace",
        given_name="Ada",
        family_name="Lovelace",
        emails=[CardEmail("ada@example.com", "work", True)],
        phones=[
            CardPhone("+441134960000", "mobile", True),
            CardPhone("+441134960001", "reception"),
        ],
    )
    v4 = to_vcard(card, version="4.0")
    assert "KIND:individual" in v4
    assert re.search(r"\r\nEMAIL;PREF=1;TYPE=work:ada@example.com\r\n", v4), v4
    assert re.search(r"\r\nTEL;PREF=1;TYPE=cell,voice;VALUE=uri:tel:\+441134960000\r\n", v4), v4
    # a custom label travels as an Apple-style group label
    assert "\r\nitem1.TEL;TYPE=voice;VALUE=uri:tel:+441134960001\r\n" in v4
    assert "\r\nitem1.X-ABLABEL:reception\r\n" in v4
    v3 = to_vcard(card, version="3.0")
    assert "KIND" not in v3 and "VALUE=uri" not in v3
    assert "\r\nTEL;TYPE=CELL,VOICE,pref:+441134960000\r\n" in v3
    org = to_vcard(Card(kind=ContactKind.ORGANIZATION, display_name="Nordlicht AG"), version="4.0")
    assert "KIND:org" in org and "\r\nN:" not in org and "ORG:Nordlicht AG" in org
    org3 = to_vcard(Card(kind=ContactKind.ORGANIZATION, display_name="Nordlicht AG"))
    assert "X-ABSHOWAS:COMPANY" in org3 and "\r\nN:;;;;\r\n" in org3


def test_an_unknown_version_names_the_field() -> None:
    with pytest.raises(InvalidInput) as exc:
        to_vcard(Card(display_name="A"), version="2.1")
    assert (exc.value.errors[0].field, exc.value.errors[0].rule) == ("version", "choice")


def test_long_lines_are_folded_and_still_read() -> None:
    card = Card(display_name="Long", notes="Ünïcödé " * 40)
    written = to_vcard(card)
    assert all(len(line.encode()) <= 75 for line in written.split("\r\n"))
    assert one(written).notes == card.notes.strip()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\ufeffBEGIN:VCARD\nVERSION:3.0\nFN:Bom Lf\nEND:VCARD\n".encode(), "Bom Lf"),
        ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë\r\nEND:VCARD\r\n".encode("utf-16"), "Zoë"),
        (
            "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Zoë Müller\r\nEND:VCARD\r\n".encode("cp1252"),
            "Zoë Müller",
        ),
        (b"begin:vcard\rversion:3.0\rfn:Old Mac\rend:vcard\r", "Old Mac"),
    ],
)
def test_encodings_and_line_ends(raw: bytes, expected: str) -> None:
    assert one(decode_bytes(raw)).display_name == expected


def test_names_and_kinds_from_what_address_books_leave_out() -> None:
    def card(body: str) -> Card:
        return one(f"BEGIN:VCARD\r\nVERSION:3.0\r\n{body}END:VCARD\r\n")

    assert card("N:Curie;Marie;;;\r\n").display_name == "Marie Curie"
    assert card("EMAIL:only@example.com\r\n").display_name == "only@example.com"
    company = card("N:;;;;\r\nFN:Acme Ltd\r\nORG:Acme Ltd;Sales\r\n")
    assert (company.kind, company.organization) == (ContactKind.ORGANIZATION, None)
    person = card("FN:Jo\r\nORG:Acme Ltd;Sales\r\nTITLE:Buyer\r\n")
    assert (person.kind, person.organization, person.title) == (
        ContactKind.PERSON,
        "Acme Ltd",
        "Buyer",
    )
    assert card("FN:Tz\r\nTZ:-05:00\r\n").timezone is None
    assert card("FN:Tz\r\nTZ;VALUE=text:Asia/Tokyo\r\n").timezone == "Asia/Tokyo"
    assert card("FN:Tel\r\nTEL;VALUE=uri:tel:+1-202-555-0143;ext=12\r\n").phones == [
        CardPhone("+1-202-555-0143")
    ]


LINES = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            [
                "BEGIN:VCARD",
                "END:VCARD",
                "VERSION:3.0",
                "VERSION:2.1",
                "FN:Someone",
                "N:;;;;",
                "N:a;b;c;d;e;f;g",
                "ORG:;",
                "ADR:;;;;;;;;;",
                "TEL;VALUE=uri:tel:",
                'EMAIL;TYPE="unclosed:x@y.z',
                "NOTE;ENCODING=QUOTED-PRINTABLE:=C3=",
                "NOTE;CHARSET=nonsense;ENCODING=QUOTED-PRINTABLE:=FC",
                "PHOTO;ENCODING=b:@@@not-base64",
                " folded continuation",
                "CATEGORIES:,,,",
                "TZ:Not/AZone",
                "KIND:org",
            ]
        ),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(lines=LINES, line_end=st.sampled_from(["\r\n", "\n", "\r"]))
def test_any_input_reads_as_cards_or_problems_never_an_exception(
    lines: list[str], line_end: str
) -> None:
    for parsed in parse_vcards(line_end.join(lines)):
        assert (parsed.card is None) == bool(parsed.problems)
        if parsed.card is not None:
            assert parsed.card.display_name
        for problem in parsed.problems:
            assert problem.card == parsed.index and problem.field and problem.rule
