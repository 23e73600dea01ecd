"""One contact's five years, as the rows the services would have written.

``ContactHistory.build`` draws a contact's lifecycle spells (with reactivations), the
agreements that evidence them (renewed yearly), activities, interactions, knowledge,
commitments and cases, and the timeline events of all of it; then derives the contact row's
read fields (stage, client_since, closed tenure, last interaction and touch, next touch due,
next activity, health) with the same domain functions the services call. Nothing here touches
the database: ``bench.generate`` assigns ids and loads the rows.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tenure.domain.cadence import cadence_for, next_touch_due
from tenure.domain.health import OpenCase, Signals, score
from tenure.domain.lifecycle import EndReason, Stage, TransitionFact, replay

DAY = timedelta(days=1)
#: Serialized once: most events carry the same small payload.
UPDATED_DATA = '{"fields": ["notes"]}'
EMPTY = "{}"
CHANNELS = ("email", "call", "meeting", "message", "visit", "note")
END_REASONS = tuple(
    r.value for r in EndReason if r not in (EndReason.MERGED, EndReason.AGREEMENT_ENDED)
)
ACTIVITY_KINDS = ("task", "task", "call", "call", "meeting", "review")
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")
KNOWLEDGE_KINDS = ("preference", "expectation", "fact", "do_not")


@dataclass
class Ids:
    """The next free id of each table; the generator owns id assignment."""

    next: dict[str, int]

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class Event:
    occurred_at: datetime
    type: str
    subject_type: str
    subject_id: int | None
    summary: str
    data: dict[str, Any]


@dataclass
class ContactHistory:
    contact_id: int
    created_at: datetime
    stage: str = Stage.CONTACT.value
    client_since: date | None = None
    closed_days: int = 0
    transitions: list[tuple[Any, ...]] = field(default_factory=list)
    agreements: list[tuple[Any, ...]] = field(default_factory=list)
    activities: list[tuple[Any, ...]] = field(default_factory=list)
    interactions: list[tuple[Any, ...]] = field(default_factory=list)
    knowledge: list[tuple[Any, ...]] = field(default_factory=list)
    commitments: list[tuple[Any, ...]] = field(default_factory=list)
    cases: list[tuple[Any, ...]] = field(default_factory=list)
    documents: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    last_interaction_at: datetime | None = None
    last_touch_at: datetime | None = None
    next_activity_at: datetime | None = None
    next_touch_due: date | None = None
    health_score: int | None = None
    health_contributions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class World:
    """What every contact's history shares: the clock, the members, the words."""

    workspace_id: int
    now: datetime
    start: datetime
    members: list[int]
    busy_member: int
    words: list[str]
    weights: list[float]
    cadence_days: int
    health_weights: dict[str, int]

    @property
    def today(self) -> date:
        return self.now.date()


