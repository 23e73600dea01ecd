"""Reading vCards 2.1, 3.0 and 4.0 as address books write them, into ``Card``s.

vobject parses each card (folded lines, escapes, quoted-printable with CHARSET, base64). This
module adds the tolerance real files need: the file is cut into cards first, so one broken card
is reported and the others still read; and it understands what Apple Contacts, Google Contacts
and Outlook put in a card (``itemN.`` groups with X-ABLabel, TYPE as separate parameters or
bare 2.1 words, X-ABShowAs:COMPANY, several N or FN, no FN at all, PHOTOs that are ignored).
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from typing import Any

import vobject
from charset_normalizer import from_bytes
from vobject.icalendar import stringToTextValues

from tenure.domain.contacts import ContactKind, is_valid_timezone
from tenure.services.vcard.cards import (
    LABEL_OF_TYPE,
    MAX_LABEL,
    Card,
    CardEmail,
    CardPhone,
    CardProblem,
    ParsedCard,
)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BEGIN = re.compile(r"^begin\s*:\s*vcard\s*$", re.IGNORECASE)
_END = re.compile(r"^end\s*:\s*vcard\s*$", re.IGNORECASE)
#: Apple's built-in labels look like ``_$!<Mobile>!$_``; custom ones are plain text.
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")
#: Google puts every contact in this system group; it is no tag of the business's.
_SYSTEM_CATEGORIES = frozenset({"mycontacts"})


def decode_bytes(data: bytes) -> str:
    """The text of a .vcf file: UTF-8 (with or without a BOM), UTF-16 with a BOM, or whatever
    legacy encoding charset-normalizer recognizes (old Outlook exports are Windows-1252)."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        best = from_bytes(data).best()
        return str(best) if best is not None else data.decode("latin-1")


def split_cards(text: str) -> Iterator[tuple[int, list[str] | None]]:
    """Each card's lines (BEGIN…END), numbered from 1; None for a card that never ends."""
    index = 0
    current: list[str] | None = None
    for line in _LINE_BREAK.split(text.lstrip("\ufeff").replace("\x00", "")):
        if _BEGIN.match(line):
            if current is not None:
                yield index, None
            index += 1
            current = [line]
        elif current is not None:
            current.append(line)
            if _END.match(line):
                yield index, current
                current = None
    if current is not None:
        yield index, None


def parse_vcards(text: str) -> Iterator[ParsedCard]:
    """Every card of a file, in order; a card that cannot be read comes with its problems."""
    for index, lines in split_cards(text):
        if lines is None:
            yield _broken(index, "END", "", "syntax", "the card has no END:VCARD")
            continue
        try:
            properties = _properties(lines[1:-1])
        except Exception as exc:  # vobject raises many kinds; all mean "unreadable"
            yield _broken(index, "card", "", "syntax", str(exc))
            continue
        try:
            card = card_of(properties)
        except Exception as exc:  # a value of an unexpected shape
            yield _broken(index, "card", "", "syntax", str(exc))
            continue
        if not card.display_name:
            yield _broken(
                index, "FN", "", "required", "the card has no name, organization or email"
            )
            continue
        yield ParsedCard(index, card)


def _properties(lines: list[str]) -> dict[str, list[Any]]:
    """A card's content lines by lower-case name, as vobject lexes them (unfolded, parameters
    parsed, quoted-printable decoded with its CHARSET) but with values still escaped.

    vobject's vCard behaviors are left out on purpose: they read a text value only up to its
    first unescaped comma, which Outlook and others write in names and notes; and they decode
    PHOTOs, which are not kept."""
    out: dict[str, list[Any]] = {}
    stream = io.StringIO("\r\n".join(lines) + "\r\n")
    for raw, number in vobject.base.getLogicalLines(stream, True):
        line = vobject.base.textLineToContentLine(raw, number)
        out.setdefault(line.name.lower(), []).append(line)
    return out


def _broken(index: int, field: str, value: str, rule: str, message: str) -> ParsedCard:
    return ParsedCard(index, None, [CardProblem(index, field, value[:200], rule, message[:300])])


