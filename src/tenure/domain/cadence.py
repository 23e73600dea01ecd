"""Cadence: how often a client should be touched, and when the next touch is due.

The expected interval comes from the contact itself, else from its tags (the tightest tag
cadence wins: a `vip` tag asking for 14 days beats a `retainer` tag asking for 30), else from
the workspace default. Only clients have a cadence. Any touch (an interaction on any channel,
a delivered service, a completed call or meeting) resets it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from tenure.domain.errors import InvalidInput

MIN_CADENCE_DAYS = 1
MAX_CADENCE_DAYS = 3660


def check_cadence(days: int | None, field: str = "cadence_days") -> int | None:
    if days is None:
        return None
    if isinstance(days, bool) or not MIN_CADENCE_DAYS <= days <= MAX_CADENCE_DAYS:
        raise InvalidInput.one(
            field, "range", f"must be between {MIN_CADENCE_DAYS} and {MAX_CADENCE_DAYS} days"
        )
    return days


def cadence_for(
    contact_days: int | None,
    tags: Iterable[str],
    by_tag: Mapping[str, int],
    default_days: int,
) -> int:
    """The expected touch interval of a contact, in days."""
    if contact_days is not None:
        return contact_days
    tag_days = [by_tag[t] for t in tags if t in by_tag]
    return min(tag_days) if tag_days else default_days


def next_touch_due(
    *,
    is_client: bool,
    last_touch_on: date | None,
    client_since: date | None,
    cadence_days: int,
) -> date | None:
    """The day the next touch is due: a cadence after the last touch (or after becoming a
    client, for a client never touched). None for non-clients."""
    if not is_client:
        return None
    anchor = last_touch_on
    if client_since is not None and (anchor is None or client_since > anchor):
        anchor = client_since
    if anchor is None:
        return None
    return anchor + timedelta(days=cadence_days)


@dataclass(frozen=True)
class CadenceStatus:
    cadence_days: int
    last_touch_on: date | None
    next_touch_due: date | None
    #: Days past due (0 when not overdue).
    overdue_days: int

    @property
    def is_overdue(self) -> bool:
        return self.overdue_days > 0


def cadence_status(
    *, cadence_days: int, last_touch_on: date | None, next_due: date | None, today: date
) -> CadenceStatus:
    overdue = max((today - next_due).days, 0) if next_due is not None else 0
    return CadenceStatus(cadence_days, last_touch_on, next_due, overdue)