def midnight(day: date) -> datetime:
    """Where a dated change sits on the timeline (the workspace is in UTC)."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _moment(rng: random.Random, lo: datetime, hi: datetime) -> datetime:
    span = max((hi - lo).total_seconds(), 1.0)
    return (lo + timedelta(seconds=int(rng.random() * span))).replace(microsecond=0)


def _text(rng: random.Random, world: World, lo: int, hi: int) -> str:
    return " ".join(rng.choices(world.words, cum_weights=world.weights, k=rng.randint(lo, hi)))


def _spell_days(rng: random.Random, first: date, today: date, stage: str) -> list[date]:
    """The transition days: convert, (end, reactivate)*, [end] — sorted, distinct, <= today."""
    if stage == Stage.CONTACT.value:
        return []
    spells = 1 + (rng.random() < 0.2) + (rng.random() < 0.05)
    count = 2 * spells - (1 if stage == Stage.CLIENT.value else 0)
    span = (today - first).days
    if span < count:
        return [first] if stage == Stage.CLIENT.value else []
    offsets = sorted(rng.sample(range(span + 1), count))
    return [first + timedelta(days=o) for o in offsets]


def _counts(rng: random.Random, rest: int) -> dict[str, int]:
    """How many of each record a contact with ``rest`` free events gets."""

    def share(fraction: float) -> int:
        x = rest * fraction
        return int(x) + (rng.random() < x - int(x))

    return {
        "activities": share(0.10),  # two events each: 20 %
        "interactions": share(0.15),
        "knowledge": share(0.01),
        "commitments": share(0.005),
        "cases": share(0.005),
    }


def build(
    rng: random.Random,
    world: World,
    ids: Ids,
    contact_id: int,
    stage: str,
    n_events: int,
) -> ContactHistory:
    created = _moment(rng, world.start, world.now - 30 * DAY)
    h = ContactHistory(contact_id, created)
    h.events.append(
        Event(created, "contact.created", "contact", contact_id, "Contact created", EMPTY)
    )
    first = created.date() + timedelta(days=rng.randint(0, 60))
    _lifecycle(rng, world, ids, h, _spell_days(rng, first, world.today, stage))
    rest = max(n_events - len(h.events), 0)
    counts = _counts(rng, rest)
    _activities(rng, world, ids, h, counts["activities"])
    _interactions(rng, world, ids, h, counts["interactions"])
    _knowledge(rng, world, ids, h, counts["knowledge"])
    _commitments(rng, world, ids, h, counts["commitments"])
    _cases(rng, world, ids, h, counts["cases"])
    for _ in range(max(n_events - len(h.events), 0)):
        when = _moment(rng, created, world.now)
        h.events.append(
            Event(
                when,
                "contact.updated",
                "contact",
                contact_id,
                "Contact updated",
                UPDATED_DATA,
            )
        )
    h.events.sort(key=lambda e: e.occurred_at)
    _derive(world, h)
    return h


def _lifecycle(
    rng: random.Random, world: World, ids: Ids, h: ContactHistory, days: list[date]
) -> None:
    """Spells: each starts with a confirmed yearly agreement, renewed every year it lasts."""
    cid = h.contact_id
    stage = Stage.CONTACT.value
    for i in range(0, len(days), 2):
        start = days[i]
        end = days[i + 1] if i + 1 < len(days) else None
        reason = rng.choice(END_REASONS) if end else None
        years = max(1, math.ceil(((end or world.today) - start).days / 365))
        agreement_ids: list[int] = []
        for year in range(years):
            a_start = start + timedelta(days=365 * year)
            last = year == years - 1
            a_end = end if last else a_start + timedelta(days=365)
            aid = ids.take("agreements")
            agreement_ids.append(aid)
            value = rng.choice((12_000, 48_000, 120_000, 600_000))
            ended = a_end is not None
            h.agreements.append(
                (
                    aid,
                    world.workspace_id,
                    cid,
                    f"Yearly service {a_start.year}",
                    "subscription",
                    "ended" if ended else "active",
                    a_start,
                    a_end,
                    None if ended else a_start + timedelta(days=365),
                    value,
                    "EUR",
                    "yearly",
                    "",
                    midnight(a_start),
                    a_end,
                    (reason if last else "completed") if ended else None,
                    "",
                    1,
                    midnight(a_start),
                    midnight(a_end or a_start),
                )
            )
            h.events.append(
                Event(
                    midnight(a_start),
                    "agreement.confirmed",
                    "agreement",
                    aid,
                    f"Agreement confirmed: Yearly service {a_start.year}",
                    {},
                )
            )
            if a_end is not None:
                h.events.append(
                    Event(
                        midnight(a_end),
                        "agreement.ended",
                        "agreement",
                        aid,
                        f"Agreement ended: Yearly service {a_start.year}",
                        {},
                    )
                )
        to = Stage.CLIENT.value
        kind = "contact.converted" if stage == Stage.CONTACT.value else "contact.reactivated"
        h.transitions.append(
            (
                ids.take("transitions"),
                world.workspace_id,
                cid,
                stage,
                to,
                start,
                midnight(start),
                None,
                None,
                "agreement",
                agreement_ids[0],
                "",
            )
        )
        h.events.append(
            Event(midnight(start), kind, "contact", cid, f"{stage} → client", {"to": to})
        )
        stage = to
        if end is not None:
            to = Stage.FORMER_CLIENT.value
            h.transitions.append(
                (
                    ids.take("transitions"),
                    world.workspace_id,
                    cid,
                    stage,
                    to,
                    end,
                    midnight(end),
                    None,
                    reason,
                    None,
                    None,
                    "",
                )
            )
            h.events.append(
                Event(
                    midnight(end),
                    "relationship.ended",
                    "contact",
                    cid,
                    f"Relationship ended ({reason})",
                    {"reason": reason},
                )
            )
            stage = to


def _activities(rng: random.Random, world: World, ids: Ids, h: ContactHistory, n: int) -> None:
    for _ in range(n):
        aid = ids.take("activities")
        created = _moment(rng, h.created_at, world.now)
        at = created + timedelta(minutes=rng.randint(60, 14 * 24 * 60))
        kind = rng.choice(ACTIVITY_KINDS)
        assignee = world.busy_member if rng.random() < 0.05 else rng.choice(world.members)
        status, completed = "open", None
        if at < world.now:
            roll = rng.random()
            status = "done" if roll < 0.85 else ("cancelled" if roll < 0.9 else "open")
            completed = at if status == "done" else None
        title = f"{kind.capitalize()}: {_text(rng, world, 2, 4)}"
        timed = kind in ("call", "meeting")
        h.activities.append(
            (
                aid,
                world.workspace_id,
                h.contact_id,
                kind,
                title,
                "",
                assignee,
                at,
                None if timed else at,
                at if timed else None,
                at + timedelta(minutes=30) if timed else None,
                "UTC",
                "",
                status,
                completed,
                "",
                "manual",
                None,
                None,
                None,
                assignee,
                1,
                created,
                completed or created,
            )
        )
        h.events.append(
            Event(
                created,
                "activity.created",
                "activity",
                aid,
                f"{kind.capitalize()} planned: {title}",
                {"kind": kind},
            )
        )
        if status != "open":
            verb = "done" if status == "done" else "cancelled"
            h.events.append(
                Event(
                    completed or at,
                    f"activity.{'completed' if status == 'done' else 'cancelled'}",
                    "activity",
                    aid,
                    f"{kind.capitalize()} {verb}: {title}",
                    {"kind": kind, "note": "", "interaction_id": None},
                )
            )
        elif h.next_activity_at is None or at < h.next_activity_at:
            h.next_activity_at = at


def _interactions(rng: random.Random, world: World, ids: Ids, h: ContactHistory, n: int) -> None:
    for _ in range(n):
        iid = ids.take("interactions")
        when = _moment(rng, h.created_at, world.now)
        channel = rng.choice(CHANNELS)
        direction = "internal" if channel == "note" else rng.choice(("inbound", "outbound"))
        subject = _text(rng, world, 2, 6)
        body = _text(rng, world, 8, 40)
        author = rng.choice(world.members)
        h.interactions.append(
            (
                iid,
                world.workspace_id,
                h.contact_id,
                channel,
                direction,
                when,
                subject,
                body,
                [],
                author,
                None,
                None,
                when,
            )
        )
        h.documents.append(("interaction", iid, subject, body, when))
        label = {
            "email": "Email",
            "call": "Call",
            "meeting": "Meeting",
            "message": "Message",
            "visit": "Visit",
            "note": "Note",
        }[channel]
        summary = f"{label}{'' if direction == 'internal' else f' ({direction})'}: {subject}"
        h.events.append(
            Event(
                when,
                "interaction.logged",
                "interaction",
                iid,
                summary,
                {"channel": channel, "direction": direction, "subject": subject},
            )
        )
        if h.last_interaction_at is None or when > h.last_interaction_at:
            h.last_interaction_at = when
        if direction != "internal" and (h.last_touch_at is None or when > h.last_touch_at):
            h.last_touch_at = when


def _knowledge(rng: random.Random, world: World, ids: Ids, h: ContactHistory, n: int) -> None:
    for _ in range(n):
        kid = ids.take("knowledge_entries")
        when = _moment(rng, h.created_at, world.now)
        kind = rng.choice(KNOWLEDGE_KINDS)
        text_ = _text(rng, world, 5, 20)
        h.knowledge.append(
            (
                kid,
                world.workspace_id,
                h.contact_id,
                kid,
                None,
                kind,
                None,
                text_,
                None,
                "",
                False,
                rng.choice(world.members),
                when,
                when,
                None,
                None,
                "",
            )
        )
        h.documents.append(("knowledge", kid, kind.replace("_", " ").capitalize(), text_, when))
        h.events.append(
            Event(
                when,
                "knowledge.changed",
                "knowledge",
                kid,
                f"Knowledge added: {text_[:60]}",
                {"kind": kind, "key": None, "root_id": kid},
            )
        )


def _commitments(rng: random.Random, world: World, ids: Ids, h: ContactHistory, n: int) -> None:
    for _ in range(n):
        cid = ids.take("commitments")
        when = _moment(rng, h.created_at, world.now)
        due = when.date() + timedelta(days=rng.randint(1, 30))
        status, resolved = "open", None
        if due < world.today:
            roll = rng.random()
            status = "kept" if roll < 0.7 else ("broken" if roll < 0.8 else "open")
            resolved = midnight(due) if status != "open" else None
        text_ = f"Send {_text(rng, world, 2, 5)}"
        h.commitments.append(
            (
                cid,
                world.workspace_id,
                h.contact_id,
                text_,
                "",
                rng.choice(world.members),
                due,
                None,
                status,
                resolved,
                "",
                1,
                when,
                resolved or when,
            )
        )
        h.events.append(
            Event(when, "commitment.made", "commitment", cid, f"Commitment made: {text_}", EMPTY)
        )
        if resolved is not None:
            h.events.append(
                Event(
                    resolved,
                    f"commitment.{status}",
                    "commitment",
                    cid,
                    f"Commitment {status}: {text_}",
                    {},
                )
            )


def _cases(rng: random.Random, world: World, ids: Ids, h: ContactHistory, n: int) -> None:
    for _ in range(n):
        cid = ids.take("cases")
        opened = _moment(rng, h.created_at, world.now)
        recent = world.now - opened < 30 * DAY
        status = "open" if recent and rng.random() < 0.6 else "resolved"
        resolved = (
            None
            if status == "open"
            else min(opened + timedelta(hours=rng.randint(1, 200)), world.now)
        )
        subject = _text(rng, world, 3, 7)
        description = _text(rng, world, 10, 30)
        h.cases.append(
            (
                cid,
                world.workspace_id,
                h.contact_id,
                subject,
                description,
                rng.choice(PRIORITIES),
                rng.choice(world.members),
                status,
                opened,
                resolved,
                resolved,
                None,
                "",
                None,
                1,
                opened,
                resolved or opened,
            )
        )
        h.documents.append(("case", cid, subject, description, resolved or opened))
        h.events.append(Event(opened, "case.opened", "case", cid, f"Case opened: {subject}", EMPTY))
        if resolved is not None:
            h.events.append(
                Event(resolved, "case.resolved", "case", cid, f"Case resolved: {subject}", EMPTY)
            )


def _derive(world: World, h: ContactHistory) -> None:
    """The contact row's read fields, from the rows, as the services keep them."""
    facts = [TransitionFact(Stage(t[3]), Stage(t[4]), t[5]) for t in h.transitions]
    standing = replay(facts)
    h.stage = standing.stage.value
    h.client_since = standing.client_since
    h.closed_days = standing.closed_days
    cadence = cadence_for(None, (), {}, world.cadence_days)
    last_touch_on = h.last_touch_at.date() if h.last_touch_at else None
    h.next_touch_due = next_touch_due(
        is_client=h.stage == Stage.CLIENT.value,
        last_touch_on=last_touch_on,
        client_since=h.client_since,
        cadence_days=cadence,
    )
    if h.stage != Stage.CLIENT.value:
        return
    renewals = [a[8] for a in h.agreements if a[5] == "active" and a[8] and a[8] >= world.today]
    signals = Signals(
        today=world.today,
        cadence_days=cadence,
        next_touch_due=h.next_touch_due,
        last_touch_on=last_touch_on,
        overdue_commitments=sum(1 for c in h.commitments if c[8] == "open" and c[6] < world.today),
        overdue_tasks=sum(
            1 for a in h.activities if a[13] == "open" and a[3] == "task" and a[7] < world.now
        ),
        open_cases=[
            OpenCase(c[5], max((world.now - c[8]).days, 0))
            for c in h.cases
            if c[7] in ("open", "pending")
        ],
        renews_on=min(renewals) if renewals else None,
    )
    health = score(signals, world.health_weights)
    h.health_score = health.score
    h.health_contributions = [c.as_dict() for c in health.contributions]
