"""Periodic jobs: enqueued by every worker's tick with a key per period, so each runs once per
period however many workers tick, and the first tick after downtime catches up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tenure.services import jobs
from tenure.services.context import Ctx


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
    Periodic("imports.expire_drafts", "daily"),
]


def continue_chain(ctx: Ctx, kind: str, period: str, cursor: str, payload: dict[str, Any]) -> None:
    """Enqueue the next batch of a periodic job that walks the workspace in slices.

    Each batch is its own job, so the write lock (SQLite) is held for one batch, not the whole
    walk. The continuation is enqueued in the batch's own transaction, so it exists exactly
    when the batch committed; its key ``<kind>:<period>:<cursor>`` is deterministic, so a
    batch that is run again (lease lost, crash after commit) cannot start a second chain.
    """
    jobs.enqueue(ctx, kind, {**payload, "period": period}, key=f"{kind}:{period}:{cursor}")


def period_of(ctx: Ctx, payload: dict[str, Any]) -> str:
    """The period a chain belongs to: carried in the payload from the first batch on, so a
    chain that runs past midnight keeps its keys."""
    return str(payload.get("period") or ctx.now.isoformat())
