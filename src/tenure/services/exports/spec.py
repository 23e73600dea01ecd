"""What a workspace archive holds: every workspace table, walked from the models.

A table is archived unless it is listed in ``EXCLUDED_TABLES`` with the reason; a column unless
it is in ``EXCLUDED_COLUMNS``. A new workspace table is therefore archived (and imported, ids
remapped through its foreign keys) without new code, and ``tests/unit/test_exports_spec.py``
fails when a table is neither archived nor excluded with a reason.

Ids are not kept across installations (they are global sequences), so every id an archived row
holds is remapped on import: foreign keys from the models, plus the references the models cannot
declare, listed here: polymorphic columns (a kind column names the table) and ids inside JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table

from tenure.db.models import Base
from tenure.domain.webhooks import new_secret

#: Tables that are never archived, and why.
EXCLUDED_TABLES: dict[str, str] = {
    "jobs": "background work in flight: transient, and its payloads may carry secrets",
    "web_sessions": "browser logins: secrets of this installation",
    "api_tokens": "credentials (hashes of bearer tokens): issue new tokens after an import",
    "calendar_feeds": "secret feed URLs (token hashes): issue new feeds after an import",
    "audit_log": "this installation's security log; the export and the import are audited",
    "imports": "the progress of file imports on this installation",
    "import_files": "the uploaded bytes of imports in progress",
    "search_documents": "derived: rebuilt from the records by services.search.reindex",
    "contact_match_keys": "derived: rebuilt from the contacts by services.search.reindex",
    "webhook_deliveries": "the webhook outbox (attempts, payloads): operational state",
    "memberships": "archived as members (email, name, role) in users.jsonl",
}

#: Columns of archived tables that are never archived, and why.
EXCLUDED_COLUMNS: dict[tuple[str, str], str] = {
    ("webhook_subscriptions", "secret"): "the signing secret: a new one is made on import",
}

#: Values made on import for excluded columns that cannot be empty.
FILLED_ON_IMPORT: dict[tuple[str, str], Callable[[], Any]] = {
    ("webhook_subscriptions", "secret"): new_secret,
}

#: Tables without a workspace: archived in their own form.
GLOBAL_TABLES: dict[str, str] = {
    "workspaces": "workspace.json: name, slug, time zone and settings without secrets",
    "users": "users.jsonl: email, name, time zone, role; never password hashes",
}

#: Keys of workspace settings that are never archived (anywhere in the settings' JSON).
SECRET_SETTING = re.compile(r"password|secret|token|api_key|invites", re.IGNORECASE)

#: A column naming another row whose table is given by a kind column of the same row.
SUBJECT_TABLES: dict[str, str] = {
    "activity": "activities",
    "agreement": "agreements",
    "case": "cases",
    "commitment": "commitments",
    "contact": "contacts",
    "delivery": "deliveries",
    "interaction": "interactions",
    "knowledge": "knowledge_entries",
    "playbook_run": "playbook_runs",
    "schedule": "schedules",
    "transition": "transitions",
}
POLYMORPHIC: dict[tuple[str, str], tuple[str, Mapping[str, str]]] = {
    ("transitions", "evidence_id"): (
        "evidence_kind",
        {"agreement": "agreements", "delivery": "deliveries"},
    ),
    ("timeline_events", "subject_id"): ("subject_type", SUBJECT_TABLES),
}

#: JSON columns that hold ids, and the keys (at any depth) whose integer values are ids.
JSON_ID_COLUMNS: frozenset[tuple[str, str]] = frozenset(
    {
        ("timeline_events", "data"),
        ("rules", "trigger"),
        ("rules", "conditions"),
        ("rules", "actions"),
        ("playbooks", "steps"),
        ("rule_runs", "effects"),
    }
)
JSON_ID_KEYS: dict[str, str] = {
    "user_id": "users",
    "owner_id": "users",
    "assignee_id": "users",
    "actor_id": "users",
    "author_id": "users",
    "contact_id": "contacts",
    "other_id": "contacts",
    "organization_id": "contacts",
    "person_id": "contacts",
    "playbook_id": "playbooks",
    "template_id": "email_templates",
    "subscription_id": "webhook_subscriptions",
    "rule_id": "rules",
    "root_id": "knowledge_entries",
    "supersedes_id": "knowledge_entries",
    "interaction_id": "interactions",
    "source_interaction_id": "interactions",
    "agreement_id": "agreements",
    "delivery_id": "deliveries",
    "schedule_id": "schedules",
    "new_schedule_id": "schedules",
    "activity_id": "activities",
    "case_id": "cases",
    "service_id": "services",
    "commitment_id": "commitments",
    "run_id": "playbook_runs",
    "playbook_run_id": "playbook_runs",
    "event_id": "timeline_events",
    "email_message_id": "email_messages",
}


@dataclass(frozen=True)
class ArchivedTable:
    table: Table
    #: The archived columns (all but the excluded ones), ``id`` first.
    columns: tuple[Column[Any], ...]

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def file(self) -> str:
        return f"tables/{self.table.name}.jsonl"


def is_workspace_table(table: Table) -> bool:
    return "workspace_id" in table.c


def references(table: Table) -> dict[str, str]:
    """Column → referenced table, for every foreign key but the workspace's."""
    out: dict[str, str] = {}
    for fk in table.foreign_keys:
        if fk.parent.name != "workspace_id":
            out[fk.parent.name] = fk.column.table.name
    return out