# --- one card ----------------------------------------------------------------------------------


def card_of(lines: dict[str, list[Any]]) -> Card:
    """The ``Card`` a card's content lines describe."""
    labels = _group_labels(lines)
    given, family = _names(lines)
    organization = _first_org(lines)
    display = _first_text(lines, "fn") or " ".join(p for p in (given, family) if p)
    kind = _kind(lines, given, family, display, organization)
    emails = _emails(lines, labels)
    display = display or organization or (emails[0].email if emails else "")
    card = Card(
        kind=kind,
        display_name=display,
        given_name=given if kind is ContactKind.PERSON else None,
        family_name=family if kind is ContactKind.PERSON else None,
        organization=organization if kind is ContactKind.PERSON else None,
        title=_first_text(lines, "title") if kind is ContactKind.PERSON else "",
        emails=emails,
        phones=_phones(lines, labels),
        notes="\n\n".join(t for t in (_text(line.value) for line in lines.get("note", [])) if t),
        tags=_tags(lines),
        uid=_first_text(lines, "uid") or None,
    )
    card.address, card.region = _address(lines)
    tz = _first_text(lines, "tz")
    card.timezone = tz if tz and is_valid_timezone(tz) else None
    return card


_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _unescape(value: str) -> str:
    """A TEXT value (RFC 6350 3.4): \\n is a line break, other escaped characters stand
    for themselves; unescaped commas and semicolons are kept as written."""
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _text(value: Any) -> str:
    """A property's text value, unescaped, CRLF made LF."""
    return _clean(_unescape(value)) if isinstance(value, str) else ""


def _component(value: Any) -> str:
    """One component of a structured value (N, ADR, ORG) as vobject splits it: a string, or a
    list where the component held unescaped commas."""
    if isinstance(value, list):
        return ", ".join(t for t in (_clean(str(v)) for v in value) if t)
    return _clean(str(value))


def _structured(line: Any, order: tuple[str, ...]) -> dict[str, str]:
    fields = vobject.vcard.splitFields(line.value) if isinstance(line.value, str) else []
    return {name: _component(value) for name, value in zip(order, fields, strict=False)}


def _first_text(lines: dict[str, list[Any]], name: str) -> str:
    for line in lines.get(name, []):
        text = _text(line.value)
        if text:
            return text
    return ""


def _names(lines: dict[str, list[Any]]) -> tuple[str | None, str | None]:
    """The first N that has a given or family name (some exports repeat N)."""
    for line in lines.get("n", []):
        name = _structured(line, vobject.vcard.NAME_ORDER)
        given = name.get("given") or None
        family = name.get("family") or None
        if given or family:
            return given, family
    return None, None


def _first_org(lines: dict[str, list[Any]]) -> str | None:
    """The organization's name: the first component of ORG (the others are its units)."""
    for line in lines.get("org", []):
        fields = vobject.vcard.splitFields(line.value) if isinstance(line.value, str) else []
        name = _component(fields[0]) if fields else ""
        if name:
            return name
    return None


def _kind(
    lines: dict[str, list[Any]],
    given: str | None,
    family: str | None,
    display: str,
    organization: str | None,
) -> ContactKind:
    """An organization when the card says so (4.0 KIND, Apple's X-ABShowAs), or when it has no
    person's name and its name is the organization's (Google and Outlook write those)."""
    kind = _first_text(lines, "kind").lower()
    show_as = _first_text(lines, "x-abshowas").upper()
    if kind in ("org", "organization") or show_as == "COMPANY":
        return ContactKind.ORGANIZATION
    # Without KIND (3.0), a nameless card named after its organization is the organization.
    nameless = not kind and not (given or family)
    if organization and nameless and display.lower() in ("", organization.lower()):
        return ContactKind.ORGANIZATION
    return ContactKind.PERSON


