"""Which delimiter a CSV sample uses."""

from __future__ import annotations

import csv

DELIMITERS = ",;\t|"


def detect_delimiter(sample: str) -> str:
    """The Sniffer's answer among the usual delimiters; else the one the header line has most
    of; else a comma. Only whole lines are looked at (a cut last line misleads the Sniffer)."""
    lines = sample.splitlines()
    text = "\n".join(lines[:-1] if len(lines) > 1 else lines)
    try:
        return csv.Sniffer().sniff(text, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","
