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
import gc
import json
import multiprocessing
import random
import sqlite3
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.engine import make_url

from bench import history
from bench.bulk import IndexesPaused, Loader, Stamps
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
#: Page cache for the load (KiB): the chunk's pages and the index builds' sorts stay in memory.
LOAD_CACHE_KIB = 1_048_576
#: The page cache (KiB), hence the sorter's run size, and its helper threads for the builds.
SORT_CACHE_KIB = 65_536
SORT_THREADS = 2
#: FTS5's in-memory term hash for the load, and its default (what the app runs with).
FTS_LOAD_HASH_BYTES = 256 << 20
FTS_HASH_BYTES = 1 << 20
#: Days after ``now`` that the stamp table covers (planned activities lie ahead).
STAMP_DAYS_AHEAD = 400
#: Contacts drawn and loaded together: bounds memory (10M events never sit in memory at once).
CHUNK = 2_000
#: From this many events on, a second process draws the rows while this one writes them.
PIPELINE_EVENTS = 200_000

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
#: The contact row's varying columns (tuple order) and its constant ones.
CONTACT_COLUMNS = (
    "id", "kind", "display_name", "given_name", "family_name", "sort_name", "emails", "phones",
    "tags", "owner_id", "stage", "client_since", "closed_tenure_days", "last_interaction_at",
    "next_activity_at", "last_touch_at", "next_touch_due", "health_score",
    "health_contributions", "created_at", "updated_at",
)
CONTACT_FIXED = {
    "address": None, "timezone": None, "notes": "", "last_service_at": None,
    "cadence_days": None, "do_not_email": False, "merged_into_id": None, "erased_at": None,
    "version": 1,
}
SNAPSHOT_COLUMNS = ("contact_id", "day", "score", "contributions")
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
    cid, stamps = h.contact_id, world.stamps
    created = stamps.at(h.created)
    row = (
        cid, kind, name, given, family, name.lower()[:300],
        json.dumps([{"email": email, "label": None, "primary": True}], ensure_ascii=False),
        json.dumps([{"number": phone, "label": None, "primary": True}], ensure_ascii=False),
        json.dumps(tags, ensure_ascii=False), owner, h.stage, stamps.day(h.client_since),
        h.closed_days, stamps.maybe(h.last_interaction), stamps.maybe(h.next_activity),
        stamps.maybe(h.last_touch), stamps.day(h.next_touch_due), h.health_score,
        h.health_contributions, created, created,
    )  # fmt: skip
    title, body = contact_document(ContactText(name, given, family, (email,), (phone,), (), tags))
    facts = ContactFacts(cid, kind, name, given, family, (email,), (phone,))
    return {
        "contacts": [row],
        "contact_emails": [(cid, email)],
        "contact_phones": [(cid, phone)],
        "contact_tags": [(cid, t) for t in tags],
        "contact_match_keys": [(cid, k) for k in sorted(match_keys(facts))],
        "documents": [("contact", cid, cid, title, body, created)],
    }


#: Each table the generator fills: its rows' key in a chunk, varying columns, constant ones.
LOADS: tuple[tuple[str, str, tuple[str, ...], dict[str, Any]], ...] = (
    ("contacts", "contacts", CONTACT_COLUMNS, CONTACT_FIXED),
    ("contact_emails", "contact_emails", ("contact_id", "email"), {}),
    ("contact_phones", "contact_phones", ("contact_id", "number"), {}),
    ("contact_tags", "contact_tags", ("contact_id", "tag"), {}),
    ("contact_match_keys", "contact_match_keys", ("contact_id", "key"), {}),
    ("agreements", "agreements", history.AGREEMENT_COLUMNS, history.AGREEMENT_FIXED),
    ("transitions", "transitions", history.TRANSITION_COLUMNS, history.TRANSITION_FIXED),
    ("activities", "activities", history.ACTIVITY_COLUMNS, history.ACTIVITY_FIXED),
    ("interactions", "interactions", history.INTERACTION_COLUMNS, history.INTERACTION_FIXED),
    ("knowledge_entries", "knowledge", history.KNOWLEDGE_COLUMNS, history.KNOWLEDGE_FIXED),
    ("commitments", "commitments", history.COMMITMENT_COLUMNS, history.COMMITMENT_FIXED),
    ("cases", "cases", history.CASE_COLUMNS, history.CASE_FIXED),
    ("timeline_events", "events", history.EVENT_COLUMNS, history.EVENT_FIXED),
    ("search_documents", "documents", history.DOCUMENT_COLUMNS, {}),
    ("health_snapshots", "health_snapshots", SNAPSHOT_COLUMNS, {}),
)
#: The ``ContactHistory`` row lists gathered as they are.
HISTORY_ROWS = (
    "agreements", "transitions", "activities", "interactions", "knowledge", "commitments",
    "cases", "documents", "events",
)  # fmt: skip


