"""Tenure bands: how long relationships last, as a histogram of spells by length.

A spell is one continuous period as a client (``contact.client_since`` to its end). Ongoing
spells are today's clients (their length so far); completed spells ended in the period (their
contact is a former client, or a client again in a later spell).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: (label, first day, last day or None for open-ended); contiguous from day 0.
TENURE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("< 3 months", 0, 90),
    ("3-6 months", 91, 182),
    ("6-12 months", 183, 365),
    ("1-2 years", 366, 730),
    ("2-3 years", 731, 1095),
    ("3-5 years", 1096, 1826),
    ("5+ years", 1827, None),
)


@dataclass(frozen=True)
class TenureBand:
    label: str
    first_day: int
    last_day: int | None
    #: Spells still going (current clients).
    ongoing: int
    #: Spells that ended in the period (former clients, or clients again since).
    completed: int

    @property
    def total(self) -> int:
        return self.ongoing + self.completed


def band_of(days: int) -> int:
    """The index of the band a spell of ``days`` falls in (a negative length counts as 0)."""
    for index, (_, _first, last) in enumerate(TENURE_BANDS):
        if last is None or days <= last:
            return index
    raise AssertionError("the last band is open-ended")


def tenure_bands(ongoing: Mapping[int, int], completed: Mapping[int, int]) -> list[TenureBand]:
    """Histograms ``{length in days: number of spells}`` folded into the bands."""
    counts = [[0, 0] for _ in TENURE_BANDS]
    for column, histogram in enumerate((ongoing, completed)):
        for days, n in histogram.items():
            counts[band_of(days)][column] += n
    return [
        TenureBand(label, first, last, ongoing_n, completed_n)
        for (label, first, last), (ongoing_n, completed_n) in zip(TENURE_BANDS, counts, strict=True)
    ]
