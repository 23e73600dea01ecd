"""Writing vCards 3.0 (RFC 2426) and 4.0 (RFC 6350) with vobject.

vobject writes 3.0 natively; for 4.0 the card says VERSION:4.0 and uses the 4.0 forms: KIND,
lower-case TYPE values with PREF=1 for the preferred one, and phones as ``tel:`` URIs
(VALUE=uri). vobject does the escaping, folding and CRLF line ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import vobject

from tenure.domain.contacts import ContactKind
from tenure.services.vcard.cards import (
    EMAIL_TYPES,
    PHONE_TYPES,
    Card,
    CardEmail,
    CardPhone,
    check_version,
)

PRODID = "-//Tenure//Tenure contacts//EN"


def to_vcard(card: Card, *, version: str = "3.0") -> str:
    """One vCard (CRLF line ends, folded at 75 octets)."""
    check_version(version)
    v4 = version == "4.0"
    vc = vobject.vCard()
    vc.add("version").value = version
    vc.add("prodid").value = PRODID
    if card.uid:
        vc.add("uid").value = card.uid
    is_org = card.kind is ContactKind.ORGANIZATION
    vc.add("fn").value = card.display_name
    if v4:
        vc.add("kind").value = "org" if is_org else "individual"
    if not (v4 and is_org):
        # 3.0 requires N, empty for an organization (as Apple writes it).
        vc.add("n").value = vobject.vcard.Name(
            family=card.family_name or "", given=card.given_name or ""
        )
    if is_org:
        vc.add("org").value = [card.display_name]
        if not v4:
            vc.add("x-abshowas").value = "COMPANY"
    elif card.organization:
        vc.add("org").value = [card.organization]
    if card.title and not is_org:
        vc.add("title").value = card.title
    groups = _Groups(vc)
    for email in card.emails:
        _email(vc, email, v4, groups)
    for phone in card.phones:
        _phone(vc, phone, v4, groups)
    if card.address:
        _address(vc, card.address)
    if card.notes:
        vc.add("note").value = card.notes
    if card.tags:
        vc.add("categories").value = list(card.tags)
    if card.timezone:
        tz = vc.add("tz")
        tz.value = card.timezone
        if not v4:
            # In 3.0 TZ is a UTC offset unless it says it is text.
            tz.params["VALUE"] = ["text"]
    return str(vc.serialize())


def to_vcards(cards: Sequence[Card], *, version: str = "3.0") -> str:
    return "".join(to_vcard(card, version=version) for card in cards)


class _Groups:
    """Apple-style ``itemN.`` groups that carry a custom label (X-ABLabel) for a property."""

    def __init__(self, vc: Any) -> None:
        self.vc = vc
        self.count = 0

    def labelled(self, name: str, label: str) -> Any:
        self.count += 1
        group = f"item{self.count}"
        line = self.vc.add(name, group=group)
        self.vc.add("x-ablabel", group=group).value = label
        return line


def _add(
    vc: Any, name: str, label: str | None, known: dict[str, list[str]], groups: _Groups
) -> Any:
    if label and label not in known:
        return groups.labelled(name, label)
    return vc.add(name)


def _types(base: list[str], primary: bool, v4: bool) -> tuple[list[str], dict[str, list[str]]]:
    """TYPE values and extra parameters: 3.0 upper-case with TYPE=pref, 4.0 lower-case with
    PREF=1."""
    if v4:
        return base, ({"PREF": ["1"]} if primary else {})
    return [t.upper() for t in base] + (["pref"] if primary else []), {}


def _email(vc: Any, email: CardEmail, v4: bool, groups: _Groups) -> None:
    line = _add(vc, "email", email.label, EMAIL_TYPES, groups)
    line.value = email.email
    base = EMAIL_TYPES.get(email.label or "", [])
    types, extra = _types(base if v4 else ["internet", *base], email.primary, v4)
    if types:
        line.params["TYPE"] = types
    line.params.update(extra)


def _phone(vc: Any, phone: CardPhone, v4: bool, groups: _Groups) -> None:
    line = _add(vc, "tel", phone.label, PHONE_TYPES, groups)
    base = PHONE_TYPES.get(phone.label or "", ["voice"])
    types, extra = _types(base, phone.primary, v4)
    if v4 and phone.number.startswith("+"):
        # Stored numbers are E.164, which is what a tel: URI holds (RFC 3966).
        line.value = f"tel:{phone.number}"
        line.params["VALUE"] = ["uri"]
    else:
        line.value = phone.number
    line.params["TYPE"] = types
    line.params.update(extra)


def _address(vc: Any, address: dict[str, str]) -> None:
    vc.add("adr").value = vobject.vcard.Address(
        street=address.get("street") or "",
        city=address.get("locality") or "",
        region=address.get("region") or "",
        code=address.get("postal_code") or "",
        country=address.get("country") or "",
    )
