"""The demo's two years: day numbers, business days and historical moments."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class DemoCalendar:
    """Day 0 is two years before ``today``; ``last`` is the last business day before it."""

    def __init__(self, *, today: date, timezone: str, days: int = 730) -> None:
        self.zone = ZoneInfo(timezone)
        self.start = today - timedelta(days=days)
        last = days - 1
        while self.on(last).weekday() >= 5:
            last -= 1
        #: Nothing is planned later than this day.
        self.last = last

    def on(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def workday(self, day: int) -> int:
        """The first business day on or after ``day`` (never past the last one)."""
        day = max(0, min(day, self.last))
        while self.on(day).weekday() >= 5:
            day += 1
        return min(day, self.last)

    def moment(self, day: int, hour: int, minute: int) -> datetime:
        """A time of day in the workspace's zone, as UTC."""
        local = datetime.combine(self.on(day), time(hour, minute), tzinfo=self.zone)
        return local.astimezone(UTC)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
