"""Duplicate contacts: blocking keys, pair scores with reasons, and how a merge combines two.

Finding duplicates never compares every contact with every other. Each contact has a few
*blocking keys* (``match_keys``): its canonical emails, its phones, its folded name, a phonetic
key of its family name with the given name's initial, its family name with its email domain,
and its organizations with an initial. Only contacts that share a key are compared, and a
compared pair gets a 0-100 score from the evidence, each piece a ``Reason`` with a weight.

The weights combine like independent evidence: ``score = 100 * (1 - Π(1 - w/100))`` over the
positive reasons, less the penalties (a pair called "John" and "Mary" is not the same person
whatever else they share).

Merging keeps one lifecycle history that replays legally (``combine_histories``): the two
histories are laid on one time line by effective date and their client spells are united —
spells that overlap become one spell; a spell that starts after an earlier one ended is a
reactivation. Transitions that no longer change the combined stage are dropped from the
history (the merge event keeps a copy of each).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process

from tenure.domain.errors import FieldError, InvalidInput
from tenure.domain.lifecycle import Stage, TransitionFact, replay
from tenure.domain.search import fold, folded_words

#: Mailbox providers whose domain says nothing about who someone works for.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "outlook.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "proton.me",
        "protonmail.com",
        "mail.com",
        "yandex.ru",
        "qq.com",
        "163.com",
        "orange.fr",
        "free.fr",
        "t-online.de",
        "example.com",
        "example.org",
        "example.net",
    }
)

#: Organization name words that do not tell two organizations apart.
LEGAL_FORMS = frozenset(
    {
        "inc",
        "ltd",
        "llc",
        "llp",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "bv",
        "nv",
        "co",
        "corp",
        "corporation",
        "company",
        "limited",
        "the",
        "srl",
        "spa",
        "oy",
        "ab",
        "as",
        "kg",
    }
)


class ReasonCode(StrEnum):
    SAME_EMAIL = "same-email"
    SAME_PHONE = "same-phone"
    SAME_NAME = "same-name"
    SIMILAR_NAME = "similar-name"
    SAME_ORGANIZATION = "same-organization"
    SAME_FAMILY_AND_DOMAIN = "same-family-and-domain"
    SAME_DOMAIN = "same-domain"
    DIFFERENT_GIVEN_NAMES = "different-given-names"


@dataclass(frozen=True)
class ContactFacts:
    """What duplicate detection knows about a contact."""

    id: int
    kind: str
    display_name: str
    given_name: str | None = None
    family_name: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    #: A person's organizations (contact ids).
    organization_ids: tuple[int, ...] = ()

    @property
    def is_person(self) -> bool:
        return self.kind == "person"


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    detail: str
    #: 0-100 strength of the evidence; negative for a penalty.
    weight: int


@dataclass(frozen=True)
class Match:
    a: int
    b: int
    score: int
    reasons: tuple[Reason, ...]


# --- normal forms ----------------------------------------------------------------------------


def canonical_email(email: str) -> str:
    """The mailbox an address reaches: lower case, no ``+tag``, no dots in a Gmail name."""
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    local = local.split("+", 1)[0]
    if domain in {"gmail.com", "googlemail.com"}:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def email_domain(email: str) -> str:
    return email.strip().lower().rpartition("@")[2]


@lru_cache(maxsize=16384)
def _canonical_emails(emails: tuple[str, ...]) -> dict[str, str]:
    return {canonical_email(e): e for e in emails}


def company_domains(emails: Iterable[str]) -> set[str]:
    return {d for d in (email_domain(e) for e in emails) if d and d not in FREE_MAIL_DOMAINS}


def name_key(facts: ContactFacts) -> str:
    """Folded name words in order of the alphabet ("Smith, John" = "John Smith"); an
    organization's legal form is left out ("ACME Ltd." = "Acme")."""
    return _name_key(facts.display_name, facts.is_person)


def given_of(facts: ContactFacts) -> str:
    if facts.given_name:
        return _joined_words(facts.given_name)
    return _edge_word(facts.display_name, 0)


def family_of(facts: ContactFacts) -> str:
    if facts.family_name:
        return _joined_words(facts.family_name)
    return _edge_word(facts.display_name, -1)


# Cached by the names themselves, not by the contact: names repeat across contacts (an import
# of 100k people has far fewer distinct names), and a contact's facts hash slower than a name.
@lru_cache(maxsize=16384)
def _name_key(display_name: str, is_person: bool) -> str:
    words = folded_words(display_name)
    if not is_person:
        words = [w for w in words if w not in LEGAL_FORMS] or words
    return " ".join(sorted(words))