Rows = dict[str, list[tuple[Any, ...]]]


def _chunk_rows(world: World, histories: list[Any], updates: list[Any], rng: random.Random) -> Rows:
    """A chunk's rows, by ``LOADS`` key, and under ``updates`` what the writing side needs to
    make the plain update events (contact, created, count, seed)."""
    rows: Rows = {key: [] for _, key, _, _ in LOADS}
    rows["updates"] = updates
    today = world.today.isoformat()
    for i, h, owner in histories:
        for key, value in _contact_rows(rng, world, i, h, owner).items():
            rows[key] += value
        for key in HISTORY_ROWS:
            rows[key] += getattr(h, key)
        if h.health_score is not None:
            rows["health_snapshots"].append(
                (h.contact_id, today, h.health_score, h.health_contributions)
            )
    return rows


def _insert_chunk(loader: Loader, world: World, rows: Rows) -> int:
    events = rows["events"]
    for cid, created, n, seed in rows["updates"]:
        events += history.updates(world, cid, created, n, seed)
    # Timeline ids are the insertion order (SQLite's rowid, PostgreSQL's sequence): sorted by
    # time, they follow time inside a chunk, as a live workspace's would.
    events.sort(key=itemgetter(0))
    for table, key, columns, fixed in LOADS:
        loader.insert(
            TABLES[table], columns, rows[key], {"workspace_id": world.workspace_id, **fixed}
        )
    return len(rows["events"])


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


Samples = dict[int, tuple[int, int]]


def _chunks(world: World, plan: Plan, seed: int, ids: Ids, samples: Samples) -> Iterator[Rows]:
    """Every contact's rows, CHUNK contacts at a time (10M events never sit in memory at once),
    all drawn from one ``Random(seed)`` in one order: the same seed gives the same rows. Fills
    ``samples``: for the timeline scenario, the clients whose event counts are nearest 10, 1k
    and a whale's (target -> (contact id, events))."""
    rng = random.Random(seed)
    stages = _stages(rng, plan)
    budget = event_budget(rng, plan, stages)
    chunk: list[Any] = []
    updates: list[tuple[int, int, int, int]] = []
    for i, (stage, n_events) in enumerate(zip(stages, budget, strict=True)):
        cid = ids.take("contacts")
        h = history.build(rng, world, ids, cid, stage, n_events)
        owner = world.members[rng.randrange(len(world.members))] if stage != "contact" else None
        chunk.append((i, h, owner))
        if h.updates:
            updates.append((cid, h.created, h.updates, (seed << 32) | i))
        if h.stage == "client":
            count = len(h.events) + h.updates
            for target in (10, 1000, plan.whale_events):
                best = samples.get(target)
                if best is None or abs(count - target) < abs(best[1] - target):
                    samples[target] = (cid, count)
        if len(chunk) >= CHUNK:
            yield _chunk_rows(world, chunk, updates, rng)
            chunk, updates = [], []
    if chunk:
        yield _chunk_rows(world, chunk, updates, rng)


