"""Date arithmetic of time-based triggers: when an occurrence is due, what to query for it,
anniversaries, quiet spells, and the keys that make each occurrence fire once."""

from __future__ import annotations

from datetime import date, timedelta


def due_day(field_date: date, offset_days: int) -> date:
    """The day an occurrence relative to ``field_date`` comes due."""
    return field_date + timedelta(days=offset_days)


def window_start(evaluated_until: date | None, first_day: date) -> date:
    """The first day an evaluation looks at: the day of the last evaluation (re-examined, so a
    record added later that day is not missed), else the day the rule was made."""
    return evaluated_until if evaluated_until is not None else first_day


def is_due(field_date: date, offset_days: int, since: date, today: date) -> bool:
    """Whether an occurrence fires in an evaluation covering days ``since`` … ``today``."""
    due = due_day(field_date, offset_days)
    if due > today:
        return False
    if due >= since:
        return True
    # A reminder before a date that was missed (new rule, late record) while the date is ahead.
    return offset_days < 0 and field_date >= today


def field_range(offset_days: int, since: date, today: date) -> tuple[date, date]:
    """The field dates (inclusive) whose occurrences ``is_due`` may accept: what to query."""
    high = today - timedelta(days=offset_days)
    low = since - timedelta(days=offset_days)
    if offset_days < 0:
        low = min(low, today)
    return low, high


def anniversary(since: date, year: int) -> date:
    """The anniversary of ``since`` in ``year`` (29 February is kept on 28 February)."""
    try:
        return since.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def anniversaries_due(
    since: date, offset_days: int, window_from: date, today: date
) -> list[tuple[int, date]]:
    """(year, due day) of each anniversary (year 1 on) that fires in the window."""
    out: list[tuple[int, date]] = []
    first_year = since.year + 1
    span = abs(offset_days) // 365 + 1
    for year in range(max(first_year, window_from.year - span), today.year + span + 1):
        field_date = anniversary(since, year)
        if is_due(field_date, offset_days, window_from, today):
            out.append((year, due_day(field_date, offset_days)))
    return out


def quiet_anchor(last_day: date | None, client_since: date | None) -> date | None:
    """Since when a client has been quiet: the last touch (or service), else becoming a
    client; the later of the two (a returning client's quiet starts at their return)."""
    if last_day is None:
        return client_since
    if client_since is not None and client_since > last_day:
        return client_since
    return last_day


def quiet_through(today: date, days: int) -> date:
    """The latest anchor that counts as 'quiet for ``days`` days' today."""
    return today - timedelta(days=days)


def trigger_key(*parts: object) -> str:
    """The identity of one trigger occurrence (a rule fires once per key)."""
    return ":".join(str(p) for p in parts)[:200]
