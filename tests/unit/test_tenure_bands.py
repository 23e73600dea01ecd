"""Tenure bands: every spell lands in exactly one band, and none is lost or double-counted."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from tenure.domain.retention.bands import TENURE_BANDS, band_of, tenure_bands

histograms = st.dictionaries(st.integers(0, 20_000), st.integers(1, 1_000), max_size=30)


def test_the_bands_are_contiguous_from_day_zero() -> None:
    assert TENURE_BANDS[0][1] == 0 and TENURE_BANDS[-1][2] is None
    for (_, _, last), (_, first, _) in itertools.pairwise(TENURE_BANDS):
        assert last is not None and first == last + 1


@given(st.integers(0, 50_000))
def test_a_length_falls_in_the_band_that_holds_it(days: int) -> None:
    _, first, last = TENURE_BANDS[band_of(days)]
    assert first <= days and (last is None or days <= last)


def test_edges() -> None:
    assert [band_of(d) for d in (0, 90, 91, 365, 366, 1826, 1827, 10_000)] == [
        0,
        0,
        1,
        2,
        3,
        5,
        6,
        6,
    ]


@given(histograms, histograms)
def test_every_spell_is_counted_once(ongoing: dict[int, int], completed: dict[int, int]) -> None:
    bands = tenure_bands(ongoing, completed)
    assert [b.label for b in bands] == [label for label, _, _ in TENURE_BANDS]
    assert sum(b.ongoing for b in bands) == sum(ongoing.values())
    assert sum(b.completed for b in bands) == sum(completed.values())
    for days, n in ongoing.items():
        assert bands[band_of(days)].ongoing >= n
