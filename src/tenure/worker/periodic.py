"""Periodic jobs: enqueued by every worker's tick with a key per period, so each runs once per
period however many workers tick, and the first tick after downtime catches up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Periodic:
    kind: str
    #: ``daily`` (once per local day of the workspace) or ``hourly``.
    every: str

    def period_key(self, now: datetime, timezone: str) -> str:
        local = now.astimezone(ZoneInfo(timezone))
        stamp = (
            local.strftime("%Y-%m-%d") if self.every == "daily" else local.strftime("%Y-%m-%dT%H")
        )
        return f"periodic:{self.kind}:{stamp}"


PERIODIC: list[Periodic] = [
    Periodic("health.snapshot", "daily"),
    Periodic("schedules.extend", "daily"),
    Periodic("rules.time", "hourly"),
]
