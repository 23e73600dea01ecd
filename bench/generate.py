"""The benchmark's data: one deterministic workspace with years of history, bulk-loaded.

    python -m bench.generate --size S|M|L --seed 1 --database-url URL [--scale F] [--now DATE]

S is 1k contacts and 100k timeline events, M 100k contacts (40k clients, 15k former clients),
10M events, ~1M activities, ~200k agreements, ~50k cases and 200 members; L ten times M.
``--scale`` multiplies a size. The workspace, its members and their API tokens are made through
the services; everything else is drawn by ``bench.history`` and loaded by ``bench.bulk``, with
every read field the services keep (stage, client since, last touch, next touch due, next
activity, health, search documents, duplicate keys, email/phone/tag lookup rows) derived the
way they derive it. A JSON sidecar (``--out``, default ``<database>.json``) holds the tokens
and the sample ids the scenarios use.

Deterministic: the same seed, size and ``--now`` give the same rows (ids included, on a fresh
database). ``--now`` defaults to today, so the data is current when it is measured.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, text
from sqlalchemy.engine import make_url

from bench import history
from bench.bulk import IndexesPaused, Loader
from bench.history import Ids, World
from bench.search import FIRST, LAST, ORG_KINDS, ORG_WORDS, TAGS, vocabulary
from tenure.db.engine import make_engine
from tenure.db.migrate import upgrade
from tenure.db.models import (
    Activity,
    Agreement,
    Case,
    Commitment,
    Contact,
    ContactEmail,
    ContactMatchKey,
    ContactPhone,
    ContactTag,
    HealthSnapshot,
    Interaction,
    KnowledgeEntry,
    SearchDocument,
    TimelineEvent,
    Transition,
)
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.duplicates import ContactFacts, match_keys
from tenure.domain.health import DEFAULT_WEIGHTS
from tenure.domain.search import ContactText, contact_document
from tenure.services import access
from tenure.services.context import Ctx
from tenure.services.workspace_settings import DEFAULT_CADENCE_DAYS

#: The M size; S and L scale it.
M = {
    "contacts": 100_000,
    "clients": 40_000,
    "former": 15_000,
    "events": 10_000_000,
    "members": 200,
}
SIZES = {"S": 0.01, "M": 1.0, "L": 10.0}
WHALE_EVENTS = 50_000
YEARS = 5
#: The big tables, loaded with their secondary indexes dropped (see bulk.IndexesPaused).
BULK_TABLES = ("timeline_events", "activities", "interactions", "search_documents", "agreements")
#: Contacts drawn and loaded together: bounds memory (10M events never sit in memory at once).
CHUNK = 2_000

TABLES: dict[str, Table] = {
    m.__tablename__: m.__table__  # type: ignore[misc]
    for m in (
        Contact,
        ContactEmail,
        ContactPhone,
        ContactTag,
        ContactMatchKey,
        Agreement,
        Transition,
        Activity,
        Interaction,
        KnowledgeEntry,
        Commitment,
        Case,
        TimelineEvent,
        SearchDocument,
        HealthSnapshot,
    )
}

# fmt: off
CONTACT_COLUMNS = (
    "id", "workspace_id", "kind", "display_name", "given_name", "family_name", "sort_name",
    "emails", "phones", "tags", "address", "timezone", "owner_id", "notes", "stage",
    "client_since", "closed_tenure_days", "last_interaction_at", "last_service_at",
    "next_activity_at", "cadence_days", "last_touch_at", "next_touch_due", "health_score",
    "health_contributions", "do_not_email", "merged_into_id", "erased_at", "version",
    "created_at", "updated_at",
)
TRANSITION_COLUMNS = (
    "id", "workspace_id", "contact_id", "from_stage", "to_stage", "effective_on", "recorded_at",
    "actor_id", "reason", "evidence_kind", "evidence_id", "note",
)
AGREEMENT_COLUMNS = (
    "id", "workspace_id", "contact_id", "title", "kind", "status", "starts_on", "ends_on",
    "renews_on", "value_minor", "currency", "billing_period", "terms", "confirmed_at", "ended_on",
    "end_reason", "end_note", "version", "created_at", "updated_at",
)
ACTIVITY_COLUMNS = (
    "id", "workspace_id", "contact_id", "kind", "title", "notes", "assignee_id", "at", "due_at",
    "start_at", "end_at", "timezone", "location", "status", "completed_at", "completion_note",
    "origin", "schedule_id", "occurrence_key", "interaction_id", "created_by", "version",
    "created_at", "updated_at",
)
INTERACTION_COLUMNS = (
    "id", "workspace_id", "contact_id", "channel", "direction", "occurred_at", "subject", "body",
    "participants", "author_id", "message_id", "thread_id", "created_at",
)
KNOWLEDGE_COLUMNS = (
    "id", "workspace_id", "contact_id", "root_id", "supersedes_id", "kind", "key", "text",
    "source_interaction_id", "source_person", "pinned", "recorded_by", "recorded_at",
    "last_confirmed_at", "superseded_at", "retired_at", "retire_reason",
)
COMMITMENT_COLUMNS = (
    "id", "workspace_id", "contact_id", "text", "promised_to", "promised_by", "due_on",
    "interaction_id", "status", "resolved_at", "resolution_note", "version", "created_at",
    "updated_at",
)
CASE_COLUMNS = (
    "id", "workspace_id", "contact_id", "subject", "description", "priority", "assignee_id",
    "status", "opened_at", "first_response_at", "resolved_at", "closed_at", "resolution",
    "created_by", "version", "created_at", "updated_at",
)
EVENT_COLUMNS = (
    "id", "workspace_id", "contact_id", "type", "occurred_at", "recorded_at", "actor_id",
    "subject_type", "subject_id", "summary", "data",
)
DOCUMENT_COLUMNS = (
    "workspace_id", "kind", "ref_id", "contact_id", "title", "body", "updated_at",
)


# fmt: on


@dataclass
class Plan:
    contacts: int
    clients: int
    former: int
    events: int
    members: int
    whales: int
    whale_events: int

    @classmethod
    def of(cls, size: str, scale: float) -> Plan:
        f = SIZES[size] * scale
        n = {k: max(round(v * f), 1) for k, v in M.items()}
        whale_events = min(WHALE_EVENTS, n["events"] // 10)
        return cls(
            contacts=max(n["contacts"], 20),
            clients=n["clients"],
            former=n["former"],
            events=n["events"],
            members=max(n["members"], 5),
            whales=3,
            whale_events=whale_events,
        )


def event_budget(rng: random.Random, plan: Plan, stages: list[str]) -> list[int]:
    """Skewed events per contact: plain contacts a handful, clients lognormal (median in the
    tens, a long tail), and a few whales with ``whale_events`` each."""
    budget = [rng.randint(1, 5) if s == "contact" else 0 for s in stages]
    related = [i for i, s in enumerate(stages) if s != "contact"]
    whales = related[: plan.whales]
    left = plan.events - sum(budget) - plan.whale_events * len(whales)
    weights = {i: rng.lognormvariate(0, 1.5) for i in related[plan.whales :]}
    total = sum(weights.values()) or 1.0
    for i, w in weights.items():
        budget[i] = max(3, min(int(w / total * left), plan.whale_events // 2))
    for i in whales:
        budget[i] = plan.whale_events
    return budget


def _person(rng: random.Random, i: int) -> tuple[str, str | None, str | None, str]:
    given, family = rng.choice(FIRST), rng.choice(LAST)
    local = "".join(ch for ch in f"{given}.{family}".lower() if ch.isascii() and ch != "'")
    domain = rng.choice(["gmail.com", "outlook.com", f"co{i % 3000}.example.org"])
    return f"{given} {family}", given, family, f"{local}{i}@{domain}"


def _organization(rng: random.Random, i: int) -> tuple[str, None, None, str]:
    name = f"{rng.choice(ORG_WORDS)} {rng.choice(ORG_WORDS)} {rng.choice(ORG_KINDS)}"
    domain = "".join(ch for ch in name.lower() if ch.isalnum())[:12]
    return name, None, None, f"info{i}@{domain}.com"


def _contact_rows(
    rng: random.Random, world: World, i: int, h: history.ContactHistory, owner: int | None
) -> dict[str, list[tuple[Any, ...]]]:
    """The contact row with its lookup rows, search document and duplicate keys."""
    kind = "organization" if i % 50 == 0 else "person"
    name, given, family, email = (_organization if kind == "organization" else _person)(rng, i)
    phone = f"+4420{7946000 + i:08d}"
    tags = sorted(rng.sample(TAGS, k=rng.randint(0, 2)))
    ws, cid = world.workspace_id, h.contact_id
    row = (
        cid, ws, kind, name, given, family, name.lower()[:300],
        [{"email": email, "label": None, "primary": True}],
        [{"number": phone, "label": None, "primary": True}],
        tags, None, None, owner, "", h.stage, h.client_since, h.closed_days,
        h.last_interaction_at, None, h.next_activity_at, None, h.last_touch_at, h.next_touch_due,
        h.health_score, h.health_contributions, False, None, None, 1, h.created_at,
        h.created_at,
    )  # fmt: skip
    title, body = contact_document(ContactText(name, given, family, (email,), (phone,), (), tags))
    facts = ContactFacts(cid, kind, name, given, family, (email,), (phone,))
    return {
        "contacts": [row],
        "contact_emails": [(ws, cid, email)],
        "contact_phones": [(ws, cid, phone)],
        "contact_tags": [(ws, cid, t) for t in tags],
        "contact_match_keys": [(ws, cid, k) for k in sorted(match_keys(facts))],
        "documents": [(ws, "contact", cid, cid, title, body, h.created_at)],
    }


def _event_rows(
    world: World, events: list[tuple[int, history.Event]], ids: Ids
) -> Iterator[tuple[Any, ...]]:
    events.sort(key=lambda ce: ce[1].occurred_at)  # ids follow time inside a chunk
    for cid, e in events:
        yield (
            ids.take("timeline_events"), world.workspace_id, cid, e.type, e.occurred_at,
            e.occurred_at, None, e.subject_type, e.subject_id, e.summary, e.data,
        )  # fmt: skip


def _load_chunk(
    loader: Loader, world: World, ids: Ids, histories: list[Any], rng: random.Random
) -> int:
    rows: dict[str, list[tuple[Any, ...]]] = {}
    events: list[tuple[int, history.Event]] = []
    for i, h, owner in histories:
        for key, value in _contact_rows(rng, world, i, h, owner).items():
            rows.setdefault(key, []).extend(value)
        for key in (
            "agreements",
            "transitions",
            "activities",
            "interactions",
            "knowledge",
            "commitments",
            "cases",
        ):
            rows.setdefault(key, []).extend(getattr(h, key))
        ws = world.workspace_id
        rows["documents"] += [
            (ws, kind, ref, h.contact_id, t, b, at) for kind, ref, t, b, at in h.documents
        ]
        events += [(h.contact_id, e) for e in h.events]
        if h.health_score is not None:
            rows.setdefault("health_snapshots", []).append(
                (ws, h.contact_id, world.today, h.health_score, h.health_contributions)
            )
    t = TABLES
    loader.insert(t["contacts"], CONTACT_COLUMNS, rows["contacts"])
    loader.insert(
        t["contact_emails"], ("workspace_id", "contact_id", "email"), rows["contact_emails"]
    )
    loader.insert(
        t["contact_phones"], ("workspace_id", "contact_id", "number"), rows["contact_phones"]
    )
    loader.insert(t["contact_tags"], ("workspace_id", "contact_id", "tag"), rows["contact_tags"])
    loader.insert(
        t["contact_match_keys"], ("workspace_id", "contact_id", "key"), rows["contact_match_keys"]
    )
    loader.insert(t["agreements"], AGREEMENT_COLUMNS, rows["agreements"])
    loader.insert(t["transitions"], TRANSITION_COLUMNS, rows["transitions"])
    loader.insert(t["activities"], ACTIVITY_COLUMNS, rows["activities"])
    loader.insert(t["interactions"], INTERACTION_COLUMNS, rows["interactions"])
    loader.insert(t["knowledge_entries"], KNOWLEDGE_COLUMNS, rows["knowledge"])
    loader.insert(t["commitments"], COMMITMENT_COLUMNS, rows["commitments"])
    loader.insert(t["cases"], CASE_COLUMNS, rows["cases"])
    loader.insert(t["timeline_events"], EVENT_COLUMNS, _event_rows(world, events, ids))
    loader.insert(t["search_documents"], DOCUMENT_COLUMNS, rows["documents"])
    loader.insert(
        t["health_snapshots"],
        ("workspace_id", "contact_id", "day", "score", "contributions"),
        rows.get("health_snapshots", []),
    )
    return len(events)


def _setup(engine: Engine, plan: Plan, now: datetime, slug: str) -> dict[str, Any]:
    """The workspace, its members and two tokens, through the services (few rows)."""
    with unit_of_work(session_factory(engine)) as session:
        workspace, owner = access.create_workspace(
            session, name="Bench", owner_email=f"owner@{slug}.example", slug=slug
        )
        ctx = Ctx(
            session=session,
            workspace_id=workspace.id,
            user_id=owner.id,
            role=Role.OWNER,
            source="cli",
        )
        members = [owner.id]
        for k in range(plan.members - 1):
            role = Role.ADMIN if k == 0 else Role.MEMBER
            _, user = access.add_member(ctx, email=f"member{k}@{slug}.example", role=role)
            members.append(user.id)
        busy = members[1]
        owner_token = access.create_token(
            session, workspace_id=workspace.id, user_id=owner.id, name="bench"
        )
        busy_token = access.create_token(
            session, workspace_id=workspace.id, user_id=busy, name="bench"
        )
        return {
            "workspace_id": workspace.id,
            "owner_user_id": owner.id,
            "busy_user_id": busy,
            "owner_token": owner_token.secret,
            "busy_token": busy_token.secret,
            "members": members,
        }


def _stages(rng: random.Random, plan: Plan) -> list[str]:
    stages = ["client"] * plan.clients + ["former_client"] * plan.former
    stages += ["contact"] * (plan.contacts - len(stages))
    rng.shuffle(stages)
    return stages


def _load_all(
    loader: Loader,
    world: World,
    plan: Plan,
    stages: list[str],
    budget: list[int],
    rng: random.Random,
) -> tuple[int, dict[int, tuple[int, int]]]:
    """Every contact's history, CHUNK contacts at a time; returns the events written and, for
    the timeline scenario, the clients whose event counts are nearest 10, 1k and a whale's."""
    ids = Ids({name: loader.next_id(table) for name, table in TABLES.items()})
    samples: dict[int, tuple[int, int]] = {}  # target -> (contact id, events)
    total_events = 0
    chunk: list[Any] = []
    for i, (stage, n_events) in enumerate(zip(stages, budget, strict=True)):
        cid = ids.take("contacts")
        h = history.build(rng, world, ids, cid, stage, n_events)
        owner = world.members[rng.randrange(len(world.members))] if stage != "contact" else None
        chunk.append((i, h, owner))
        if h.stage == "client":
            for target in (10, 1000, plan.whale_events):
                best = samples.get(target)
                if best is None or abs(len(h.events) - target) < abs(best[1] - target):
                    samples[target] = (cid, len(h.events))
        if len(chunk) >= CHUNK:
            total_events += _load_chunk(loader, world, ids, chunk, rng)
            chunk = []
    if chunk:
        total_events += _load_chunk(loader, world, ids, chunk, rng)
    loader.fix_sequences(TABLES.values())
    return total_events, samples


