"""The scenarios: each an HTTP request (varied per iteration) and, for reads, its floor.

The floor is the bare SQL that computes the same answer (same rows, same order, same limit),
run through the same driver on a warm connection; the report gives each read's ratio to it.
Floors are written the way a person who knows the schema would write them by hand, with the
indexes that exist: they are what the database itself can do, not what the app runs.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from bench.search import vocabulary
from tenure.db.repositories.pagination import encode_cursor

#: Target groups (the issue's targets, per group): p95 limits in ms.
P95_TARGET_MS = {
    "record": 10.0,
    "write": 10.0,
    "list": 25.0,
    "search": 25.0,
    "timeline": 25.0,
    "brief": 25.0,
    "agenda": 25.0,
    "analytics": 500.0,
}
#: Groups whose p50 is held to 3x the floor (or the floor + 2 ms).
FLOOR_GROUPS = ("record", "list", "timeline")


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    token: str = "owner"


Floor = list[tuple[str, dict[str, Any]]]


@dataclass
class Scenario:
    number: int
    name: str
    group: str
    request: Callable[[int], Request]
    floor: Callable[[int], Floor] | None = None
    #: Reads run at most 4 statements (the test asserts it).
    read: bool = True


@dataclass
class Samples:
    """What the scenarios ask about, read once from the generated database."""

    workspace_id: int
    busy_user_id: int
    clients: list[dict[str, Any]]
    owner_id: int
    tag: str
    deep: list[Any]
    timeline: dict[str, int]
    words: list[str]
    sqlite: bool
    now: datetime

    @classmethod
    def load(cls, engine: Engine, info: dict[str, Any]) -> Samples:
        ws = info["workspace_id"]
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, display_name, emails, phones, sort_name FROM contacts "
                    "WHERE workspace_id = :ws AND stage = 'client' ORDER BY id"
                ),
                {"ws": ws},
            ).all()
            step = max(len(rows) // 200, 1)
            clients = [
                {
                    "id": r.id,
                    "name": r.display_name,
                    "email": _json(r.emails)[0]["email"],
                    "phone": _json(r.phones)[0]["number"],
                }
                for r in rows[::step]
            ]
            owner = conn.execute(
                text(
                    "SELECT owner_id FROM contacts WHERE workspace_id = :ws AND stage = 'client' "
                    "AND owner_id IS NOT NULL GROUP BY owner_id ORDER BY count(*) DESC, owner_id "
                    "LIMIT 1"
                ),
                {"ws": ws},
            ).scalar_one()
            deep = conn.execute(
                text(
                    "SELECT sort_name, id FROM contacts WHERE workspace_id = :ws "
                    "AND stage = 'client' AND merged_into_id IS NULL ORDER BY sort_name, id "
                    "LIMIT 1 OFFSET :k"
                ),
                {"ws": ws, "k": len(rows) * 3 // 4},
            ).one()
        words, _ = vocabulary(random.Random(info["seed"]))
        return cls(
            workspace_id=ws,
            busy_user_id=info["busy_user_id"],
            clients=clients,
            owner_id=owner,
            tag="vip",
            deep=[deep.sort_name, deep.id],
            timeline={k: v["contact_id"] for k, v in info["timeline_samples"].items()},
            words=words[100:400],
            sqlite=engine.dialect.name == "sqlite",
            now=datetime.now(UTC),
        )

    def client(self, i: int) -> dict[str, Any]:
        return self.clients[i % len(self.clients)]

    def word(self, i: int) -> str:
        return self.words[(i * 7) % len(self.words)]


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def _page(where: str, order: str, extra: str = "") -> str:
    return (
        f"SELECT * FROM contacts WHERE workspace_id = :ws AND merged_into_id IS NULL "
        f"AND stage = 'client' {where} {extra} ORDER BY {order} LIMIT 51"
    )


def _fts(s: Samples, kind: str, term: str) -> tuple[str, dict[str, Any]]:
    if s.sqlite:
        return (
            "SELECT d.* FROM search_fts JOIN search_documents d ON d.id = search_fts.rowid "
            "WHERE search_fts MATCH :q AND d.workspace_id = :ws AND d.kind = :kind "
            "ORDER BY search_fts.rank LIMIT 20",
            {"q": f'{{title body}}: ("{term}"*)', "ws": s.workspace_id, "kind": kind},
        )
    return (
        "SELECT * FROM search_documents WHERE workspace_id = :ws AND kind = :kind "
        "AND tsv @@ to_tsquery('tenure_search', :q) "
        "ORDER BY ts_rank(tsv, to_tsquery('tenure_search', :q)) DESC LIMIT 20",
        {"q": f"'{term}':*", "ws": s.workspace_id, "kind": kind},
    )


def _moment(s: Samples, when: datetime) -> Any:
    return (
        when.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        if s.sqlite
        else when
    )


def build(s: Samples) -> list[Scenario]:
    ws = s.workspace_id
    contact_sql = "SELECT * FROM contacts WHERE workspace_id = :ws AND id = :id"
    timeline_sql = (
        "SELECT * FROM timeline_events WHERE workspace_id = :ws AND contact_id = :id "
        "ORDER BY occurred_at DESC, id DESC LIMIT 51"
    )

    def contact_floor(cid: int) -> Floor:
        return [(contact_sql, {"ws": ws, "id": cid})]

    def brief_floor(cid: int) -> Floor:
        """What the brief shows most of: the contact, recent events, knowledge, open work."""
        params = {"ws": ws, "id": cid}
        return [
            *contact_floor(cid),
            (timeline_sql.replace("LIMIT 51", "LIMIT 10"), params),
            (
                "SELECT * FROM knowledge_entries WHERE workspace_id = :ws AND contact_id = :id "
                "AND superseded_at IS NULL AND retired_at IS NULL",
                params,
            ),
            (
                "SELECT * FROM activities WHERE workspace_id = :ws AND contact_id = :id "
                "AND status = 'open' ORDER BY at LIMIT 5",
                params,
            ),
        ]

    def timeline(label: str, cid: int, number: int = 4) -> Scenario:
        return Scenario(
            number,
            f"timeline page, {label}-event client",
            "timeline",
            lambda i: Request("GET", f"/contacts/{cid}/timeline", {"limit": 50}),
            lambda i: [(timeline_sql, {"ws": ws, "id": cid})],
        )

    def agenda(days: int, label: str) -> Scenario:
        def floor(i: int) -> Floor:
            end = datetime.combine(
                s.now.date() + timedelta(days=days + 1), datetime.min.time(), UTC
            )
            sql = (
                "SELECT * FROM activities WHERE workspace_id = :ws AND assignee_id = :u "
                "AND status = 'open' AND at < :end ORDER BY at, id"
            )
            dsql = (
                "SELECT * FROM deliveries WHERE workspace_id = :ws AND assignee_id = :u "
                "AND status = 'scheduled' AND scheduled_start < :end ORDER BY scheduled_start"
            )
            params = {"ws": ws, "u": s.busy_user_id, "end": _moment(s, end)}
            return [(sql, params), (dsql, params)]

        return Scenario(
            5, f"agenda of a busy member, {label}", "agenda",
            lambda i: Request("GET", "/agenda", {"days": days}, token="busy"), floor,
        )  # fmt: skip

    today = s.now.date()
    start = f"{today.year - 5}-{today.month:02d}"
    transitions_sql = (
        "SELECT contact_id, from_stage, to_stage, effective_on, reason FROM transitions "
        "WHERE workspace_id = :ws ORDER BY contact_id, effective_on, id"
    )
    first = encode_cursor([s.deep[0], s.deep[1]])
    tag_exists = (
        "AND EXISTS (SELECT 1 FROM contact_tags t WHERE t.workspace_id = :ws "
        "AND t.tag = :tag AND t.contact_id = contacts.id)"
    )
    nulls_last = "NULLS LAST"  # SQLite >= 3.30 and PostgreSQL both take it
    scenarios = [
        Scenario(
            1,
            "create a contact",
            "write",
            lambda i: Request(
                "POST",
                "/contacts",
                json={
                    "display_name": f"Bench Person {i}",
                    "emails": [{"email": f"bench.person.{i}.{random.getrandbits(32)}@example.org"}],
                    "tags": ["newsletter"],
                },
            ),
            read=False,
        ),
        Scenario(
            1,
            "log an interaction (default rules on)",
            "write",
            lambda i: Request(
                "POST",
                f"/contacts/{s.client(i)['id']}/interactions",
                json={
                    "channel": "call",
                    "direction": "outbound",
                    "subject": f"Check-in {i}",
                    "body": "Talked about the renewal and the next visit.",
                },
            ),
            read=False,
        ),
        Scenario(
            1,
            "get a contact",
            "record",
            lambda i: Request("GET", f"/contacts/{s.client(i)['id']}"),
            lambda i: contact_floor(s.client(i)["id"]),
        ),
        Scenario(
            2,
            "clients by name, first page",
            "list",
            lambda i: Request("GET", "/contacts", {"stage": "client", "limit": 50}),
            lambda i: [(_page("", "sort_name, id"), {"ws": ws})],
        ),
        Scenario(
            2,
            "clients by name, deep page (keyset)",
            "list",
            lambda i: Request(
                "GET", "/contacts", {"stage": "client", "limit": 50, "cursor": first}
            ),
            lambda i: [
                (
                    _page("AND (sort_name > :s OR (sort_name = :s AND id > :id))", "sort_name, id"),
                    {"ws": ws, "s": s.deep[0], "id": s.deep[1]},
                )
            ],
        ),
        Scenario(
            2,
            "clients of an owner",
            "list",
            lambda i: Request("GET", "/contacts", {"stage": "client", "owner_id": s.owner_id}),
            lambda i: [(_page("AND owner_id = :o", "sort_name, id"), {"ws": ws, "o": s.owner_id})],
        ),
        Scenario(
            2,
            "clients with a tag",
            "list",
            lambda i: Request("GET", "/contacts", {"stage": "client", "tag": s.tag}),
            lambda i: [(_page(tag_exists, "sort_name, id"), {"ws": ws, "tag": s.tag})],
        ),
        Scenario(
            2,
            "clients by last touch",
            "list",
            lambda i: Request("GET", "/contacts", {"stage": "client", "sort": "-last_touch"}),
            lambda i: [(_page("", f"last_touch_at DESC {nulls_last}, id DESC"), {"ws": ws})],
        ),
        Scenario(
            2,
            "clients by health",
            "list",
            lambda i: Request("GET", "/contacts", {"stage": "client", "sort": "health"}),
            lambda i: [(_page("", f"health_score {nulls_last}, id"), {"ws": ws})],
        ),
        Scenario(
            3,
            "search contacts by name prefix",
            "search",
            lambda i: Request("GET", "/search/contacts", {"q": s.client(i)["name"][:4]}),
            lambda i: [_fts(s, "contact", s.client(i)["name"][:4].strip())],
        ),
        Scenario(
            3,
            "search contacts by email",
            "search",
            lambda i: Request("GET", "/search/contacts", {"q": s.client(i)["email"]}),
            lambda i: [
                (
                    "SELECT c.* FROM contact_emails e JOIN contacts c ON c.id = e.contact_id "
                    "WHERE e.workspace_id = :ws AND e.email = :e",
                    {"ws": ws, "e": s.client(i)["email"]},
                )
            ],
        ),
        Scenario(
            3,
            "search contacts by phone",
            "search",
            lambda i: Request("GET", "/search/contacts", {"q": s.client(i)["phone"]}),
            lambda i: [
                (
                    "SELECT c.* FROM contact_phones p JOIN contacts c ON c.id = p.contact_id "
                    "WHERE p.workspace_id = :ws AND p.number = :n",
                    {"ws": ws, "n": s.client(i)["phone"]},
                )
            ],
        ),
        Scenario(
            3,
            "full text over interactions",
            "search",
            lambda i: Request("GET", "/search", {"q": s.word(i), "kind": "interaction"}),
            lambda i: [_fts(s, "interaction", s.word(i))],
        ),
    ]
    for label, cid in sorted(s.timeline.items(), key=lambda kv: int(kv[0])):
        scenarios.append(timeline(label, cid))
    scenarios += [
        Scenario(
            4, "contact with the 50-event timeline page", "timeline",
            lambda i: Request("GET", f"/contacts/{s.client(i)['id']}/timeline", {"limit": 50}),
            lambda i: [(timeline_sql, {"ws": ws, "id": s.client(i)["id"]})],
        ),
        Scenario(
            5, "the brief", "brief",
            lambda i: Request("GET", f"/contacts/{s.client(i)['id']}/brief"),
            lambda i: brief_floor(s.client(i)["id"]),
        ),
        agenda(0, "today"),
        agenda(7, "this week"),
        Scenario(
            6, "retention by month, 5 years", "analytics",
            lambda i: Request("GET", "/analytics/retention", {"start": start}),
            lambda i: [(transitions_sql, {"ws": ws})],
        ),
        Scenario(
            6, "cohort retention, 5 years", "analytics",
            lambda i: Request("GET", "/analytics/cohorts", {"start": start, "months": 24}),
            lambda i: [(transitions_sql, {"ws": ws})],
        ),
    ]  # fmt: skip
    return scenarios


_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def driver_sql(sql: str, sqlite: bool) -> str:
    """``:name`` parameters in the driver's own style (sqlite3 takes them as written)."""
    return sql if sqlite else _NAMED.sub(r"%(\1)s", sql)