@lru_cache(maxsize=16384)
def _joined_words(name: str) -> str:
    return " ".join(folded_words(name))


@lru_cache(maxsize=16384)
def _edge_word(display_name: str, index: int) -> str:
    """The first (0) or last (-1) word of a name of several words, else ""."""
    words = folded_words(display_name)
    return words[index] if len(words) > 1 else ""


_SOUNDEX = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


@lru_cache(maxsize=16384)
def soundex(word: str) -> str:
    """American Soundex of a folded word ("smith", "smyth", "smiht" -> "s530"); a word that is
    not in Latin letters is its own key."""
    letters = [ch for ch in fold(word) if ch.isalpha()]
    if not letters or not all("a" <= ch <= "z" for ch in letters):
        return "".join(letters)
    code = [letters[0]]
    previous = _SOUNDEX.get(letters[0], "")
    for ch in letters[1:]:
        digit = _SOUNDEX.get(ch, "")
        if digit and digit != previous:
            code.append(digit)
        if ch not in "hw":
            previous = digit
    return ("".join(code) + "000")[:4]


# --- blocking keys ---------------------------------------------------------------------------


def match_keys(facts: ContactFacts) -> set[str]:
    """The blocking keys of a contact, hashed (``e:`` + 20 hex digits …).

    Hashed so that the key table holds no readable personal data (an erasure scan finds no
    names or addresses in it) and every key has the same small size.
    """
    keys = {f"e:{canonical_email(e)}" for e in facts.emails}
    keys |= {f"p:{p}" for p in facts.phones}
    name = name_key(facts)
    if name:
        keys.add(f"n:{facts.kind}:{name}")
    domains = company_domains(facts.emails)
    if facts.is_person:
        given, family = given_of(facts), family_of(facts)
        if family and given:
            keys.add(f"f:{soundex(family)}:{given[0]}")
        if family:
            keys |= {f"d:{family}:{domain}" for domain in domains}
        for org in facts.organization_ids:
            keys |= {f"o:{org}:{initial}" for initial in {given[:1], family[:1]} if initial}
    else:
        keys |= {f"w:{domain}" for domain in domains}
    return {hashed_key(k) for k in keys}


def hashed_key(key: str) -> str:
    digest = hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
    return f"{key[:2]}{digest}"


# --- scoring ---------------------------------------------------------------------------------

#: Pairs scoring below this are not worth a person's time (the default list threshold).
DEFAULT_MIN_SCORE = 50


def name_similarity(a: ContactFacts, b: ContactFacts) -> int:
    """0-100: how alike two names are, word order, case and accents aside. An initial stands
    for a given name ("J. Smith" ~ "John Smith")."""
    left, right = name_key(a), name_key(b)
    if not left or not right:
        return 0
    if left == right:
        return 100
    similarity = round(fuzz.token_sort_ratio(left, right))
    if a.is_person and b.is_person:
        ga, gb, fa, fb = given_of(a), given_of(b), family_of(a), family_of(b)
        if ga and gb and fa and fb:
            # Part by part, so that a typo in the first letter does not reorder the words.
            similarity = max(similarity, round((fuzz.ratio(ga, gb) + fuzz.ratio(fa, fb)) / 2))
            if fa == fb and (len(ga) == 1 or len(gb) == 1) and ga[0] == gb[0]:
                similarity = max(similarity, 90)
    return min(similarity, 99)


#: Names at least this alike (0-100) are compared inside a large block.
SIMILAR_NAMES = 80


def names_alike(a: ContactFacts, b: ContactFacts) -> bool:
    """The test ``similar_name_pairs`` applies, for one pair."""
    return fuzz.ratio(name_key(a), name_key(b)) >= SIMILAR_NAMES


def similar_name_pairs(contacts: Sequence[ContactFacts]) -> list[tuple[int, int]]:
    """Index pairs (i < j) of contacts whose names are at least ``SIMILAR_NAMES`` alike: each
    name against all the others in one rapidfuzz call (C speed, no Python per pair)."""
    keys = [name_key(c) for c in contacts]
    out: list[tuple[int, int]] = []
    for i, key in enumerate(keys[:-1]):
        later = keys[i + 1 :]
        for _, _, j in process.extract(
            key, later, scorer=fuzz.ratio, score_cutoff=SIMILAR_NAMES, limit=None
        ):
            out.append((i, i + 1 + j))
    return sorted(out)


