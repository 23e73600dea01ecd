"""The import's fast paths give the answers of the slow paths they stand in for.

- ``plain_email``: a plain ASCII address is normalized without email-validator; whenever it
  answers, the answer is the validator's, and ``normalize_email`` agrees with the validator on
  every input (valid or not).
- ``national_format``: the national form of a number kept from ``normalize_phone``'s own parse
  is the one a fresh parse of its E.164 form gives (what the search document indexes).
- ``phone_tokens``, ``fold`` and ``ContactRow.name`` (now cached) are unchanged.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tenure.domain import contacts
from tenure.domain.contacts import ContactKind, national_format, normalize_email, plain_email
from tenure.domain.imports.rows import ContactRow
from tenure.domain.search import MIN_PHONE_SUFFIX, fold, phone_tokens


def reference_email(value: str) -> str | None:
    """What ``normalize_email`` answered before the fast path: the validator's form."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


ATEXT = "abcxyzABCXYZ0189_!#$%&'*+-/=?^`{|}~"
local_parts = st.lists(st.text(ATEXT, min_size=1, max_size=12), min_size=1, max_size=3).map(
    ".".join
)
labels = st.text("abzAZ09-", min_size=1, max_size=12)
top_levels = st.sampled_from(
    ["com", "io", "example", "test", "local", "localhost", "invalid", "arpa", "onion", "c1", "x"]
)
domains = st.builds(
    lambda parts, tld: ".".join([*parts, tld]), st.lists(labels, min_size=0, max_size=3), top_levels
)
#: Addresses shaped like real ones, most of them valid, some just not.
addresses = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)
#: Anything made of the characters addresses are made of, and some they are not.
anything = st.text("aZ09.-_@+\"' <>()[]\\,;:é\u0301ü\u00df\u0130xn", max_size=40)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(addresses, anything, addresses.map(lambda a: f"  {a.upper()} ")))
@example("Ann.Lee@Acme.IO")
@example("a--b@acme.io")
@example("a@xn--bcher-kva.example")
@example("a@b.test")
@example("a@sub.localhost")
@example("info@Example.COM")
@example("a" * 64 + "@" + "b" * 63 + ".com")
@example("a" * 65 + "@acme.com")
@example("x@" + ".".join(["a" * 63] * 4) + ".com")
def test_the_email_fast_path_answers_as_the_validator(value: str) -> None:
    expected = reference_email(value)
    fast = plain_email(value.strip())
    if fast is not None:
        assert fast == expected
    normalized, error = normalize_email(value, "email")
    assert normalized == expected
    assert (error is None) == (expected is not None)


def test_the_fast_path_takes_plain_addresses_and_leaves_the_rest() -> None:
    assert plain_email("Ann.Lee@Acme.IO") == "ann.lee@acme.io"
    assert plain_email("o'brien+tag@mail.example.co.uk") == "o'brien+tag@mail.example.co.uk"
    for slow in ("josé@acme.io", "a@bücher.example", '"a b"@acme.io', "a@b.test", "a@xn--x.io"):
        assert plain_email(slow) is None


def test_an_invalid_address_keeps_the_validators_message() -> None:
    normalized, error = normalize_email("ann..lee@acme.io", "emails")
    assert normalized is None and error is not None
    assert (error.field, error.rule) == ("emails", "email")
    assert "two periods" in error.message


# --- phones ----------------------------------------------------------------------------------


def reference_national(e164: str) -> str:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def reference_phone_tokens(e164: str) -> list[str]:
    """``search.phone_tokens`` as it was before its national form was remembered."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    tokens = [digits[i:] for i in range(len(digits) - MIN_PHONE_SUFFIX + 1)]
    national_digits = "".join(ch for ch in reference_national(e164) if ch.isdigit())
    if national_digits and national_digits not in tokens:
        tokens.append(national_digits)
    return tokens


REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


@st.composite
def phone_inputs(draw: st.DrawFn) -> tuple[str, str | None]:
    """A number as files spell them: national digits (with or without a leading 0) with a
    region, or international with the region's code or any digits after a +."""
    region = draw(st.sampled_from(REGIONS))
    digits = draw(st.text("0123456789", min_size=4, max_size=15))
    style = draw(st.integers(0, 3))
    if style == 0:
        return digits, region
    if style == 1:
        return f"0{digits[:4]} {digits[4:]}", region
    if style == 2:
        code = phonenumbers.country_code_for_region(region)
        return f"+{code} {digits}", draw(st.sampled_from([region, None]))
    return f"+{digits}", None