def _soft_targets(name: str) -> set[str]:
    targets: set[str] = set()
    for (table, _), (_, kinds) in POLYMORPHIC.items():
        if table == name:
            targets.update(kinds.values())
    if any(table == name for table, _ in JSON_ID_COLUMNS):
        targets.update(JSON_ID_KEYS.values())
    return targets


def archived_tables() -> list[ArchivedTable]:
    """The archived tables in an order where every row's references come before it (foreign
    keys, then the soft references above where they do not make a cycle)."""
    tables = {
        t.name: t
        for t in Base.metadata.sorted_tables
        if is_workspace_table(t) and t.name not in EXCLUDED_TABLES
    }
    hard = {n: set(references(t).values()) & set(tables) - {n} for n, t in tables.items()}
    soft = {n: _soft_targets(n) & set(tables) - {n} for n in tables}
    order = _topological(tables, hard, soft)
    return [
        ArchivedTable(
            tables[n],
            tuple(c for c in tables[n].c if (n, c.name) not in EXCLUDED_COLUMNS),
        )
        for n in order
    ]


def _topological(
    tables: Mapping[str, Table], hard: dict[str, set[str]], soft: dict[str, set[str]]
) -> list[str]:
    """Kahn's algorithm over hard + soft edges; a soft edge that would close a cycle is dropped
    (those references are then fixed after the rows are in: see ``archive_import``)."""
    deps = {n: hard[n] | soft[n] for n in tables}
    order: list[str] = []
    done: set[str] = set()
    names = list(tables)  # metadata order: deterministic
    while len(order) < len(names):
        ready = [n for n in names if n not in done and deps[n] <= done]
        if not ready:
            # Drop the soft edges of the first blocked table whose hard edges are satisfied.
            blocked = next(n for n in names if n not in done and hard[n] <= done)
            deps[blocked] = set(hard[blocked])
            continue
        order.append(ready[0])
        done.add(ready[0])
    return order


def strip_secrets(value: Any) -> Any:
    """Workspace settings without passwords, secrets, tokens or invitations, at any depth."""
    if isinstance(value, dict):
        return {k: strip_secrets(v) for k, v in value.items() if not SECRET_SETTING.search(str(k))}
    if isinstance(value, list):
        return [strip_secrets(v) for v in value]
    return value
