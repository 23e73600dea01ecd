"""Write a workspace archive: a zip of ``manifest.json``, ``workspace.json``, ``users.jsonl``
and one JSON Lines file per archived table (``spec.archived_tables``), streamed row by row."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import select

import tenure
from tenure.db.models import Membership, User, Workspace
from tenure.domain.access import Permission
from tenure.domain.exports import ARCHIVE_FORMAT, ARCHIVE_VERSION
from tenure.services import audit
from tenure.services.context import Ctx
from tenure.services.exports.spec import (
    EXCLUDED_COLUMNS,
    EXCLUDED_TABLES,
    JSON_ID_COLUMNS,
    JSON_ID_KEYS,
    ArchivedTable,
    archived_tables,
    references,
    strip_secrets,
)

#: Rows fetched per round trip while streaming a table (server-side cursor on PostgreSQL).
YIELD_PER = 500


def encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def json_line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode()


def user_ids_in_json(value: Any, found: set[int]) -> None:
    """Collect the user ids a JSON value names (``owner_id`` … at any depth)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if JSON_ID_KEYS.get(k) == "users" and type(v) is int:
                found.add(v)
            else:
                user_ids_in_json(v, found)
    elif isinstance(value, list):
        for v in value:
            user_ids_in_json(v, found)


def table_rows(ctx: Ctx, spec: ArchivedTable) -> Iterator[dict[str, Any]]:
    """A table's rows of this workspace, by id, without ``workspace_id``, streamed."""
    table = spec.table
    columns = [c for c in spec.columns if c.name != "workspace_id"]
    stmt = (
        select(*columns)
        .where(table.c.workspace_id == ctx.workspace_id)
        .order_by(table.c.id)
        .execution_options(yield_per=YIELD_PER)
    )
    for row in ctx.session.execute(stmt):
        yield {c.name: encode(v) for c, v in zip(columns, row, strict=True)}


def write_archive(ctx: Ctx, out: IO[bytes]) -> dict[str, Any]:
    """Write the workspace's archive to ``out``; returns the manifest. Owners and admins only;
    audited as ``workspace.exported``."""
    ctx.require(Permission.ADMIN)
    # In a read-only unit of work (a GET, the CLI) the entry is written once the read is over
    # (db.uow.write_after_read): an export never holds SQLite's write lock while it reads.
    audit.log(ctx, "workspace.exported", format_version=ARCHIVE_VERSION)
    workspace = ctx.session.get(Workspace, ctx.workspace_id)
    assert workspace is not None
    counts: dict[str, int] = {}
    users: set[int] = set()
    specs = archived_tables()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for spec in specs:
            user_columns = [c for c, t in references(spec.table).items() if t == "users"]
            json_columns = [c.name for c in spec.columns if (spec.name, c.name) in JSON_ID_COLUMNS]
            n = 0
            with zf.open(spec.file, "w", force_zip64=True) as member:
                for record in table_rows(ctx, spec):
                    users.update(record[c] for c in user_columns if record[c] is not None)
                    for c in json_columns:
                        user_ids_in_json(record[c], users)
                    member.write(json_line(record))
                    n += 1
            counts[spec.name] = n
        counts["users"] = _write_users(ctx, zf, users)
        zf.writestr("workspace.json", json.dumps(_workspace(workspace), ensure_ascii=False))
        manifest = {
            "format": ARCHIVE_FORMAT,
            "format_version": ARCHIVE_VERSION,
            "tenure_version": tenure.__version__,
            "exported_at": ctx.now.isoformat(),
            "workspace": {"id": workspace.id, "name": workspace.name, "slug": workspace.slug},
            "tables": [s.name for s in specs],
            "counts": counts,
            "excluded": {
                "tables": EXCLUDED_TABLES,
                "columns": {f"{t}.{c}": why for (t, c), why in EXCLUDED_COLUMNS.items()},
            },
        }
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def _workspace(workspace: Workspace) -> dict[str, Any]:
    return {
        "name": workspace.name,
        "slug": workspace.slug,
        "timezone": workspace.timezone,
        "settings": strip_secrets(workspace.settings or {}),
        "created_at": encode(workspace.created_at),
    }


def _write_users(ctx: Ctx, zf: zipfile.ZipFile, referenced: set[int]) -> int:
    """Members (with their role) and every other user a row names (role null): matched by
    email on import. Never password hashes."""
    members = ctx.session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == ctx.workspace_id)
        .order_by(User.id)
    ).all()
    seen = {u.id for u, _ in members}
    others = referenced - seen
    rows: list[tuple[User, Membership | None]] = [(u, m) for u, m in members]
    if others:
        extra = ctx.session.scalars(select(User).where(User.id.in_(sorted(others))))
        rows += [(u, None) for u in extra]
    with zf.open("users.jsonl", "w") as member:
        for user, membership in sorted(rows, key=lambda r: r[0].id):
            member.write(
                json_line(
                    {
                        "id": user.id,
                        "email": user.email,
                        "name": user.name,
                        "timezone": user.timezone,
                        "role": membership.role if membership else None,
                        "member_since": encode(membership.created_at) if membership else None,
                    }
                )
            )
    return len(rows)
