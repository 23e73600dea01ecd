"""Search and duplicate detection at scale: p50/p95 of the services on a large workspace.

    python -m bench.search --url sqlite:///bench-search.db [--contacts 100000 --documents 200000]
    python -m bench.search --url postgresql+psycopg://postgres@127.0.0.1/bench --reuse

Generates (deterministically, with bulk inserts straight into the tables, the index following
through its triggers or generated column) one workspace of ``--contacts`` people and
organizations, ``--documents`` interactions, knowledge entries and cases, plus a small second
workspace, then times the contact search, the full-text search and duplicate detection, each
over a few hundred queries, through the services (what the API runs, minus HTTP).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from tenure.db.engine import make_engine
from tenure.db.migrate import upgrade
from tenure.db.models import (
    Case,
    Contact,
    ContactMatchKey,
    Interaction,
    KnowledgeEntry,
    SearchDocument,
    Workspace,
)
from tenure.db.uow import session_factory
from tenure.domain.access import Role
from tenure.domain.duplicates import ContactFacts, match_keys
from tenure.domain.search import ContactText, contact_document
from tenure.services import duplicates, search
from tenure.services.context import Ctx


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa "
    "Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew "
    "Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy "
    "Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob "
    "Kathleen "
    "Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma "
    "Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander "
    "Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather "
    "José Zoë François Søren Jürgen Björn Chloé Renée Noël Inès Łukasz Mateusz Åsa Siân Seán "
    "Ólafur Dvořák Müller Yusuf Aisha Wei Li Hiroshi Yuki Priya Arjun Olumide Chiamaka"
)
LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gómez Phillips "
    "Evans Turner Díaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers "
    "Gutiérrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
    "Watson Brooks Chávez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "Sanders Patel Myers Long Ross Foster Jiménez Müller Schmidt Schneider Fischer Weber Meyer "
    "Wagner Becker Schulz Hoffmann Dubois Lefèvre Moreau Laurent Simon Michel Rossi Russo Ferrari "
    "Esposito Bianchi Kowalski Nowak Wiśniewski Wójcik Novák Svoboda Dvořák Horvat Kovačević "
    "Jensen Nielsen Hansen Andersen Larsen Johansson Karlsson Nilsson Eriksson O'Brien O'Connor "
    "McDonald MacLeod Van-Dijk De-Jong Tanaka Suzuki Watanabe Wang Zhang Liu Chen Yang Singh Kumar"
)
ORG_WORDS = _words(
    "Acme Northwind Contoso Fabrikam Globex Initech Umbrella Stark Wayne Wonka Hooli Vandelay "
    "Sterling Cooper Pied Piper Dunder Mifflin Aperture Black Mesa Tyrell Cyberdyne Soylent "
    "Oceanic Virtucon Gringotts Monarch Massive Dynamic Prestige Worldwide Bluth Gekko Ajax"
)
ORG_KINDS = _words("Ltd GmbH LLC Partners Group Studio Labs Consulting Holdings Bakery Dental")
TAGS = _words("vip newsletter referral partner supplier board local remote priority legacy")
SYLLABLES = _words("ka to ri me su na lo pe vi da go ren tal mor sen qui bar lin fos dex cra ple")
COMMON = _words(
    "the and to of a in for is on that with as was at by be this have from or an they we "
    "call meeting invoice renewal contract proposal budget project delivery schedule onboarding "
    "review feedback issue support question price discount quarterly report migration server "
    "backup email update plan strategy workshop training follow-up complaint refund shipment "
    "payroll audit tax return deadline signature approval receipts expenses garden kitchen "
    "heating boiler plumbing roof window install repair appointment vaccine checkup treatment"
)


def vocabulary(rng: random.Random, size: int = 6000) -> tuple[list[str], list[float]]:
    words = list(COMMON)
    while len(words) < size:
        words.append("".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))))
    weights = [1 / (rank + 1) for rank in range(len(words))]  # Zipf
    return words, weights


def chunks(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _contact_row(ws_id: int, i: int, n_orgs: int, rng: random.Random, now: datetime) -> dict:
    if i < n_orgs:
        name = f"{rng.choice(ORG_WORDS)} {rng.choice(ORG_WORDS)} {rng.choice(ORG_KINDS)}"
        given = family = None
        kind = "organization"
        domain = "".join(ch for ch in name.lower() if ch.isalnum())[:12] + ".com"
        email = f"info{i}@{domain}"
    else:
        given, family = rng.choice(FIRST), rng.choice(LAST)
        name, kind = f"{given} {family}", "person"
        local = "".join(ch for ch in f"{given}.{family}".lower() if ch.isascii())
        domain = rng.choice(["gmail.com", "outlook.com", f"co{i % 3000}.example.org"])
        email = f"{local}{i}@{domain}"
    return {
        "workspace_id": ws_id,
        "kind": kind,
        "display_name": name,
        "given_name": given,
        "family_name": family,
        "sort_name": name.lower(),
        "emails": [{"email": email, "label": None, "primary": True}],
        "phones": [{"number": f"+4420{7946000 + i:08d}", "label": None, "primary": True}],
        "tags": rng.sample(TAGS, k=rng.randint(0, 2)),
        "notes": "",
        "stage": rng.choice(["contact", "client", "client", "former_client"]),
        "created_at": now,
        "updated_at": now,
    }


def _contacts(engine: Any, ws_id: int, count: int, rng: random.Random, now: datetime) -> list[int]:
    """Contacts, their search documents and duplicate keys, as the services would write them."""
    n_orgs = max(count // 50, 1)
    contacts = [_contact_row(ws_id, i, n_orgs, rng, now) for i in range(count)]
    with engine.begin() as conn:
        for batch in chunks(contacts):
            conn.execute(insert(Contact), batch)
        columns = (
            Contact.id,
            Contact.kind,
            Contact.display_name,
            Contact.given_name,
            Contact.family_name,
            Contact.emails,
            Contact.phones,
            Contact.tags,
        )
        rows = conn.execute(
            select(*columns).where(Contact.workspace_id == ws_id).order_by(Contact.id)
        ).all()
        documents, keys = [], []
        for r in rows:
            emails = tuple(e["email"] for e in r.emails)
            phones = tuple(p["number"] for p in r.phones)
            text = ContactText(
                r.display_name, r.given_name, r.family_name, emails, phones, (), r.tags
            )
            title, body = contact_document(text)
            documents.append(
                {
                    "workspace_id": ws_id,
                    "kind": "contact",
                    "ref_id": r.id,
                    "contact_id": r.id,
                    "title": title,
                    "body": body,
                    "updated_at": now,
                }
            )
            facts = ContactFacts(
                r.id, r.kind, r.display_name, r.given_name, r.family_name, emails, phones
            )
            keys += [
                {"workspace_id": ws_id, "contact_id": r.id, "key": k} for k in match_keys(facts)
            ]
        for batch in chunks(documents):
            conn.execute(insert(SearchDocument), batch)
        for batch in chunks(keys, 20000):
            conn.execute(insert(ContactMatchKey), batch)
    return [r.id for r in rows]


def _record(ws_id: int, contact: int, rng: random.Random, words: Any, now: datetime) -> tuple:
    """One interaction (70 %), knowledge entry (15 %) or case (15 %)."""
    vocabulary_, weights = words
    subject = " ".join(rng.choices(vocabulary_, weights, k=rng.randint(2, 6)))
    body = " ".join(rng.choices(vocabulary_, weights, k=rng.randint(10, 120)))
    common = {"workspace_id": ws_id, "contact_id": contact}
    roll = rng.random()
    if roll < 0.7:
        return (
            Interaction,
            "interaction",
            {
                **common,
                "channel": "email",
                "direction": "inbound",
                "subject": subject,
                "body": body,
                "participants": [],
                "created_at": now,
                "occurred_at": now - timedelta(days=rng.randint(0, 900)),
            },
        )
    if roll < 0.85:
        return (
            KnowledgeEntry,
            "knowledge",
            {
                **common,
                "kind": "preference",
                "text": body,
                "recorded_at": now,
                "last_confirmed_at": now,
            },
        )
    return (
        Case,
        "case",
        {
            **common,
            "subject": subject,
            "description": body,
            "status": "open",
            "opened_at": now,
            "created_at": now,
            "updated_at": now,
        },
    )


def _documents(
    engine: Any, ws_id: int, ids: list[int], count: int, rng: random.Random, words: Any
) -> None:
    """Records and their search documents, 5,000 at a time."""
    now = datetime.now(UTC)
    produced = 0
    while produced < count:
        batch: dict[Any, tuple[str, list[dict[str, Any]]]] = {}
        for _ in range(min(5000, count - produced)):
            model, kind, row = _record(ws_id, rng.choice(ids), rng, words, now)
            batch.setdefault(model, (kind, []))[1].append(row)
        with engine.begin() as conn:
            texts = []
            for model, (kind, rows) in batch.items():
                first = conn.scalar(select(func.coalesce(func.max(model.id), 0)))
                conn.execute(insert(model), rows)
                made = conn.execute(select(model).where(model.id > first).order_by(model.id))
                for m in (row._mapping for row in made):
                    body = m.get("body") or m.get("text") or m.get("description") or ""
                    texts.append(
                        {
                            "workspace_id": ws_id,
                            "kind": kind,
                            "ref_id": m["id"],
                            "contact_id": m["contact_id"],
                            "title": m.get("subject") or "Preference",
                            "body": body,
                            "updated_at": now,
                        }
                    )
            conn.execute(insert(SearchDocument), texts)
        produced += sum(len(rows) for _, rows in batch.values())


def generate(url: str, n_contacts: int, n_documents: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    engine = make_engine(url, pool_size=2)
    upgrade(engine)
    now = datetime.now(UTC)
    words = vocabulary(rng)
    with engine.begin() as conn:
        ws_ids = [
            conn.execute(
                insert(Workspace).values(name=slug, slug=slug, timezone="UTC", created_at=now)
            ).inserted_primary_key[0]
            for slug in ("bench", "bench-other")
        ]
    for ws_id, count, docs in ((ws_ids[0], n_contacts, n_documents), (ws_ids[1], 5000, 5000)):
        t0 = time.perf_counter()
        ids = _contacts(engine, ws_id, count, rng, now)
        print(f"workspace {ws_id}: {count} contacts in {time.perf_counter() - t0:.0f}s")
        t0 = time.perf_counter()
        _documents(engine, ws_id, ids, docs, rng, words)
        print(f"workspace {ws_id}: {docs} documents in {time.perf_counter() - t0:.0f}s")
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
        conn.execute(text("ANALYZE"))
    engine.dispose()


def timed(label: str, calls: list[Callable[[], Any]]) -> None:
    """Wall-clock p50/p95, and this process's CPU time (SQLite runs in-process, so on a busy
    machine its CPU time is the steadier measure; PostgreSQL's work is in its server)."""
    walls, cpus = [], []
    for call in calls:
        w0, c0 = time.perf_counter(), time.thread_time()
        call()
        walls.append((time.perf_counter() - w0) * 1000)
        cpus.append((time.thread_time() - c0) * 1000)

    def p(values: list[float], q: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, int(len(values) * q))]

    print(
        f"{label:<34} n={len(walls):<4} wall p50={statistics.median(walls):6.1f} "
        f"p95={p(walls, 0.95):6.1f} ms | cpu p50={statistics.median(cpus):6.1f} "
        f"p95={p(cpus, 0.95):6.1f} ms"
    )