def _produce(sender: Any, world: World, plan: Plan, seed: int, ids: Ids) -> None:
    """The drawing process: sends each chunk's rows, then the samples (or the error)."""
    gc.disable()  # millions of tuples without cycles (see _load_settings)
    try:
        samples: Samples = {}
        for rows in _chunks(world, plan, seed, ids, samples):
            sender.send(("rows", rows))
        sender.send(("done", samples))
    except BaseException:
        sender.send(("error", traceback.format_exc()))
    finally:
        sender.close()


def _drawn(
    world: World, plan: Plan, seed: int, ids: Ids, samples: Samples, pipeline: bool
) -> Iterator[Rows]:
    """The chunks, drawn here or, with ``pipeline``, by a second process while this one
    writes the previous chunk: drawing (Python) and writing (the database) then run on two
    cores. The pipe holds about one chunk, so the drawing stays at most a chunk or two ahead.
    The child is forked (a spawned one would re-run the caller's script and be sent the world
    through a pipe): it only computes and sends, never touches the connection it inherits, and
    leaves through ``os._exit`` (multiprocessing's), so nothing of this process is closed."""
    if not pipeline:
        yield from _chunks(world, plan, seed, ids, samples)
        return
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_produce, args=(sender, world, plan, seed, ids), name="bench-draw", daemon=True
    )
    child.start()
    sender.close()  # only the child writes: its exit then ends our recv() with EOFError
    try:
        while True:
            try:
                kind, payload = receiver.recv()
            except EOFError:
                raise RuntimeError(
                    f"the drawing process died (exit code {child.exitcode})"
                ) from None
            if kind == "rows":
                yield payload
            elif kind == "done":
                samples.update(payload)
                break
            else:
                raise RuntimeError(f"the drawing process failed:\n{payload}")
        child.join()
    finally:
        if child.is_alive():
            child.terminate()
            child.join()
        receiver.close()


def _load_all(
    loader: Loader, world: World, plan: Plan, seed: int, pipeline: bool
) -> tuple[int, Samples]:
    """Every contact's history, written chunk by chunk; returns the events written and the
    timeline samples."""
    ids = Ids({name: loader.next_id(table) for name, table in TABLES.items()})
    samples: Samples = {}
    total_events = 0
    for rows in _drawn(world, plan, seed, ids, samples, pipeline):
        total_events += _insert_chunk(loader, world, rows)
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
    pipeline: bool | None = None,
) -> dict[str, Any]:
    """``pipeline``: draw in a second process (default: from PIPELINE_EVENTS events on, where
    it pays for the process start); the rows are the same either way."""
    begun = time.perf_counter()
    plan = Plan.of(size, scale)
    now = now or datetime.combine(date.today(), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=12
    )
    engine = make_engine(url, pool_size=2)
    upgrade(engine)
    setup = _setup(engine, plan, now, slug)
    engine.dispose()  # SQLite leaves WAL mode for the load only if no other connection is open
    words = history.word_table(*vocabulary(random.Random(seed)))
    start = now - timedelta(days=365 * YEARS)
    world = World(
        workspace_id=setup["workspace_id"],
        now=now,
        start=start,
        members=setup["members"],
        busy_member=setup["busy_user_id"],
        words=words,
        cadence_days=DEFAULT_CADENCE_DAYS,
        health_weights=dict(DEFAULT_WEIGHTS),
        stamps=Stamps(
            engine.dialect.name == "sqlite",
            start.date() - timedelta(days=1),
            now.date() + timedelta(days=STAMP_DAYS_AHEAD),
        ),
    )
    if pipeline is None:
        pipeline = plan.events >= PIPELINE_EVENTS
    with engine.connect() as conn, _load_settings(conn):
        started = time.perf_counter()
        with conn.begin():
            paused = IndexesPaused(conn, TABLES)
            with paused:
                loader = Loader(conn)
                total_events, samples = _load_all(loader, world, plan, seed, pipeline)
                if conn.dialect.name == "sqlite":
                    _sort_settings(conn)
        load_seconds = time.perf_counter() - started
        finished = time.perf_counter()
        with conn.begin():
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
            conn.exec_driver_sql("ANALYZE")
        finish_seconds = time.perf_counter() - finished
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
        "finish_seconds": round(finish_seconds, 1),
        "total_seconds": round(time.perf_counter() - begun, 1),
        "table_seconds": {k: round(v, 2) for k, v in sorted(loader.seconds.items())},
        "index_seconds": paused.seconds,
        "events_per_second": round(total_events / max(load_seconds, 1e-9)),
        "timeline_samples": {
            str(t): {"contact_id": c, "events": n} for t, (c, n) in samples.items()
        },
    }