@pytest.fixture
def fresh_phone_caches() -> Iterator[None]:
    contacts._e164.cache_clear()
    contacts._NATIONAL.clear()
    yield
    # Later tests in this process must not see what these ones put there.
    contacts._e164.cache_clear()
    contacts._NATIONAL.clear()


@settings(max_examples=3000, deadline=None)
@given(phone_inputs())
@example(("020 7946 0958", "GB"))
@example(("+44 20 7946 0958", None))
@example(("008832566", "CX"))  # parsed again, a national prefix would be stripped: not kept
@example(("888737198", "BY"))
@example(("02191615", "IM"))
@example(("+387 0077741738", "BA"))
def test_the_national_form_kept_from_normalizing_is_a_fresh_parses(
    case: tuple[str, str | None],
) -> None:
    value, region = case
    contacts._e164.cache_clear()
    contacts._NATIONAL.clear()  # what is asked for next can only come from this parse
    e164, error = contacts.normalize_phone(value, "phones", region)
    if e164 is None:
        assert error is not None
        return
    assert national_format(e164) == reference_national(e164)
    assert phone_tokens(e164) == reference_phone_tokens(e164)


def test_a_number_is_parsed_once_for_its_document(fresh_phone_caches: None) -> None:
    e164, _ = contacts.normalize_phone("020 7946 0958", "phones", "GB")
    assert e164 == "+442079460958"
    assert contacts._NATIONAL[e164] == "020 7946 0958"
    assert "02079460958" in phone_tokens(e164)


def test_phone_errors_are_unchanged(fresh_phone_caches: None) -> None:
    for _ in range(2):  # the second answer comes from the cache
        assert contacts.normalize_phone("hello", "phones", "GB")[1] == contacts.FieldError(
            "phones", "phone", "not a phone number (give it with a + and country code)"
        )
        assert contacts.normalize_phone("+44 12", "phones", None)[1] == contacts.FieldError(
            "phones", "phone", "not a possible phone number"
        )
        assert contacts.normalize_phone("7946 0958", "phones", None)[0] is None


def test_the_national_memo_is_bounded(fresh_phone_caches: None) -> None:
    for i in range(contacts._NATIONAL_LIMIT + 10):
        contacts._remember_national(f"+4420{i:08d}", "x")
    assert len(contacts._NATIONAL) <= contacts._NATIONAL_LIMIT


# --- cached pure functions -------------------------------------------------------------------


def reference_fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    table = str.maketrans({"ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe"})
    decomposed = unicodedata.normalize("NFKD", text.translate(table))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@settings(max_examples=500, deadline=None)
@given(st.text("aZé\u0301ßøØæœ Jo", max_size=12))
def test_fold_is_unchanged_by_its_cache(text: str) -> None:
    assert fold(text) == reference_fold(text)
    assert fold(text) == reference_fold(text)


@given(
    st.one_of(st.none(), st.text(max_size=5)),
    st.one_of(st.none(), st.text(max_size=5)),
    st.one_of(st.none(), st.text(max_size=5)),
)
def test_a_rows_name_is_its_display_name_else_given_and_family(
    display: str | None, given_name: str | None, family: str | None
) -> None:
    row = ContactRow(
        row=2, kind=ContactKind.PERSON, display_name=display, given_name=given_name,
        family_name=family,
    )  # fmt: skip
    expected = display or " ".join(p for p in (given_name, family) if p)
    assert row.name == expected
    assert row.name == expected
    assert row == ContactRow(
        row=2, kind=ContactKind.PERSON, display_name=display, given_name=given_name,
        family_name=family,
    )  # fmt: skip
