"""Assembling the continuity brief from a constant number of queries, whatever the history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tenure.db.models import Contact
from tenure.db.repositories.brief import BriefQueries, as_date, as_day
from tenure.db.repositories.contacts import ContactRepository
from tenure.domain.access import Permission
from tenure.domain.brief import (
    AgreementLine,
    Brief,
    CadenceLine,
    EventLine,
    HealthLine,
    InteractionLine,
    ItemLine,
    KnowledgeLine,
    Relationship,
    SpellLine,
    Who,
)
from tenure.domain.commitments import CommitmentStatus, is_overdue
from tenure.domain.events import EventType
from tenure.domain.health import band_of
from tenure.domain.knowledge import is_stale
from tenure.domain.lifecycle import Stage, TransitionFact, replay, tenure_days
from tenure.services import cadence, workspace_settings
from tenure.services.context import Ctx

RECENT_INTERACTIONS = 5
SINCE_EVENTS = 25
OPEN_ITEMS = 15
#: Without any interaction yet, "since last time" looks back this far.
SINCE_FALLBACK_DAYS = 30
PREFERRED_CHANNEL_KEY = "preferred_channel"


def build(ctx: Ctx, contact_id: int) -> Brief:
    """Two statements after authentication: the contact, then every list the brief shows in
    one ``UNION ALL`` (``db.repositories.brief``), however long the history."""
    ctx.require(Permission.READ)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    since = contact.last_interaction_at or ctx.now - timedelta(days=SINCE_FALLBACK_DAYS)
    lines = BriefQueries(ctx.session, ctx.workspace_id).lines(
        contact,
        since=since,
        exclude_types=[EventType.INTERACTION_LOGGED.value],
        now=ctx.now,
        recent=RECENT_INTERACTIONS,
        events=SINCE_EVENTS,
        items=OPEN_ITEMS,
    )
    stale_days = workspace_settings.read(ctx).stale_knowledge_days
    knowledge = lines["kn"]
    tz = contact.timezone or ctx.workspace_timezone
    preferred = next((k.s3 for k in knowledge if k.s2 == PREFERRED_CHANNEL_KEY), None)
    state = cadence.status(ctx, contact)
    owner = lines["ow"][0].s1 if lines["ow"] else None
    return Brief(
        contact_id=contact.id,
        generated_at=ctx.now,
        who=Who(
            name=contact.display_name,
            kind=contact.kind,
            organizations=tuple(o.s1 + (f" ({o.s2})" if o.s2 else "") for o in lines["org"]),
            owner=owner,
            timezone=tz,
            local_time=ctx.now.astimezone(ZoneInfo(tz)),
            preferred_channel=preferred,
            emails=tuple(e["email"] for e in contact.emails),
            phones=tuple(p["number"] for p in contact.phones),
        ),
        relationship=_relationship(ctx, contact, lines["tr"], lines["ag"]),
        knowledge=tuple(
            KnowledgeLine(
                k.id,
                k.s1,
                k.s2,
                k.s3,
                bool(k.flag),
                is_stale(k.t1, ctx.now, stale_days),
                k.t1,
            )
            for k in knowledge
        ),
        since_last_time=tuple(EventLine(e.s1, e.t1, e.s2) for e in lines["ev"]),
        since=contact.last_interaction_at,
        recent_interactions=tuple(
            InteractionLine(i.id, i.s1, i.s2, i.t1, i.s4, i.s3) for i in lines["in"]
        ),
        open_items=_open_items(ctx, lines),
        health=HealthLine(
            contact.health_score,
            band_of(contact.health_score) if contact.health_score is not None else None,
            tuple(f"{c['points']}: {c['reason']}" for c in contact.health_contributions),
        ),
        cadence=CadenceLine(
            state.cadence_days if contact.stage == Stage.CLIENT else None,
            contact.last_touch_at,
            contact.next_touch_due,
            state.overdue_days,
        ),
    )


def _relationship(
    ctx: Ctx, contact: Contact, rows: Sequence[Any], agreements: Sequence[Any]
) -> Relationship:
    standing = replay(TransitionFact(Stage(t.s1), Stage(t.s2), as_day(t.d1)) for t in rows)
    reasons = [t.s3 for t in rows if t.s2 == Stage.FORMER_CLIENT]
    spells = tuple(
        SpellLine(
            sp.started_on, sp.ended_on, reasons[i] if sp.ended_on and i < len(reasons) else None
        )
        for i, sp in enumerate(standing.spells)
    )
    return Relationship(
        stage=contact.stage,
        client_since=contact.client_since,
        tenure_days=tenure_days(contact.closed_tenure_days, contact.client_since, ctx.today),
        spells=spells,
        active_agreements=tuple(
            AgreementLine(a.id, a.s1, a.s2, as_date(a.d1), as_date(a.d2), a.n1, a.s3, a.s4)
            for a in agreements
        ),
    )


def _open_items(ctx: Ctx, lines: dict[str, list[Any]]) -> tuple[ItemLine, ...]:
    items: list[ItemLine] = []
    for c in lines["cm"]:
        due = as_date(c.d1)
        items.append(
            ItemLine(
                "commitment",
                c.id,
                c.s1,
                due,
                is_overdue(CommitmentStatus(c.s3), due, ctx.today),
                f"to {c.s2}" if c.s2 else "",
            )
        )
    for a in lines["ac"]:
        items.append(ItemLine(a.s1, a.id, a.s2, a.t1, a.t1 < ctx.now, a.s3))
    for d in lines["dl"]:
        items.append(ItemLine("delivery", d.id, d.s1, d.t1, False, d.s2))
    for case in lines["cs"]:
        items.append(ItemLine("case", case.id, case.s1, case.t1, False, f"{case.s2}, {case.s3}"))
    return tuple(items)