def _types(line: Any) -> list[str]:
    """TYPE values however they are written: ``TYPE=a,b``, ``type=a;type=b``,
    ``TYPE="a,b"`` (4.0) or bare 2.1 words (``TEL;WORK;VOICE``)."""
    raw = list(line.params.get("TYPE", [])) + list(getattr(line, "singletonparams", []))
    out: list[str] = []
    for value in raw:
        out.extend(v.strip().strip('"').lower() for v in str(value).split(",") if v.strip())
    return out


def _preferred(line: Any, types: list[str]) -> bool:
    pref = line.params.get("PREF", [])
    return "pref" in types or any(str(p).strip() == "1" for p in pref)


def _group_labels(lines: dict[str, list[Any]]) -> dict[str, str]:
    """Apple's ``itemN.X-ABLabel`` by group: the custom label of the property in that group."""
    out: dict[str, str] = {}
    for line in lines.get("x-ablabel", []):
        text = _text(line.value)
        if line.group and text:
            match = _APPLE_LABEL.match(text)
            out[line.group.lower()] = (match.group(1) if match else text).lower()[:MAX_LABEL]
    return out


def _label(line: Any, types: list[str], labels: dict[str, str]) -> str | None:
    if line.group and line.group.lower() in labels:
        return labels[line.group.lower()]
    # By the table's order, not the card's: TYPE=WORK,CELL is a work mobile, labelled mobile.
    return next((label for t, label in LABEL_OF_TYPE.items() if t in types), None)


def _emails(lines: dict[str, list[Any]], labels: dict[str, str]) -> list[CardEmail]:
    out: list[CardEmail] = []
    seen: set[str] = set()
    has_primary = False
    for line in lines.get("email", []):
        email = _text(line.value)
        if email.lower().startswith("mailto:"):
            email = email[7:]
        if not email or email.lower() in seen:
            continue
        seen.add(email.lower())
        types = _types(line)
        primary = not has_primary and _preferred(line, types)
        has_primary = has_primary or primary
        out.append(CardEmail(email, _label(line, types, labels), primary))
    return out


def _phones(lines: dict[str, list[Any]], labels: dict[str, str]) -> list[CardPhone]:
    out: list[CardPhone] = []
    seen: set[str] = set()
    has_primary = False
    for line in lines.get("tel", []):
        number = _text(line.value)
        if number.lower().startswith("tel:"):
            # A tel: URI (RFC 3966): the number, without parameters like ;ext=
            number = number[4:].split(";", 1)[0]
        if not number or number in seen:
            continue
        seen.add(number)
        types = _types(line)
        primary = not has_primary and _preferred(line, types)
        has_primary = has_primary or primary
        out.append(CardPhone(number, _label(line, types, labels), primary))
    return out


def _tags(lines: dict[str, list[Any]]) -> list[str]:
    out: list[str] = []
    for line in lines.get("categories", []):
        values = stringToTextValues(line.value) if isinstance(line.value, str) else []
        for value in values:
            tag = _clean(value)
            if tag and tag.lower() not in _SYSTEM_CATEGORIES and tag not in out:
                out.append(tag)
    return out


def _address(lines: dict[str, list[Any]]) -> tuple[dict[str, str] | None, str | None]:
    """The preferred (else the first) ADR as a contact's address, and a region for phones:
    Apple's X-ABADR country code of its group, or a two-letter country."""
    adrs = lines.get("adr", [])
    if not adrs:
        return None, None
    line = next((a for a in adrs if _preferred(a, _types(a))), adrs[0])
    adr = _structured(line, vobject.vcard.ADDRESS_ORDER)
    address = {
        "street": "\n".join(
            t for t in (adr.get(f, "") for f in ("box", "extended", "street")) if t
        ),
        "locality": adr.get("city", ""),
        "region": adr.get("region", ""),
        "postal_code": adr.get("code", ""),
        "country": adr.get("country", ""),
    }
    address = {k: v for k, v in address.items() if v}
    region = None
    for code_line in lines.get("x-abadr", []):
        if code_line.group == line.group:
            region = _text(code_line.value)
    country = address.get("country", "")
    if not region and len(country) == 2 and country.isalpha():
        region = country
    return address or None, region.upper() if region and len(region) == 2 else None
