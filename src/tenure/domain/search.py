"""Search text: query terms, folding, the text of a contact's search document, and snippets.

The databases fold what they index themselves (SQLite FTS5 ``unicode61 remove_diacritics 2``;
PostgreSQL's ``tenure_search`` configuration, ``unaccent`` then ``simple``), so query terms go
to them lower-cased but otherwise as typed: each side folds its own way, consistently. ``fold``
is for what Python compares itself: fuzzy name scores, duplicate keys and snippet highlights.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from rapidfuzz import fuzz

from tenure.domain.contacts import national_format


class DocumentKind(StrEnum):
    """What a search document stands for (``search_documents.kind``)."""

    CONTACT = "contact"
    INTERACTION = "interaction"
    KNOWLEDGE = "knowledge"
    #: A contact's notes (``contacts.notes``); its ``ref_id`` is the contact's id.
    NOTE = "note"
    CASE = "case"


#: The kinds the full-text search covers (contacts have their own search).
TEXT_KINDS = (
    DocumentKind.INTERACTION,
    DocumentKind.KNOWLEDGE,
    DocumentKind.NOTE,
    DocumentKind.CASE,
)

#: A word: letters and digits (any script), never punctuation or the underscore. The same rule
#: splits queries, snippets and duplicate keys.
WORD = re.compile(r"[^\W_]+")

#: A query uses at most this many words, each at most this long (more says nothing more).
MAX_TERMS = 8
MAX_TERM_LENGTH = 40

#: Letters that NFKD does not decompose but every user considers "the same letter".
_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "ø": "o",
        "Ø": "o",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "þ": "th",
        "\u0131": "i",  # dotless i
    }
)


@lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """Case- and accent-insensitive form: "José Ørsted" -> "jose orsted".

    Cached: names and words repeat (an import folds each contact's name a few times over);
    what is folded is a word or a name, so the cache stays small."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def query_terms(query: str) -> list[str]:
    """The words of a query, lower-cased, each once, in order (at most ``MAX_TERMS``).

    Punctuation separates words and is otherwise ignored, so a query can never be read as the
    database's query syntax: ``jo*"; DROP`` is the two words ``jo`` and ``drop``.
    """
    out: list[str] = []
    for found in WORD.findall(query.lower()):
        word = found[:MAX_TERM_LENGTH]
        if word not in out:
            out.append(word)
        if len(out) == MAX_TERMS:
            break
    return out


def folded_words(text: str) -> list[str]:
    return WORD.findall(fold(text))


# --- the contact's search document -----------------------------------------------------------


@dataclass(frozen=True)
class ContactText:
    """What a contact search looks at: name, emails, phones, organizations and tags."""

    display_name: str
    given_name: str | None = None
    family_name: str | None = None
    emails: Sequence[str] = ()
    phones: Sequence[str] = ()
    organizations: Sequence[str] = ()
    tags: Sequence[str] = ()


def contact_document(contact: ContactText) -> tuple[str, str]:
    """(title, body) of a contact's search document.

    The title is the name (ranked above the body). The body spells every other field the ways
    people type it: an email whole and in its parts (``ann.lee@acme.io`` is also ``ann lee acme
    io``), a name with its punctuation squeezed out (``O'Brien`` is also ``obrien``), and a
    phone number as every suffix of its digits, so that a prefix search finds any run of digits
    ("7946 0958" finds +44 20 7946 0958).
    """
    parts: list[str] = [p for p in (contact.given_name, contact.family_name) if p]
    parts += _squeezed(contact.display_name)
    for email in contact.emails:
        parts.append(email)
        parts.append(" ".join(WORD.findall(email)))
    for phone in contact.phones:
        parts.extend(phone_tokens(phone))
    parts.extend(contact.organizations)
    parts.extend(contact.tags)
    return contact.display_name, " ".join(parts)


def _squeezed(name: str) -> list[str]:
    """Words with inner punctuation, squeezed: "O'Brien" -> "OBrien", "Jean-Luc" -> "JeanLuc"."""
    out = []
    for chunk in name.split():
        words = WORD.findall(chunk)
        if len(words) > 1:
            out.append("".join(words))
    return out


#: Digit runs shorter than this are not indexed as phone suffixes (too many false hits).
MIN_PHONE_SUFFIX = 3


def phone_tokens(e164: str) -> list[str]:
    """Every suffix of the number's digits (at least 3 long), and its national form's digits."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    tokens = [digits[i:] for i in range(len(digits) - MIN_PHONE_SUFFIX + 1)]
    national_digits = "".join(ch for ch in national_format(e164) if ch.isdigit())
    if national_digits and national_digits not in tokens:
        tokens.append(national_digits)
    return tokens


# --- snippets --------------------------------------------------------------------------------

#: Matched words in a snippet are wrapped in these (Markdown bold).
MARK = ("**", "**")
SNIPPET_WIDTH = 180
#: Only the start of a very long text is searched for a snippet window.
SNIPPET_SCAN = 50_000


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    term: int | None = field(default=None)


def snippet(text: str, terms: Sequence[str], *, width: int = SNIPPET_WIDTH) -> str:
    """A window of ``text`` (about ``width`` characters) around the most query words, with the
    matched words marked. Words match by folded prefix, as the search does."""
    text = " ".join(text[:SNIPPET_SCAN].split())
    if not text:
        return ""
    folded_terms = [fold(t) for t in terms if t]
    words = [
        _Word(m.start(), m.end(), _matching(fold(m.group()), folded_terms))
        for m in WORD.finditer(text)
    ]
    hits = [w for w in words if w.term is not None]
    if not hits:
        return _cut(text, 0, width)
    # Slide a window over the matches: the one holding the most different terms wins.
    best_start, best_count = hits[0].start, 0
    counts: dict[int | None, int] = {}
    last = 0
    for first in hits:
        while last < len(hits) and hits[last].end <= first.start + width:
            counts[hits[last].term] = counts.get(hits[last].term, 0) + 1
            last += 1
        if len(counts) > best_count:
            best_start, best_count = first.start, len(counts)
        counts[first.term] -= 1
        if not counts[first.term]:
            del counts[first.term]
    # A little context before the first match of the window, from a word start.
    start = max(0, best_start - width // 5)
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < best_start else best_start
    window_words = [w for w in hits if start <= w.start and w.end <= start + width]
    return _cut(text, start, width, marks=window_words)


def _matching(word: str, terms: Sequence[str]) -> int | None:
    for i, term in enumerate(terms):
        if word.startswith(term):
            return i
    return None


def _cut(text: str, start: int, width: int, marks: Iterable[_Word] = ()) -> str:
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        if space > start:
            end = space
    out: list[str] = []
    position = start
    for word in marks:
        if word.end > end:
            break
        out.append(text[position : word.start])
        out.append(f"{MARK[0]}{text[word.start : word.end]}{MARK[1]}")
        position = word.end
    out.append(text[position:end])
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return prefix + "".join(out) + suffix


# --- ranking contacts ------------------------------------------------------------------------


def name_affinity(terms: Sequence[str], name: str) -> float:
    """0-100: how well the query words (folded) name this contact. A word equal to a name word
    counts 100, a prefix of one 80, a word found elsewhere (email, organization, tag) 0."""
    if not terms:
        return 0.0
    words = folded_words(name)
    total = 0.0
    for term in terms:
        if term in words:
            total += 100
        elif any(w.startswith(term) for w in words):
            total += 80
    return total / len(terms)


def fuzzy_name_score(terms: Sequence[str], name: str) -> float:
    """0-100: how close the query words (folded) are to the name's words, typos allowed: each query
    word against its nearest name word (Indel similarity; a prefix counts as 100), averaged.
    "jonh smiht" ~ "John Smith" is about 78."""
    words = folded_words(name)
    if not terms or not words:
        return 0.0
    total = 0.0
    for term in terms:
        total += max(100.0 if w.startswith(term) else fuzz.ratio(term, w) for w in words)
    return total / len(terms)


def typo_prefixes(terms: Sequence[str]) -> list[list[str]]:
    """Where to look for a misspelt name, in turn: among the names with a word starting with
    the first two letters of every query word (typos rarely hit the first letters); then, for a
    query of several words, with the first letter of each but the longest ("jhon smiht": "j"
    and "sm")."""
    rounds = [[t[:2] for t in terms]]
    if len(terms) > 1:
        longest = max(range(len(terms)), key=lambda i: len(terms[i]))
        rounds.append([t[:2] if i == longest else t[:1] for i, t in enumerate(terms)])
    return rounds


def is_name_query(terms: Sequence[str]) -> bool:
    """Whether typo tolerance applies: words of letters (not numbers), one of 3+ letters."""
    return bool(terms) and all(t.isalpha() for t in terms) and any(len(t) >= 3 for t in terms)