def measure(url: str, seed: int = 11) -> None:
    rng = random.Random(seed)
    engine = make_engine(url, pool_size=2)
    factory = session_factory(engine)
    with factory() as session:
        ws = session.scalar(select(Workspace.id).where(Workspace.slug == "bench"))
        people = session.execute(
            select(
                Contact.id,
                Contact.display_name,
                Contact.given_name,
                Contact.family_name,
                Contact.emails,
                Contact.phones,
            )
            .where(Contact.workspace_id == ws, Contact.kind == "person")
            .order_by(func.random())
            .limit(400)
        ).all()
    words, _ = vocabulary(random.Random(7))

    def run(fn: Callable[[Ctx], Any]) -> Callable[[], Any]:
        def call() -> Any:
            with factory() as session:
                ctx = Ctx(session=session, workspace_id=ws, user_id=None, role=Role.OWNER)
                return fn(ctx)

        return call

    def contacts(q: str) -> Callable[[], Any]:
        return run(lambda ctx: search.search_contacts(ctx, q, limit=20))

    def texts(q: str, **kw: Any) -> Callable[[], Any]:
        return run(lambda ctx: search.search(ctx, q, limit=20, **kw))

    def typo(name: str) -> str:
        chars = list(name)
        i = rng.randrange(2, max(3, len(chars) - 1))
        if i + 1 < len(chars) and chars[i] != " " and chars[i + 1] != " ":
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        return "".join(chars)

    sample = people[:200]
    timed("contacts: full name", [contacts(p.display_name) for p in sample])
    timed("contacts: 2-letter prefix", [contacts(p.given_name[:2]) for p in sample])
    timed("contacts: 3-letter prefix", [contacts(p.family_name[:3]) for p in sample])
    timed(
        "contacts: given + family prefix",
        [contacts(f"{p.given_name} {p.family_name[:3]}") for p in sample],
    )
    timed("contacts: email", [contacts(p.emails[0]["email"]) for p in sample])
    timed("contacts: phone digits", [contacts(p.phones[0]["number"][-7:]) for p in sample])
    timed("contacts: typo (fuzzy)", [contacts(typo(p.display_name)) for p in sample])
    timed("contacts: folded accents", [contacts("jose muller") for _ in range(50)])
    common = words[:30]
    rare = words[2000:6000]
    timed("text: one common word", [texts(rng.choice(common)) for _ in range(100)])
    timed("text: one rare word", [texts(rng.choice(rare)) for _ in range(200)])
    timed(
        "text: two words", [texts(f"{rng.choice(common)} {rng.choice(rare)}") for _ in range(200)]
    )
    timed("text: 3-letter prefix", [texts(rng.choice(rare)[:3]) for _ in range(200)])
    timed("text: kind=case", [texts(rng.choice(rare), kind="case") for _ in range(200)])
    timed("text: one contact's", [texts(rng.choice(common), contact_id=p.id) for p in sample])
    timed(
        "duplicates: one contact",
        [run(lambda ctx, i=p.id: duplicates.find_for_contact(ctx, i)) for p in sample[:100]],
    )
    pages: list[Any] = [None]

    def next_page(ctx: Ctx) -> None:
        page = duplicates.find_all(ctx, cursor=pages[-1], limit=50)
        pages.append(page.next_cursor)

    timed("duplicates: workspace pages", [run(next_page)] * 20)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=200_000)
    parser.add_argument("--reuse", action="store_true", help="measure an existing database")
    args = parser.parse_args()
    if not args.reuse:
        generate(args.url, args.contacts, args.documents)
    measure(args.url)


if __name__ == "__main__":
    main()
