"""Duplicate detection and merge rules, and the search text helpers, without a database."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.domain.duplicates import (
    ContactFacts,
    HistoryEntry,
    Pick,
    ReasonCode,
    canonical_email,
    combine_histories,
    match_keys,
    merge_fields,
    name_key,
    score_pair,
    soundex,
    union_items,
)
from tenure.domain.errors import InvalidInput, InvalidTransition
from tenure.domain.lifecycle import Stage, TransitionFact, replay
from tenure.domain.search import (
    ContactText,
    contact_document,
    fold,
    fuzzy_name_score,
    name_affinity,
    phone_tokens,
    query_terms,
    snippet,
)

C, CL, F = Stage.CONTACT, Stage.CLIENT, Stage.FORMER_CLIENT


def person(id_: int, name: str, **kw: object) -> ContactFacts:
    given, _, family = name.partition(" ")
    kw.setdefault("given_name", given or None)
    kw.setdefault("family_name", family or None)
    return ContactFacts(id=id_, kind="person", display_name=name, **kw)  # type: ignore[arg-type]


def org(id_: int, name: str, **kw: object) -> ContactFacts:
    return ContactFacts(id=id_, kind="organization", display_name=name, **kw)  # type: ignore[arg-type]


def codes(a: ContactFacts, b: ContactFacts) -> set[str]:
    match = score_pair(a, b)
    return {r.code.value for r in match.reasons} if match else set()


# --- normal forms ------------------------------------------------------------------------------


def test_canonical_email() -> None:
    assert canonical_email("Ann.Lee+news@GMail.com") == "annlee@gmail.com"
    assert canonical_email("ann.lee@googlemail.com") == "annlee@gmail.com"
    assert canonical_email("ann.lee+x@acme.io") == "ann.lee@acme.io"
    assert canonical_email("not-an-email") == "not-an-email"


def test_soundex_groups_spellings() -> None:
    assert soundex("Smith") == soundex("Smyth") == soundex("smiht") == "s530"
    assert soundex("Robert") == soundex("Rupert") == "r163"
    assert soundex("Müller") == soundex("Muller")
    assert soundex("山田") == "山田"
    assert soundex("") == ""


def test_name_key_ignores_order_case_accents_and_legal_forms() -> None:
    assert name_key(person(1, "José García")) == name_key(person(2, "garcia, JOSE"))
    assert name_key(org(1, "ACME Ltd.")) == name_key(org(2, "Acme"))
    assert name_key(org(1, "The Acme Company")) == "acme"


# --- keys --------------------------------------------------------------------------------------


def test_keys_are_hashed_and_shared_by_duplicates() -> None:
    a = person(1, "Ann Lee", emails=("ann.lee+crm@gmail.com",), phones=("+442079460958",))
    b = person(2, "Anne Lee", emails=("annlee@gmail.com",))
    ka, kb = match_keys(a), match_keys(b)
    assert ka & kb  # the same mailbox
    assert all(len(k) == 22 and k[1] == ":" for k in ka)
    assert not any("ann" in k or "0958" in k for k in ka)  # nothing readable
    # a similar name in the same organization shares an organization key
    c, d = (
        person(3, "Jon Smith", organization_ids=(9,)),
        person(4, "John Smith", organization_ids=(9,)),
    )
    assert match_keys(c) & match_keys(d)
    # the same family name at a company domain (free mail domains are not companies)
    e = person(5, "J Okafor", emails=("jo@okafor-builders.co.uk",))
    f = person(6, "Joy Okafor", emails=("joy@okafor-builders.co.uk",))
    assert match_keys(e) & match_keys(f)
    g = person(7, "Kim Park", emails=("kim@gmail.com",))
    h = person(8, "Lee Park", emails=("lee@gmail.com",))
    assert not (match_keys(g) & match_keys(h))


def test_people_and_organizations_never_share_a_name_key() -> None:
    assert not (match_keys(person(1, "Acme")) & match_keys(org(2, "Acme")))


# --- scores and reasons ------------------------------------------------------------------------


def test_same_email_is_strong() -> None:
    a = person(1, "Ann Lee", emails=("ann@acme.io",))
    b = person(2, "A. Lee", emails=("Ann+x@acme.io",))
    match = score_pair(a, b)
    assert match is not None and match.score >= 90
    assert ReasonCode.SAME_EMAIL in {r.code for r in match.reasons}
    assert "one mailbox" in match.reasons[0].detail


def test_same_phone_with_similar_names_beats_a_shared_household_phone() -> None:
    a = person(1, "John Smith", phones=("+15551234567",))
    b = person(2, "Jon Smith", phones=("+15551234567",))
    c = person(3, "Mary Jones", phones=("+15551234567",))
    ab, ac = score_pair(a, b), score_pair(a, c)
    assert ab is not None and ac is not None
    assert ab.score > 80 > ac.score
    assert {"same-phone", "similar-name"} <= codes(a, b)


def test_similar_names_in_one_organization() -> None:
    a = person(1, "Katherine Jones", organization_ids=(7,))
    b = person(2, "Catherine Jones", organization_ids=(7,))
    assert codes(a, b) == {"similar-name", "same-organization"}
    match = score_pair(a, b)
    assert match is not None and 60 <= match.score < 90
    # the same names at different organizations: only the name
    assert codes(a, person(3, "Catherine Jones", organization_ids=(8,))) == {"similar-name"}


def test_family_name_and_company_domain() -> None:
    a = person(1, "J Okafor", emails=("j.okafor@okafor-builders.co.uk",))
    b = person(2, "Joy Okafor", emails=("joy@okafor-builders.co.uk",))
    assert "same-family-and-domain" in codes(a, b)
    # different given names at the same company are colleagues, not duplicates
    c = person(3, "Peter Okafor", emails=("peter@okafor-builders.co.uk",))
    match = score_pair(b, c)
    assert match is None or match.score < 50
    assert "different-given-names" in codes(b, c) or match is None


def test_organizations_by_name_and_domain() -> None:
    a = org(1, "Acme Ltd", emails=("info@acme.io",))
    b = org(2, "ACME", emails=("sales@acme.io",))
    assert codes(a, b) == {"same-name", "same-domain"}
    match = score_pair(a, b)
    assert match is not None and match.score >= 90


def test_no_match_between_kinds_or_strangers() -> None:
    assert score_pair(person(1, "Acme"), org(2, "Acme")) is None
    assert score_pair(person(1, "Ann Lee"), person(2, "Bob Stone")) is None
    assert score_pair(person(1, "Ann Lee"), person(1, "Ann Lee")) is None


def test_scores_are_symmetric_and_bounded() -> None:
    a = person(1, "John Smith", emails=("js@acme.io",), phones=("+15551234567",))
    b = person(2, "Jon Smith", emails=("JS@acme.io",), phones=("+15551234567",))
    ab, ba = score_pair(a, b), score_pair(b, a)
    assert ab is not None and ba is not None
    assert (ab.a, ab.b, ab.score) == (ba.a, ba.b, ba.score) == (1, 2, ab.score)
    assert 0 <= ab.score <= 100


# --- merge: fields -----------------------------------------------------------------------------


def test_merge_fields_defaults_and_picks() -> None:
    s = {"display_name": "Ann Lee", "timezone": None, "notes": "likes tea", "do_not_email": False}
    o = {
        "display_name": "Annie Lee",
        "timezone": "Europe/London",
        "notes": "VIP",
        "do_not_email": True,
    }
    values, picks = merge_fields(s, o, {})
    assert values["display_name"] == "Ann Lee" and picks["display_name"] is Pick.SURVIVOR
    assert values["timezone"] == "Europe/London" and picks["timezone"] is Pick.OTHER
    assert values["notes"] == "likes tea\n\nVIP" and picks["notes"] is Pick.BOTH
    assert values["do_not_email"] is True  # an opt-out is never lost by default
    values, picks = merge_fields(s, o, {"display_name": "other", "notes": "survivor"})
    assert values["display_name"] == "Annie Lee" and values["notes"] == "likes tea"
    assert picks["given_name"] is Pick.OTHER  # the names follow the display name


def test_merge_fields_refuses_unknown_fields_and_choices() -> None:
    with pytest.raises(InvalidInput) as refused:
        merge_fields({}, {}, {"emails": "other", "display_name": "both", "notes": "neither"})
    assert {e.field for e in refused.value.errors} == {
        "fields.emails",
        "fields.display_name",
        "fields.notes",
    }


def test_union_keeps_the_survivors_primary() -> None:
    s = [{"email": "a@x.io", "primary": True}]
    o = [{"email": "b@x.io", "primary": True}, {"email": "a@x.io", "primary": False}]
    assert union_items(s, o, "email") == [
        {"email": "a@x.io", "primary": True},
        {"email": "b@x.io", "primary": False},
    ]
    assert union_items([], o, "email")[0] == {"email": "b@x.io", "primary": True}


# --- merge: lifecycle histories ----------------------------------------------------------------


def h(id_: int, frm: Stage, to: Stage, day: str) -> HistoryEntry:
    return HistoryEntry(id_, frm, to, date.fromisoformat(day))


def shape(entries: tuple[HistoryEntry, ...]) -> list[tuple[int, str, str, str]]:
    return [
        (e.id, e.from_stage.value, e.to_stage.value, e.effective_on.isoformat()) for e in entries
    ]


def test_one_history_is_kept_as_is() -> None:
    history = [h(1, C, CL, "2020-01-01"), h(2, CL, F, "2021-01-01")]
    assert combine_histories(history, []).entries == tuple(history)
    assert combine_histories([], history).entries == tuple(history)
    assert combine_histories([], []).entries == ()


def test_separate_spells_become_a_reactivation() -> None:
    first = [h(1, C, CL, "2020-01-01"), h(2, CL, F, "2021-01-01")]
    second = [h(3, C, CL, "2023-05-01")]
    combined = combine_histories(second, first)
    assert shape(combined.entries) == [
        (1, "contact", "client", "2020-01-01"),
        (2, "client", "former_client", "2021-01-01"),
        (3, "former_client", "client", "2023-05-01"),  # relabelled
    ]
    assert combined.absorbed == ()


def test_overlapping_spells_unite() -> None:
    first = [h(1, C, CL, "2020-01-01"), h(2, CL, F, "2022-01-01")]
    second = [h(3, C, CL, "2021-01-01"), h(4, CL, F, "2023-01-01")]
    combined = combine_histories(first, second)
    assert shape(combined.entries) == [
        (1, "contact", "client", "2020-01-01"),
        (4, "client", "former_client", "2023-01-01"),
    ]
    assert combined.absorbed == (3, 2)


def test_a_spell_ending_the_day_another_starts_stays_two() -> None:
    first = [h(1, C, CL, "2020-01-01"), h(2, CL, F, "2021-01-01")]
    second = [h(3, C, CL, "2021-01-01")]
    combined = combine_histories(first, second)
    assert [e.id for e in combined.entries] == [1, 2, 3]
    assert combined.entries[-1].from_stage is F


def test_a_broken_history_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        combine_histories([h(1, CL, F, "2020-01-01")], [])


@st.composite
def histories(draw: st.DrawFn, start_id: int) -> list[HistoryEntry]:
    """A legal history: alternating starts and ends on non-decreasing days."""
    days = sorted(draw(st.lists(st.integers(0, 60), max_size=6)))
    out: list[HistoryEntry] = []
    stage = C
    for i, day in enumerate(days):
        to = CL if stage is not CL else F
        out.append(
            HistoryEntry(
                start_id + i,
                stage,
                to,
                date(2020, 1, 1).replace(day=1 + day % 28, month=1 + day // 28),
            )
        )
        stage = to
    return out


def _client_days(entries: list[HistoryEntry] | tuple[HistoryEntry, ...]) -> set[date]:
    """Days on which the history says the contact was a client (spells as half-open)."""
    from datetime import timedelta

    standing = replay(TransitionFact(e.from_stage, e.to_stage, e.effective_on) for e in entries)
    out: set[date] = set()
    for spell in standing.spells:
        end = spell.ended_on or date(2020, 6, 1)
        day = spell.started_on
        while day < end:
            out.add(day)
            day += timedelta(days=1)
    return out


@given(histories(1), histories(100))
def test_combined_history_is_legal_and_unites_the_spells(
    first: list[HistoryEntry], second: list[HistoryEntry]
) -> None:
    combined = combine_histories(first, second)
    replay(TransitionFact(e.from_stage, e.to_stage, e.effective_on) for e in combined.entries)
    assert _client_days(combined.entries) == _client_days(first) | _client_days(second)
    kept = {e.id for e in combined.entries}
    assert kept.isdisjoint(combined.absorbed)
    assert kept | set(combined.absorbed) == {e.id for e in first + second}


# --- search text -------------------------------------------------------------------------------


def test_fold_and_query_terms() -> None:
    assert fold("José ØRSTED Straße") == "jose orsted strasse"
    assert query_terms('Jo*"; DROP  jo  José-Luis') == ["jo", "drop", "josé", "luis"]
    assert query_terms("%_ 🚀") == []
    assert len(query_terms(" ".join(f"w{i}" for i in range(50)))) == 8


def test_contact_document_spells_fields_as_people_type_them() -> None:
    title, body = contact_document(
        ContactText(
            "Seán O'Brien",
            "Seán",
            "O'Brien",
            ["sean.obrien@acme.io"],
            ["+442079460958"],
            ["Acme Ltd"],
            ["vip"],
        )
    )
    assert title == "Seán O'Brien"
    words = body.split()
    for expected in ("OBrien", "sean", "obrien", "acme", "io", "79460958", "02079460958", "vip"):
        assert expected in words, expected


def test_phone_tokens_cover_every_run_of_digits_by_prefix() -> None:
    tokens = phone_tokens("+442079460958")
    digits = "442079460958"
    for start in range(len(digits) - 3):
        for end in range(start + 3, len(digits) + 1):
            assert any(t.startswith(digits[start:end]) for t in tokens)


def test_name_scores() -> None:
    assert name_affinity(["john", "smith"], "John Smith") == 100
    assert name_affinity(["john", "smith"], "John Smithson") == 90
    assert name_affinity(["acme"], "Bob Stone") == 0
    assert fuzzy_name_score(["jonh", "smiht"], "John Smith") >= 70
    assert fuzzy_name_score(["nobody"], "Bob Bowman") < 70


def test_snippet_marks_the_matched_words() -> None:
    text = (
        "Intro. " * 40 + "We renewed the contract with José for the quarterly invoice. " + "x " * 80
    )
    out = snippet(text, ["jose", "invoic"])
    assert "**José**" in out and "**invoice**" in out
    assert out.startswith("…") and out.endswith("…")
    assert len(out) < 260
    assert snippet("no match here", ["zzz"]) == "no match here"
    assert snippet("", ["a"]) == ""
