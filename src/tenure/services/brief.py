"""Assembling the continuity brief from a constant number of queries, whatever the history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from tenure.db.models import Agreement, Contact, Transition
from tenure.db.repositories.access import users_by_id
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.continuity import CommitmentRepository, KnowledgeRepository
from tenure.db.repositories.lifecycle import AgreementRepository, TransitionRepository
from tenure.db.repositories.scheduling import (
    ActivityRepository,
    CaseRepository,
    DeliveryRepository,
)
from tenure.db.repositories.timeline import InteractionRepository, TimelineRepository
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
    ctx.require(Permission.READ)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    s, ws = ctx.session, ctx.workspace_id
    affiliations = ContactRepository(s, ws).affiliations_of(contact.id)
    transitions = TransitionRepository(s, ws).of_contact(contact.id)
    agreements = AgreementRepository(s, ws).active_of_contact(contact.id)
    knowledge = KnowledgeRepository(s, ws).current(contact.id)
    interactions = InteractionRepository(s, ws).recent(contact.id, RECENT_INTERACTIONS)
    since = contact.last_interaction_at or ctx.now - timedelta(days=SINCE_FALLBACK_DAYS)
    events = TimelineRepository(s, ws).since(
        contact.id, since, exclude=[EventType.INTERACTION_LOGGED.value], limit=SINCE_EVENTS
    )
    users = users_by_id(
        s,
        [i.author_id for i in interactions if i.author_id]
        + ([contact.owner_id] if contact.owner_id else []),
    )
    stale_days = workspace_settings.read(ctx).stale_knowledge_days

    def name_of(user_id: int | None) -> str | None:
        user = users.get(user_id) if user_id else None
        return (user.name or user.email) if user else None

    tz = contact.timezone or ctx.workspace_timezone
    preferred = next((k.text for k in knowledge if k.key == PREFERRED_CHANNEL_KEY), None)
    state = cadence.status(ctx, contact)
    return Brief(
        contact_id=contact.id,
        generated_at=ctx.now,
        who=Who(
            name=contact.display_name,
            kind=contact.kind,
            organizations=tuple(
                a.organization_name + (f" ({a.title})" if a.title else "")
                for a in affiliations
                if a.person_id == contact.id
            ),
            owner=name_of(contact.owner_id),
            timezone=tz,
            local_time=ctx.now.astimezone(ZoneInfo(tz)),
            preferred_channel=preferred,
            emails=tuple(e["email"] for e in contact.emails),
            phones=tuple(p["number"] for p in contact.phones),
        ),
        relationship=_relationship(ctx, contact, transitions, agreements),
        knowledge=tuple(
            KnowledgeLine(
                k.id,
                k.kind,
                k.key,
                k.text,
                k.pinned,
                is_stale(k.last_confirmed_at, ctx.now, stale_days),
                k.last_confirmed_at,
            )
            for k in knowledge
        ),
        since_last_time=tuple(EventLine(e.type, e.occurred_at, e.summary) for e in events),
        since=contact.last_interaction_at,
        recent_interactions=tuple(
            InteractionLine(
                i.id, i.channel, i.direction, i.occurred_at, name_of(i.author_id), i.subject
            )
            for i in interactions
        ),
        open_items=_open_items(ctx, contact),
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
    ctx: Ctx, contact: Contact, rows: Sequence[Transition], agreements: Sequence[Agreement]
) -> Relationship:
    standing = replay(
        TransitionFact(Stage(t.from_stage), Stage(t.to_stage), t.effective_on) for t in rows
    )
    reasons = [t.reason for t in rows if t.to_stage == Stage.FORMER_CLIENT]
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
            AgreementLine(
                a.id,
                a.title,
                a.kind,
                a.renews_on,
                a.ends_on,
                a.value_minor,
                a.currency,
                a.billing_period,
            )
            for a in agreements
        ),
    )


def _open_items(ctx: Ctx, contact: Contact) -> tuple[ItemLine, ...]:
    s, ws = ctx.session, ctx.workspace_id
    items: list[ItemLine] = []
    for c in CommitmentRepository(s, ws).open_of_contact(contact.id)[:OPEN_ITEMS]:
        items.append(
            ItemLine(
                "commitment",
                c.id,
                c.text,
                c.due_on,
                is_overdue(CommitmentStatus(c.status), c.due_on, ctx.today),
                f"to {c.promised_to}" if c.promised_to else "",
            )
        )
    for a in ActivityRepository(s, ws).open_of_contact(contact.id, OPEN_ITEMS):
        items.append(ItemLine(a.kind, a.id, a.title, a.at, a.at < ctx.now, a.location))
    for d in DeliveryRepository(s, ws).upcoming_of_contact(contact.id, ctx.now, OPEN_ITEMS):
        items.append(ItemLine("delivery", d.id, d.title, d.scheduled_start, False, d.status))
    for case in CaseRepository(s, ws).active_of_contact(contact.id, OPEN_ITEMS):
        items.append(
            ItemLine(
                "case",
                case.id,
                case.subject,
                case.opened_at,
                False,
                f"{case.priority}, {case.status}",
            )
        )
    return tuple(items)
