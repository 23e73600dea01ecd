"""Who is acting, in which workspace, through which session: passed to every service call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tenure.clock import utcnow
from tenure.domain.access import Permission, Role, require


@dataclass
class Ctx:
    session: Session
    workspace_id: int
    user_id: int | None
    role: Role
    #: Where the action came from: ``api``, ``web``, ``cli``, ``automation``, ``demo``.
    source: str = "api"
    workspace_timezone: str = "UTC"
    now: datetime = field(default_factory=utcnow)
    #: Set while automation acts: {"rule_id": …, "depth": …}. Events it causes carry it, so a
    #: rule never retriggers itself and chains stop (see services.automation).
    automation: dict[str, int] | None = None
    #: Per-request memo (workspace settings …): a Ctx lives for one unit of work.
    cache: dict[str, object] = field(default_factory=dict)

    def require(self, permission: Permission) -> None:
        require(self.role, permission)

    @property
    def today(self) -> date:
        """Today in the workspace's time zone: effective dates are business days."""
        return self.now.astimezone(ZoneInfo(self.workspace_timezone)).date()

    def moment_of(self, day: date) -> datetime:
        """When a dated change sits on the timeline: now if it is today, else the start of that
        day in the workspace's zone (back-dated history lands where it happened)."""
        if day == self.today:
            return self.now
        local = datetime.combine(day, time.min, tzinfo=ZoneInfo(self.workspace_timezone))
        return local.astimezone(UTC)