def _given_names_conflict(a: ContactFacts, b: ContactFacts) -> bool:
    ga, gb = given_of(a), given_of(b)
    if not ga or not gb or len(ga) == 1 or len(gb) == 1:
        return False
    return fuzz.ratio(ga, gb) < 60 and not (ga.startswith(gb) or gb.startswith(ga))


def score_pair(a: ContactFacts, b: ContactFacts) -> Match | None:
    """The evidence that ``a`` and ``b`` are one contact, or None when there is none (or they
    cannot be: a person is never a duplicate of an organization)."""
    if a.id == b.id or a.kind != b.kind:
        return None
    reasons: list[Reason] = []
    similarity = name_similarity(a, b)
    emails = _canonical_emails(a.emails)
    for canonical, email in _canonical_emails(b.emails).items():
        if canonical in emails:
            shown = emails[canonical]
            detail = (
                f"both use {shown}" if shown == email else f"{shown} and {email} are one mailbox"
            )
            reasons.append(Reason(ReasonCode.SAME_EMAIL, detail, 90))
            break
    shared_phones = sorted(set(a.phones) & set(b.phones))
    if shared_phones:
        weight = 70 if similarity >= 60 else 35
        reasons.append(Reason(ReasonCode.SAME_PHONE, f"both have {shared_phones[0]}", weight))
    if similarity == 100:
        detail = (
            f"both are called {a.display_name}"
            if a.display_name == b.display_name
            else (f"{a.display_name!r} and {b.display_name!r} are the same name")
        )
        reasons.append(Reason(ReasonCode.SAME_NAME, detail, 60 if a.is_person else 80))
    elif similarity >= 85:
        detail = f"{a.display_name!r} and {b.display_name!r} are {similarity}% alike"
        reasons.append(Reason(ReasonCode.SIMILAR_NAME, detail, 40))
    if a.is_person:
        _person_reasons(a, b, similarity, reasons)
    else:
        shared = sorted(company_domains(a.emails) & company_domains(b.emails))
        if shared:
            reasons.append(Reason(ReasonCode.SAME_DOMAIN, f"both use {shared[0]}", 60))
    positive = [r for r in reasons if r.weight > 0]
    if not positive:
        return None
    remaining = 1.0
    for reason in positive:
        remaining *= 1 - reason.weight / 100
    score = round(100 * (1 - remaining)) + sum(r.weight for r in reasons if r.weight < 0)
    score = max(0, min(score, 100))
    return Match(min(a.id, b.id), max(a.id, b.id), score, tuple(reasons))


def _person_reasons(
    a: ContactFacts, b: ContactFacts, similarity: int, reasons: list[Reason]
) -> None:
    shared_orgs = sorted(set(a.organization_ids) & set(b.organization_ids))
    if shared_orgs and similarity >= 80:
        reasons.append(
            Reason(
                ReasonCode.SAME_ORGANIZATION,
                f"similar names at the same organization (#{shared_orgs[0]})",
                50,
            )
        )
    family = family_of(a)
    if family and family == family_of(b):
        shared = sorted(company_domains(a.emails) & company_domains(b.emails))
        if shared and not _given_names_conflict(a, b):
            reasons.append(
                Reason(
                    ReasonCode.SAME_FAMILY_AND_DOMAIN,
                    f"family name {family_of(a)!r} at {shared[0]}",
                    50,
                )
            )
    if _given_names_conflict(a, b):
        reasons.append(
            Reason(
                ReasonCode.DIFFERENT_GIVEN_NAMES,
                f"given names {given_of(a)!r} and {given_of(b)!r} differ",
                -40,
            )
        )


# --- merging: field values -------------------------------------------------------------------


class Pick(StrEnum):
    SURVIVOR = "survivor"
    OTHER = "other"
    #: Notes only: both texts, the survivor's first.
    BOTH = "both"


#: Fields whose value a merge chooses; emails, phones, tags and organizations are united.
MERGE_FIELDS = (
    "display_name",
    "given_name",
    "family_name",
    "address",
    "timezone",
    "owner_id",
    "notes",
    "cadence_days",
    "do_not_email",
)


def _empty(value: Any) -> bool:
    return value is None or value in ("", {}, [])


