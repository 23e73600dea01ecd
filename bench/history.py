"""One contact's five years, as the rows the services would have written.

``build`` draws a contact's lifecycle spells (with reactivations), the agreements that
evidence them (renewed yearly), activities, interactions, knowledge, commitments and cases, and
the timeline events of all of it; then derives the contact row's read fields (stage,
client_since, closed tenure, last interaction and touch, next touch due, next activity, health)
with the same domain functions the services call. Nothing here touches the database:
``bench.generate`` assigns ids and loads the rows.

Speed (ten million events at size M): moments are whole epoch seconds (ints) until they are
written, and ``World.stamps`` turns them into the database's text by table lookup; rows are
tuples of the columns that vary (``*_COLUMNS``), the constant ones are the loader's ``fixed``
values (``*_FIXED``); JSON payloads are templates filled with ``%``. The plain
``contact.updated`` events, most of the timeline, cost one random draw, one string
concatenation and one tuple each.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import repeat
from json import dumps
from json.encoder import encode_basestring
from typing import Any, TypeVar

from bench.bulk import DAY_SECONDS, Stamps, epoch
from tenure.domain.cadence import cadence_for, next_touch_due
from tenure.domain.health import OpenCase, Signals, score
from tenure.domain.lifecycle import EndReason, Stage, TransitionFact, replay

DAY = DAY_SECONDS
T = TypeVar("T")
#: log2 of the word table's size (see ``word_table``).
WORD_BITS = 21
_EPOCH = date(1970, 1, 1)
#: Serialized once: most events carry the same small payload.
UPDATED_DATA = '{"fields": ["notes"]}'
EMPTY = "{}"
CHANNELS = ("email", "call", "meeting", "message", "visit", "note")
CHANNEL_LABELS = {
    "email": "Email",
    "call": "Call",
    "meeting": "Meeting",
    "message": "Message",
    "visit": "Visit",
    "note": "Note",
}
END_REASONS = tuple(
    r.value for r in EndReason if r not in (EndReason.MERGED, EndReason.AGREEMENT_ENDED)
)
ACTIVITY_KINDS = ("task", "task", "call", "call", "meeting", "review")
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")
KNOWLEDGE_KINDS = ("preference", "expectation", "fact", "do_not")
#: The JSON the services write for each payload shape (``json.dumps`` of the same dicts).
ACTIVITY_CREATED_DATA = {k: dumps({"kind": k}) for k in ACTIVITY_KINDS}
ACTIVITY_CLOSED_DATA = {
    k: dumps({"kind": k, "note": "", "interaction_id": None}) for k in ACTIVITY_KINDS
}
INTERACTION_DATA = '{"channel": "%s", "direction": "%s", "subject": %s}'
KNOWLEDGE_DATA = '{"kind": "%s", "key": null, "root_id": %d}'
CONVERTED_DATA = dumps({"to": Stage.CLIENT.value})
ENDED_DATA = {r: dumps({"reason": r}) for r in END_REASONS}

# fmt: off
#: The varying columns of each table's rows, in tuple order, and the constant ones.
EVENT_COLUMNS = (
    "occurred_at", "recorded_at", "contact_id", "type", "subject_type", "subject_id", "summary",
    "data",
)
EVENT_FIXED = {"actor_id": None}
TRANSITION_COLUMNS = (
    "id", "contact_id", "from_stage", "to_stage", "effective_on", "recorded_at", "reason",
    "evidence_kind", "evidence_id",
)
TRANSITION_FIXED = {"actor_id": None, "note": ""}
AGREEMENT_COLUMNS = (
    "id", "contact_id", "title", "status", "starts_on", "ends_on", "renews_on", "value_minor",
    "confirmed_at", "ended_on", "end_reason", "created_at", "updated_at",
)
AGREEMENT_FIXED = {
    "kind": "subscription", "currency": "EUR", "billing_period": "yearly", "terms": "",
    "end_note": "", "version": 1,
}
ACTIVITY_COLUMNS = (
    "id", "contact_id", "kind", "title", "assignee_id", "at", "due_at", "start_at", "end_at",
    "status", "completed_at", "created_by", "created_at", "updated_at",
)
ACTIVITY_FIXED = {
    "notes": "", "timezone": "UTC", "location": "", "completion_note": "", "origin": "manual",
    "schedule_id": None, "occurrence_key": None, "interaction_id": None, "version": 1,
}
INTERACTION_COLUMNS = (
    "id", "contact_id", "channel", "direction", "occurred_at", "subject", "body", "author_id",
    "created_at",
)
INTERACTION_FIXED = {"participants": "[]", "message_id": None, "thread_id": None}
KNOWLEDGE_COLUMNS = (
    "id", "contact_id", "root_id", "kind", "text", "recorded_by", "recorded_at",
    "last_confirmed_at",
)
KNOWLEDGE_FIXED = {
    "supersedes_id": None, "key": None, "source_interaction_id": None, "source_person": "",
    "pinned": False, "superseded_at": None, "retired_at": None, "retire_reason": "",
}
COMMITMENT_COLUMNS = (
    "id", "contact_id", "text", "promised_by", "due_on", "status", "resolved_at", "created_at",
    "updated_at",
)
COMMITMENT_FIXED = {"promised_to": "", "interaction_id": None, "resolution_note": "", "version": 1}
CASE_COLUMNS = (
    "id", "contact_id", "subject", "description", "priority", "assignee_id", "status",
    "opened_at", "first_response_at", "resolved_at", "created_at", "updated_at",
)
CASE_FIXED = {"closed_at": None, "resolution": "", "created_by": None, "version": 1}
DOCUMENT_COLUMNS = ("kind", "ref_id", "contact_id", "title", "body", "updated_at")
# fmt: on


#: A timeline row: occurred_at, recorded_at, contact_id, type, subject_type, subject_id,
#: summary, data (``EVENT_COLUMNS``).
Event = tuple[str, str, int, str, str, int, str, str]


@dataclass
class Ids:
    """The next free id of each table; the generator owns id assignment."""

    next: dict[str, int]

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


@dataclass
class ContactHistory:
    """A contact's rows (tuples of the ``*_COLUMNS``) and its contact row's read fields."""

    contact_id: int
    created: int  #: epoch seconds
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
    #: How many ``updates`` fill the rest of the budget (made by the writing side).
    updates: int = 0
    # What the read fields are derived from, kept as numbers and dates (the rows hold text).
    facts: list[TransitionFact] = field(default_factory=list)
    renewals: list[date] = field(default_factory=list)
    open_tasks: list[int] = field(default_factory=list)
    open_commitment_dues: list[date] = field(default_factory=list)
    open_cases: list[tuple[str, int]] = field(default_factory=list)
    last_interaction: int | None = None
    last_touch: int | None = None
    next_activity: int | None = None
    next_touch_due: date | None = None
    health_score: int | None = None
    health_contributions: str = "[]"


@dataclass
class World:
    """What every contact's history shares: the clock, the members, the words."""

    workspace_id: int
    now: datetime
    start: datetime
    members: list[int]
    busy_member: int
    #: ``word_table(vocabulary)``: 2**WORD_BITS words, each as often as its weight says.
    words: list[str]
    cadence_days: int
    health_weights: dict[str, int]
    stamps: Stamps
    now_ts: int = 0
    start_ts: int = 0
    today: date = _EPOCH

    def __post_init__(self) -> None:
        self.now_ts, self.start_ts, self.today = epoch(self.now), epoch(self.start), self.now.date()