@contextmanager
def _load_settings(conn: Connection) -> Iterator[None]:
    """SQLite settings for the load and its finish only, restored after (the database is then
    the WAL-mode, foreign-key-checked file the app opens). A crash mid-load loses only the
    benchmark's own data; an error rolls back (the rollback journal is in memory). Python's
    cyclic garbage collector is paused too: the chunks are millions of tuples without cycles,
    which it would otherwise walk again and again."""
    collecting = gc.isenabled()
    gc.disable()
    raw = conn.connection.driver_connection
    assert raw is not None
    sqlite = conn.dialect.name == "sqlite"
    left_wal = False
    try:
        if sqlite:
            left_wal = _leave_wal(raw)
            raw.execute("PRAGMA synchronous=OFF")
            raw.execute("PRAGMA foreign_keys=OFF")  # the generator's ids are right by construction
            raw.execute(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}")
            raw.execute("PRAGMA temp_store=MEMORY")  # index builds sort in memory
            _fts_hash(raw, FTS_LOAD_HASH_BYTES)
        else:  # this session only: commit without waiting for the flush, sort indexes in RAM
            raw.execute("SET synchronous_commit = off")
            raw.execute("SET maintenance_work_mem = '512MB'")
        yield
    finally:
        if sqlite:
            _fts_hash(raw, FTS_HASH_BYTES)
            raw.execute("PRAGMA threads=0")
            raw.execute("PRAGMA temp_store=DEFAULT")
            raw.execute("PRAGMA cache_size=-2000")
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute("PRAGMA synchronous=NORMAL")
            if left_wal:
                raw.execute("PRAGMA journal_mode=WAL")
        if collecting:
            gc.enable()


def _sort_settings(conn: Connection) -> None:
    """For the index builds: SQLite's sorter writes a sorted run each time its buffer (the page
    cache's size) fills, and with ``threads`` the runs are sorted and merged by helper threads
    while the table scan goes on, on the second core. A 1 GB cache keeps everything in one
    single-threaded sort; with 64 MB runs the timeline's three
    indexes at 0.2 of M took 6.2 CPU-s instead of 7.1."""
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SORT_CACHE_KIB}")
    conn.exec_driver_sql(f"PRAGMA threads={SORT_THREADS}")


def _fts_hash(raw: Any, size: int) -> None:
    """FTS5 keeps new terms in memory up to ``hashsize`` bytes, then writes them as a segment
    and merges segments as they pile up; at the default 1 MB a load writes thousands of
    segments and merges them again and again (a 256 MB hash: 45 % less full-text work, the
    same index after 'optimize'). It is a setting stored in the database: restored after."""
    raw.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('hashsize', ?)", (size,))


def _leave_wal(raw: Any) -> bool:
    """Out of WAL for the load: the pages are then written once, to the file, instead of to
    the WAL and again by the checkpoint (a 5 GB WAL at M). SQLite allows it only while no
    other connection has the file open (a test's own engine may): then the load stays in WAL.
    Asked without waiting: another connection would not close within the busy timeout."""
    timeout = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute("PRAGMA busy_timeout=0")
    try:
        mode = raw.execute("PRAGMA journal_mode=MEMORY").fetchone()[0]
    except sqlite3.OperationalError:  # "database is locked"
        mode = "wal"
    finally:
        raw.execute(f"PRAGMA busy_timeout={int(timeout)}")
    return bool(mode == "memory")


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