def generate(
    url: str,
    size: str,
    seed: int,
    *,
    scale: float = 1.0,
    now: datetime | None = None,
    slug: str = "bench",
) -> dict[str, Any]:
    plan = Plan.of(size, scale)
    now = now or datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=12
    )
    engine = make_engine(url, pool_size=2)
    upgrade(engine)
    setup = _setup(engine, plan, now, slug)
    rng = random.Random(seed)
    words, weights = vocabulary(random.Random(seed))
    world = World(
        workspace_id=setup["workspace_id"],
        now=now,
        start=now - timedelta(days=365 * YEARS),
        members=setup["members"],
        busy_member=setup["busy_user_id"],
        words=words,
        weights=list(accumulate(weights)),
        cadence_days=DEFAULT_CADENCE_DAYS,
        health_weights=dict(DEFAULT_WEIGHTS),
    )
    stages = _stages(rng, plan)
    budget = event_budget(rng, plan, stages)
    started = time.perf_counter()
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.driver_connection
        if sqlite:  # a crash mid-load loses only the benchmark's own data
            raw.execute("PRAGMA synchronous=OFF")
            raw.execute("PRAGMA foreign_keys=OFF")  # the generator's ids are right by construction
            raw.execute("PRAGMA cache_size=-262144")  # 256 MB of page cache for the indexes
        try:
            with conn.begin(), IndexesPaused(conn, BULK_TABLES):
                loader = Loader(conn)
                total_events, samples = _load_all(loader, world, plan, stages, budget, rng)
        finally:
            if sqlite:
                raw.execute("PRAGMA synchronous=NORMAL")
                raw.execute("PRAGMA foreign_keys=ON")
                raw.execute("PRAGMA cache_size=-2000")
    load_seconds = time.perf_counter() - started
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return {
        **setup,
        "url": url,
        "size": size,
        "scale": scale,
        "seed": seed,
        "now": now.isoformat(),
        "plan": plan.__dict__,
        "events": total_events,
        "rows": loader.rows_written,
        "load_seconds": round(load_seconds, 1),
        "table_seconds": {k: round(v, 2) for k, v in sorted(loader.seconds.items())},
        "events_per_second": round(total_events / max(load_seconds, 1e-9)),
        "timeline_samples": {
            str(t): {"contact_id": c, "events": n} for t, (c, n) in samples.items()
        },
    }


def sidecar_path(url: str) -> Path:
    database = make_url(url).database or "bench"
    return (
        Path(database + ".json")
        if make_url(url).get_backend_name() == "sqlite"
        else Path(f".bench/{database}.json")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--now", help="the data's present, YYYY-MM-DD (default today)")
    parser.add_argument("--out", help="the JSON sidecar (tokens, samples)")
    args = parser.parse_args()
    now = None
    if args.now:
        now = datetime.fromisoformat(args.now).replace(tzinfo=UTC) + timedelta(hours=12)
    info = generate(args.database_url, args.size, args.seed, scale=args.scale, now=now)
    out = Path(args.out) if args.out else sidecar_path(args.database_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info, indent=2))
    print(
        f"{info['events']:,} events, {info['rows']:,} rows in {info['load_seconds']}s "
        f"({info['events_per_second']:,} events/s); sidecar {out}"
    )


if __name__ == "__main__":
    main()