def day_ts(day: date) -> int:
    """Where a dated change sits on the timeline (midnight; the workspace is in UTC)."""
    return (day - _EPOCH).days * DAY


def ts_day(ts: int) -> date:
    return _EPOCH + timedelta(days=ts // DAY)


def _moment(rng: random.Random, lo: int, hi: int) -> int:
    return lo + int(rng.random() * max(hi - lo, 1))


# ``random``'s choice() and randint() are Python code around getrandbits (~0.5 µs a call);
# these are one C call and some arithmetic. Scaling a float by n is uniform to 2**-53.
def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    return seq[int(rng.random() * len(seq))]


def _between(rng: random.Random, lo: int, hi: int) -> int:
    """Uniform in ``lo..hi``, both included."""
    return lo + int(rng.random() * (hi - lo + 1))


def word_table(words: Sequence[str], weights: Sequence[float]) -> list[str]:
    """The words repeated in proportion to their weights, 2**WORD_BITS slots in all (largest
    remainders get the rounding): one random index is one weighted draw. At 2**21 slots even
    the rarest word of the Zipf vocabulary (~38 slots) is within 1.5 % of its weight."""
    size, total = 1 << WORD_BITS, sum(weights)
    exact = [w / total * size for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(words)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: size - sum(counts)]:
        counts[i] += 1
    table: list[str] = []
    for word, count in zip(words, counts, strict=True):
        table += [word] * count
    return table


def _text(rng: random.Random, world: World, lo: int, hi: int) -> str:
    """``lo``..``hi`` words drawn from the vocabulary's Zipf weights (``word_table``); the
    draws run in C (``map`` over ``getrandbits``), a tenth of ``choices``' time per word."""
    k = lo + int(rng.random() * (hi - lo + 1))
    return " ".join(map(world.words.__getitem__, map(rng.getrandbits, repeat(WORD_BITS, k))))


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
    created = _moment(rng, world.start_ts, world.now_ts - 30 * DAY)
    h = ContactHistory(contact_id, created)
    at = world.stamps.at(created)
    h.events.append(
        (at, at, contact_id, "contact.created", "contact", contact_id, "Contact created", EMPTY)
    )
    first = ts_day(created) + timedelta(days=_between(rng, 0, 60))
    _lifecycle(rng, world, ids, h, _spell_days(rng, first, world.today, stage))
    rest = max(n_events - len(h.events), 0)
    counts = _counts(rng, rest)
    _activities(rng, world, ids, h, counts["activities"])
    _interactions(rng, world, ids, h, counts["interactions"])
    _knowledge(rng, world, ids, h, counts["knowledge"])
    _commitments(rng, world, ids, h, counts["commitments"])
    _cases(rng, world, ids, h, counts["cases"])
    h.updates = max(n_events - len(h.events), 0)
    _derive(world, h)
    return h


def updates(world: World, contact_id: int, created: int, n: int, seed: int) -> list[Event]:
    """The plain ``contact.updated`` events that fill the rest of a contact's budget: most of
    the timeline, so one draw and one table lookup each (``created <= t <= now`` stays inside
    the stamp table). They have their own ``Random(seed)``, so the writing side can make them
    while the next chunk is drawn (see ``generate._drawn``)."""
    stamps = world.stamps
    days, clock, base, span = stamps.days, stamps.clock, stamps.base, max(world.now_ts - created, 1)
    draw = random.Random(seed).random
    events: list[Event] = []
    for _ in range(n):
        t = created + int(draw() * span)
        s = days[t // DAY - base] + clock[t % DAY]
        events.append(
            (s, s, contact_id, "contact.updated", "contact", contact_id, "Contact updated",
             UPDATED_DATA)
        )  # fmt: skip
    return events


def _lifecycle(
    rng: random.Random, world: World, ids: Ids, h: ContactHistory, days: list[date]
) -> None:
    """Spells: each starts with a confirmed yearly agreement, renewed every year it lasts."""
    cid = h.contact_id
    stamp = world.stamps.at
    stage = Stage.CONTACT.value
    for i in range(0, len(days), 2):
        start = days[i]
        end = days[i + 1] if i + 1 < len(days) else None
        reason = _pick(rng, END_REASONS) if end else None
        years = max(1, math.ceil(((end or world.today) - start).days / 365))
        agreement_ids: list[int] = []
        for year in range(years):
            a_start = start + timedelta(days=365 * year)
            last = year == years - 1
            a_end = end if last else a_start + timedelta(days=365)
            aid = ids.take("agreements")
            agreement_ids.append(aid)
            value = _pick(rng, (12_000, 48_000, 120_000, 600_000))
            renews = None if a_end is not None else a_start + timedelta(days=365)
            if renews is not None:
                h.renewals.append(renews)
            began = stamp(day_ts(a_start))
            title = f"Yearly service {a_start.year}"
            h.agreements.append(
                (
                    aid,
                    cid,
                    title,
                    "active" if a_end is None else "ended",
                    a_start.isoformat(),
                    Stamps.day(a_end),
                    Stamps.day(renews),
                    value,
                    began,
                    Stamps.day(a_end),
                    None if a_end is None else (reason if last else "completed"),
                    began,
                    began if a_end is None else stamp(day_ts(a_end)),
                )
            )
            h.events.append(
                (began, began, cid, "agreement.confirmed", "agreement", aid,
                 f"Agreement confirmed: {title}", EMPTY)
            )  # fmt: skip
            if a_end is not None:
                ended = stamp(day_ts(a_end))
                h.events.append(
                    (ended, ended, cid, "agreement.ended", "agreement", aid,
                     f"Agreement ended: {title}", EMPTY)
                )  # fmt: skip
        to = Stage.CLIENT.value
        kind = "contact.converted" if stage == Stage.CONTACT.value else "contact.reactivated"
        moment = stamp(day_ts(start))
        h.transitions.append(
            (ids.take("transitions"), cid, stage, to, start.isoformat(), moment, None,
             "agreement", agreement_ids[0])
        )  # fmt: skip
        h.facts.append(TransitionFact(Stage(stage), Stage(to), start))
        h.events.append(
            (moment, moment, cid, kind, "contact", cid, f"{stage} → client", CONVERTED_DATA)
        )
        stage = to
        if end is not None:
            assert reason is not None
            to = Stage.FORMER_CLIENT.value
            moment = stamp(day_ts(end))
            h.transitions.append(
                (ids.take("transitions"), cid, stage, to, end.isoformat(), moment, reason,
                 None, None)
            )  # fmt: skip
            h.facts.append(TransitionFact(Stage(stage), Stage(to), end))
            h.events.append(
                (moment, moment, cid, "relationship.ended", "contact", cid,
                 f"Relationship ended ({reason})", ENDED_DATA[reason])
            )  # fmt: skip
            stage = to


def _activities(rng: random.Random, world: World, ids: Ids, h: ContactHistory, n: int) -> None:
    stamp, now, cid, members = world.stamps.at, world.now_ts, h.contact_id, world.members
    for _ in range(n):
        aid = ids.take("activities")
        created = _moment(rng, h.created, now)
        at = created + 60 * _between(rng, 60, 14 * 24 * 60)
        kind = _pick(rng, ACTIVITY_KINDS)
        assignee = world.busy_member if rng.random() < 0.05 else _pick(rng, members)
        status, completed = "open", None
        if at < now:
            roll = rng.random()
            status = "done" if roll < 0.85 else ("cancelled" if roll < 0.9 else "open")
            completed = at if status == "done" else None
        label = kind.capitalize()
        title = f"{label}: {_text(rng, world, 2, 4)}"
        timed = kind in ("call", "meeting")
        at_s, created_s = stamp(at), stamp(created)
        completed_s = None if completed is None else at_s
        h.activities.append(
            (aid, cid, kind, title, assignee, at_s, None if timed else at_s,
             at_s if timed else None, stamp(at + 1800) if timed else None, status, completed_s,
             assignee, created_s, completed_s or created_s)
        )  # fmt: skip
        h.events.append(
            (created_s, created_s, cid, "activity.created", "activity", aid,
             f"{label} planned: {title}", ACTIVITY_CREATED_DATA[kind])
        )  # fmt: skip
        if status != "open":
            done = status == "done"
            h.events.append(
                (at_s, at_s, cid, "activity.completed" if done else "activity.cancelled",
                 "activity", aid, f"{label} {'done' if done else 'cancelled'}: {title}",
                 ACTIVITY_CLOSED_DATA[kind])
            )  # fmt: skip
        else:
            if kind == "task" and at < now:
                h.open_tasks.append(at)
            if h.next_activity is None or at < h.next_activity:
                h.next_activity = at


def _interactions(rng: random.Random, world: World, ids: Ids, h: ContactHistory, n: int) -> None:
    stamp, now, cid, members = world.stamps.at, world.now_ts, h.contact_id, world.members
    for _ in range(n):
        iid = ids.take("interactions")
        when = _moment(rng, h.created, now)
        channel = _pick(rng, CHANNELS)
        direction = "internal" if channel == "note" else _pick(rng, ("inbound", "outbound"))
        subject = _text(rng, world, 2, 6)
        body = _text(rng, world, 8, 40)
        author = _pick(rng, members)
        when_s = stamp(when)
        h.interactions.append((iid, cid, channel, direction, when_s, subject, body, author, when_s))
        h.documents.append(("interaction", iid, cid, subject, body, when_s))
        label = CHANNEL_LABELS[channel]
        summary = f"{label}{'' if direction == 'internal' else f' ({direction})'}: {subject}"
        data = INTERACTION_DATA % (channel, direction, encode_basestring(subject))
        h.events.append(
            (when_s, when_s, cid, "interaction.logged", "interaction", iid, summary, data)
        )
        if h.last_interaction is None or when > h.last_interaction:
            h.last_interaction = when
        if direction != "internal" and (h.last_touch is None or when > h.last_touch):
            h.last_touch = when


def _knowledge(rng: random.Random, world: World, ids: Ids, h: ContactHistory, n: int) -> None:
    stamp, cid = world.stamps.at, h.contact_id
    for _ in range(n):
        kid = ids.take("knowledge_entries")
        when = stamp(_moment(rng, h.created, world.now_ts))
        kind = _pick(rng, KNOWLEDGE_KINDS)
        text_ = _text(rng, world, 5, 20)
        h.knowledge.append((kid, cid, kid, kind, text_, _pick(rng, world.members), when, when))
        h.documents.append(
            ("knowledge", kid, cid, kind.replace("_", " ").capitalize(), text_, when)
        )
        h.events.append(
            (when, when, cid, "knowledge.changed", "knowledge", kid,
             f"Knowledge added: {text_[:60]}", KNOWLEDGE_DATA % (kind, kid))
        )  # fmt: skip


def _commitments(rng: random.Random, world: World, ids: Ids, h: ContactHistory, n: int) -> None:
    stamp, cid = world.stamps.at, h.contact_id
    for _ in range(n):
        mid = ids.take("commitments")
        made = _moment(rng, h.created, world.now_ts)
        due = ts_day(made) + timedelta(days=_between(rng, 1, 30))
        status, resolved = "open", None
        if due < world.today:
            roll = rng.random()
            status = "kept" if roll < 0.7 else ("broken" if roll < 0.8 else "open")
            resolved = stamp(day_ts(due)) if status != "open" else None
        if status == "open" and due < world.today:
            h.open_commitment_dues.append(due)
        text_ = f"Send {_text(rng, world, 2, 5)}"
        made_s = stamp(made)
        h.commitments.append(
            (mid, cid, text_, _pick(rng, world.members), due.isoformat(), status, resolved,
             made_s, resolved or made_s)
        )  # fmt: skip
        h.events.append(
            (made_s, made_s, cid, "commitment.made", "commitment", mid,
             f"Commitment made: {text_}", EMPTY)
        )  # fmt: skip
        if resolved is not None:
            h.events.append(
                (resolved, resolved, cid, f"commitment.{status}", "commitment", mid,
                 f"Commitment {status}: {text_}", EMPTY)
            )  # fmt: skip


def _cases(rng: random.Random, world: World, ids: Ids, h: ContactHistory, n: int) -> None:
    stamp, now, cid = world.stamps.at, world.now_ts, h.contact_id
    for _ in range(n):
        kid = ids.take("cases")
        opened = _moment(rng, h.created, now)
        recent = now - opened < 30 * DAY
        status = "open" if recent and rng.random() < 0.6 else "resolved"
        resolved = None if status == "open" else min(opened + 3600 * _between(rng, 1, 200), now)
        subject = _text(rng, world, 3, 7)
        description = _text(rng, world, 10, 30)
        priority = _pick(rng, PRIORITIES)
        opened_s = stamp(opened)
        resolved_s = None if resolved is None else stamp(resolved)
        if status == "open":
            h.open_cases.append((priority, max((now - opened) // DAY, 0)))
        h.cases.append(
            (kid, cid, subject, description, priority, _pick(rng, world.members), status,
             opened_s, resolved_s, resolved_s, opened_s, resolved_s or opened_s)
        )  # fmt: skip
        h.documents.append(("case", kid, cid, subject, description, resolved_s or opened_s))
        h.events.append(
            (opened_s, opened_s, cid, "case.opened", "case", kid, f"Case opened: {subject}",
             EMPTY)
        )  # fmt: skip
        if resolved_s is not None:
            h.events.append(
                (resolved_s, resolved_s, cid, "case.resolved", "case", kid,
                 f"Case resolved: {subject}", EMPTY)
            )  # fmt: skip


def _derive(world: World, h: ContactHistory) -> None:
    """The contact row's read fields, from the rows, as the services keep them."""
    standing = replay(h.facts)
    h.stage = standing.stage.value
    h.client_since = standing.client_since
    h.closed_days = standing.closed_days
    cadence = cadence_for(None, (), {}, world.cadence_days)
    last_touch_on = ts_day(h.last_touch) if h.last_touch is not None else None
    h.next_touch_due = next_touch_due(
        is_client=h.stage == Stage.CLIENT.value,
        last_touch_on=last_touch_on,
        client_since=h.client_since,
        cadence_days=cadence,
    )
    if h.stage != Stage.CLIENT.value:
        return
    renewals = [r for r in h.renewals if r >= world.today]
    signals = Signals(
        today=world.today,
        cadence_days=cadence,
        next_touch_due=h.next_touch_due,
        last_touch_on=last_touch_on,
        overdue_commitments=len(h.open_commitment_dues),
        overdue_tasks=len(h.open_tasks),
        open_cases=[OpenCase(priority, age) for priority, age in h.open_cases],
        renews_on=min(renewals) if renewals else None,
    )
    health = score(signals, world.health_weights)
    h.health_score = health.score
    h.health_contributions = dumps([c.as_dict() for c in health.contributions], ensure_ascii=False)
