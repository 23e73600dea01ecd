"""Keeping each client's touch cadence current: last touch and next touch due."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from tenure.db.models import Contact
from tenure.domain.cadence import CadenceStatus, cadence_for, cadence_status, next_touch_due
from tenure.domain.lifecycle import Stage
from tenure.services import workspace_settings
from tenure.services.context import Ctx


def touch(ctx: Ctx, contact: Contact, when: datetime) -> None:
    """A touch happened (interaction, delivered service, completed call or meeting)."""
    if contact.last_touch_at is None or when > contact.last_touch_at:
        contact.last_touch_at = when
    refresh(ctx, contact)


def cadence_days(ctx: Ctx, contact: Contact) -> int:
    settings = workspace_settings.read(ctx)
    return cadence_for(
        contact.cadence_days, contact.tags, settings.cadence_by_tag, settings.default_cadence_days
    )


def refresh(ctx: Ctx, contact: Contact) -> None:
    """Recompute ``next_touch_due`` from the stage, the last touch and the cadence."""
    contact.next_touch_due = next_touch_due(
        is_client=contact.stage == Stage.CLIENT,
        last_touch_on=_local_day(ctx, contact.last_touch_at),
        client_since=contact.client_since,
        cadence_days=cadence_days(ctx, contact),
    )


def status(ctx: Ctx, contact: Contact) -> CadenceStatus:
    return cadence_status(
        cadence_days=cadence_days(ctx, contact),
        last_touch_on=_local_day(ctx, contact.last_touch_at),
        next_due=contact.next_touch_due,
        today=ctx.today,
    )


def _local_day(ctx: Ctx, moment: datetime | None) -> date | None:
    return moment.astimezone(ZoneInfo(ctx.workspace_timezone)).date() if moment else None
