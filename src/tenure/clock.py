"""The one place that reads the wall clock, so tests can move time (time-machine) in one spot."""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def today_utc() -> date:
    return utcnow().date()