def merge_fields(
    survivor: Mapping[str, Any], other: Mapping[str, Any], picks: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, Pick]]:
    """The merged value of every field, and the pick that made it.

    Unpicked fields keep the survivor's value, or take the other's where the survivor has
    none; notes keep both; ``do_not_email`` stays set if either had it (an opt-out is never
    lost by a merge unless chosen); the given and family names follow a chosen display name.
    """
    errors = [
        FieldError(
            f"fields.{name}",
            "choice",
            f"{name} cannot be chosen; choose one of {', '.join(MERGE_FIELDS)}",
        )
        for name in picks
        if name not in MERGE_FIELDS
    ]
    chosen: dict[str, Pick] = {}
    for name, value in picks.items():
        if name not in MERGE_FIELDS:
            continue
        allowed = set(Pick) if name == "notes" else {Pick.SURVIVOR, Pick.OTHER}
        if value not in allowed:
            errors.append(
                FieldError(
                    f"fields.{name}", "choice", f"must be one of {', '.join(sorted(allowed))}"
                )
            )
        else:
            chosen[name] = Pick(value)
    if errors:
        raise InvalidInput(errors)
    # The names go together: a chosen display name brings its given and family names along.
    if "display_name" in chosen:
        for name in ("given_name", "family_name"):
            chosen.setdefault(name, chosen["display_name"])
    values: dict[str, Any] = {}
    for name in MERGE_FIELDS:
        s, o = survivor.get(name), other.get(name)
        pick = chosen.get(name) or _default_pick(name, s, o)
        chosen[name] = pick
        if pick is Pick.OTHER:
            values[name] = o
        elif pick is Pick.BOTH:
            values[name] = "\n\n".join(t for t in (s, o) if t)
        else:
            values[name] = s
    return values, chosen


def _default_pick(name: str, s: Any, o: Any) -> Pick:
    if name == "notes" and s and o and s != o:
        return Pick.BOTH
    if name == "do_not_email":
        return Pick.OTHER if (o and not s) else Pick.SURVIVOR
    if _empty(s) and not _empty(o):
        return Pick.OTHER
    return Pick.SURVIVOR


def union_items(
    first: Sequence[Mapping[str, Any]], second: Sequence[Mapping[str, Any]], key: str
) -> list[dict[str, Any]]:
    """Emails or phones of both, each once; the first list's primary stays the primary."""
    out = [dict(item) for item in first]
    seen = {item[key] for item in first}
    for item in second:
        if item[key] not in seen:
            seen.add(item[key])
            out.append({**item, "primary": False} if out else dict(item))
    if out and not any(item.get("primary") for item in out):
        out[0]["primary"] = True
    return out


# --- merging: lifecycle histories ------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """A stored transition, as the merge sees it."""

    id: int
    from_stage: Stage
    to_stage: Stage
    effective_on: date


@dataclass(frozen=True)
class CombinedHistory:
    #: The transitions kept, oldest first; ``from_stage`` may be relabelled (a later spell's
    #: ``contact -> client`` becomes ``former_client -> client``, a reactivation).
    entries: tuple[HistoryEntry, ...]
    #: Transitions that no longer change the stage (inside a spell of the other history).
    absorbed: tuple[int, ...]


def combine_histories(
    first: Sequence[HistoryEntry], second: Sequence[HistoryEntry]
) -> CombinedHistory:
    """One legal history from two (each oldest first): the union of their client spells.

    Ties on a day put an ending before a start, so a spell that ends the day the other's
    starts stays two spells (as each history alone would record it).
    """
    for history in (first, second):
        replay(_facts(history))  # each must be legal on its own
    merged: list[HistoryEntry] = []
    i = j = 0
    while i < len(first) or j < len(second):
        if j == len(second):
            take_first = True
        elif i == len(first):
            take_first = False
        else:
            a, b = first[i], second[j]
            if a.effective_on != b.effective_on:
                take_first = a.effective_on < b.effective_on
            else:
                take_first = a.to_stage is not Stage.CLIENT or b.to_stage is Stage.CLIENT
        if take_first:
            merged.append(first[i])
            i += 1
        else:
            merged.append(second[j])
            j += 1
    kept: list[HistoryEntry] = []
    absorbed: list[int] = []
    open_spells = 0
    for entry in merged:
        if entry.to_stage is Stage.CLIENT:
            open_spells += 1
            if open_spells == 1:
                start = Stage.FORMER_CLIENT if kept else Stage.CONTACT
                kept.append(replace(entry, from_stage=start))
            else:
                absorbed.append(entry.id)
        else:
            open_spells -= 1
            if open_spells == 0:
                kept.append(entry)
            else:
                absorbed.append(entry.id)
    replay(_facts(kept))  # cannot fail: the union of spells alternates by construction
    return CombinedHistory(tuple(kept), tuple(absorbed))


def _facts(history: Sequence[HistoryEntry]) -> list[TransitionFact]:
    return [TransitionFact(e.from_stage, e.to_stage, e.effective_on) for e in history]
