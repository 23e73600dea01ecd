"""Import a workspace archive into an empty workspace: ids remapped, users matched by email.

Rows go in table by table in ``spec.archived_tables`` order (a row's references come before it)
and, inside a table, in the archive's id order, so new ids keep the old order (lists sorted by
id or keyset read the same). A reference to a row of the same table that is not in yet (a
knowledge entry's ``root_id`` is its own id, a contact merged into a later one) is set once the
table is in. Derived tables (search documents, match keys) are rebuilt by the search service.
Nothing is written when the archive is refused: the caller's transaction is rolled back.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import Date, DateTime, Table, delete, exists, insert, select, update
from sqlalchemy.exc import DBAPIError, StatementError

from tenure.db.models import Membership, User, Workspace
from tenure.db.repositories import access as access_queries
from tenure.domain.access import Permission, Role, check_grant
from tenure.domain.errors import Conflict, FieldError, InvalidInput, PermissionDenied
from tenure.domain.exports import check_manifest
from tenure.services import audit, search
from tenure.services.context import Ctx
from tenure.services.exports.spec import (
    FILLED_ON_IMPORT,
    JSON_ID_COLUMNS,
    JSON_ID_KEYS,
    POLYMORPHIC,
    SECRET_SETTING,
    ArchivedTable,
    archived_tables,
    references,
)

#: Tables whose rows a new workspace may start with (the shipped automation, marked by this
#: column): they do not make it "not empty", and the archive's rows replace them.
SHIPPED_DEFAULTS = {"rules": "builtin", "playbooks": "builtin"}
#: Rows inserted per statement (multi-row INSERT … RETURNING id, in parameter order).
BATCH = 500
#: Ids old → new, per table name (``users`` included).
IdMaps = dict[str, dict[int, int]]


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=dict)
    users_created: int = 0
    members_added: int = 0
    #: Owners of the archive imported as admins (only an owner grants the owner role).
    roles_lowered: int = 0


def can_grant(actor: Role, role: Role) -> bool:
    try:
        check_grant(actor, role)
    except PermissionDenied:
        return False
    return True


def corrupt(message: str) -> InvalidInput:
    return InvalidInput([FieldError("archive", "corrupt", message)])


def open_archive(source: IO[bytes]) -> tuple[zipfile.ZipFile, dict[str, Any]]:
    """The zip and its manifest, or ``InvalidInput`` naming what is wrong."""
    try:
        zf = zipfile.ZipFile(source)
        manifest = json.loads(zf.read("manifest.json"))
    except zipfile.BadZipFile:
        raise corrupt("not a zip file (or a damaged one)") from None
    except KeyError:
        raise corrupt("the zip has no manifest.json: not a Tenure workspace archive") from None
    except (ValueError, zipfile.LargeZipFile, OSError) as exc:
        raise corrupt(f"manifest.json cannot be read: {exc}") from None
    problems = check_manifest(manifest)
    if problems:
        rule = "format" if "format" in problems[0] else "corrupt"
        raise InvalidInput([FieldError("archive", rule, p) for p in problems])
    return zf, manifest


def check_empty(ctx: Ctx) -> None:
    """An archive only goes into a workspace with no records (a merge is another feature).
    The shipped default rules and playbooks a new workspace starts with do not count: the
    archive's automation replaces them (``drop_shipped_defaults``)."""
    busy = []
    for spec in archived_tables():
        where = [spec.table.c.workspace_id == ctx.workspace_id]
        if spec.name in SHIPPED_DEFAULTS:
            where.append(spec.table.c[SHIPPED_DEFAULTS[spec.name]].is_(None))
        if ctx.session.scalar(select(exists().where(*where))):
            busy.append(spec.name)
    if busy:
        raise Conflict(
            "This workspace already has records ("
            + ", ".join(busy[:5])
            + "): an archive can only be imported into an empty workspace; create a new "
            "workspace for it (tenure import archive … --slug NEW)",
            field="archive",
            tables=busy,
        )


def drop_shipped_defaults(ctx: Ctx) -> None:
    """Remove the untouched-or-not shipped rules and playbooks of the (otherwise empty)
    workspace, in reverse archive order (rules name playbooks)."""
    for spec in reversed(archived_tables()):
        if spec.name in SHIPPED_DEFAULTS:
            table = spec.table
            ctx.session.execute(
                delete(table).where(
                    table.c.workspace_id == ctx.workspace_id,
                    table.c[SHIPPED_DEFAULTS[spec.name]].is_not(None),
                )
            )


def import_archive(ctx: Ctx, source: IO[bytes]) -> ImportReport:
    """Fill the (empty) current workspace from an archive. Owners and admins only; audited as
    ``workspace.imported``."""
    ctx.require(Permission.ADMIN)
    zf, manifest = open_archive(source)
    with zf:
        check_empty(ctx)
        drop_shipped_defaults(ctx)
        report = ImportReport()
        maps: IdMaps = {"users": _import_users(ctx, zf, report)}
        _import_workspace(ctx, zf)
        try:
            for spec in archived_tables():
                if spec.file not in zf.namelist():
                    if spec.name in manifest["counts"]:
                        raise corrupt(f"{spec.file} is missing")
                    continue  # an older archive, from before this table existed
                report.counts[spec.name] = _import_table(ctx, zf, spec, maps)
        except (StatementError, DBAPIError) as exc:
            raise corrupt(f"a row cannot be stored: {exc.orig or exc}") from None
    search.reindex(ctx)
    audit.log(
        ctx,
        "workspace.imported",
        source_workspace=manifest.get("workspace", {}).get("slug"),
        exported_at=manifest.get("exported_at"),
        counts=report.counts,
    )
    return report


def _lines(zf: zipfile.ZipFile, name: str) -> Iterator[dict[str, Any]]:
    number = 0
    try:
        with zf.open(name) as raw:
            for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), 1):  # noqa: B007
                if not line.strip():
                    continue
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("a line is not a JSON object")
                yield record
    except KeyError:
        raise corrupt(f"{name} is missing") from None
    except (ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise corrupt(f"{name} line {number}: {exc}") from None


def _import_users(ctx: Ctx, zf: zipfile.ZipFile, report: ImportReport) -> dict[int, int]:
    """Users by email: an existing one is reused, a new one has no password (they set one
    through an invitation). Members keep their role unless already members here."""
    out: dict[int, int] = {}
    members = {
        m.user_id
        for m in ctx.session.scalars(
            select(Membership).where(Membership.workspace_id == ctx.workspace_id)
        )
    }
    for record in _lines(zf, "users.jsonl"):
        try:
            email = str(record["email"]).strip().lower()
            old_id = int(record["id"])
            role = Role(record["role"]) if record.get("role") else None
        except (KeyError, ValueError, TypeError):
            raise corrupt(f"users.jsonl: a bad user row {record!r}") from None
        user = access_queries.user_by_email(ctx.session, email)
        if user is None:
            user = User(
                email=email,
                name=str(record.get("name") or ""),
                timezone=record.get("timezone"),
                password_hash=None,
                created_at=ctx.now,
            )
            ctx.session.add(user)
            ctx.session.flush()
            report.users_created += 1
        out[old_id] = user.id
        if role is not None and not can_grant(ctx.role, role):
            # An admin may not make owners (``check_grant``), an import neither.
            role = Role.ADMIN
            report.roles_lowered += 1
        if role is not None and user.id not in members:
            since = record.get("member_since")
            ctx.session.add(
                Membership(
                    workspace_id=ctx.workspace_id,
                    user_id=user.id,
                    role=role.value,
                    created_at=datetime.fromisoformat(since) if since else ctx.now,
                )
            )
            members.add(user.id)
            report.members_added += 1
    ctx.session.flush()
    return out


def _import_workspace(ctx: Ctx, zf: zipfile.ZipFile) -> None:
    """Time zone and settings; this workspace's own secrets (mail password …) are kept."""
    try:
        data = json.loads(zf.read("workspace.json"))
        settings = data.get("settings") or {}
        timezone = data.get("timezone")
    except (KeyError, ValueError, AttributeError):
        raise corrupt("workspace.json is missing or not a JSON object") from None
    workspace = ctx.session.get(Workspace, ctx.workspace_id)
    assert workspace is not None
    kept = {k: v for k, v in (workspace.settings or {}).items() if SECRET_SETTING.search(k)}
    workspace.settings = {**settings, **kept}
    if isinstance(timezone, str) and timezone:
        workspace.timezone = timezone
    ctx.session.flush()


@dataclass
class _Remapper:
    """Turns an archived row into a row of this workspace."""

    spec: ArchivedTable
    maps: IdMaps
    refs: dict[str, str] = field(init=False)
    types: dict[str, type] = field(init=False)
    json_columns: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.refs = references(self.spec.table)
        self.types = {}
        for c in self.spec.columns:
            if isinstance(getattr(c.type, "impl", c.type), DateTime):
                self.types[c.name] = datetime
            elif isinstance(c.type, Date):
                self.types[c.name] = date
        self.json_columns = {c for t, c in JSON_ID_COLUMNS if t == self.spec.name}

    def row(self, record: dict[str, Any], workspace_id: int) -> tuple[dict[str, Any], list[str]]:
        """The row to insert, and the self-references to set once the table is in."""
        out: dict[str, Any] = {}
        later: list[str] = []
        for column in self.spec.columns:
            name = column.name
            if name in ("id", "workspace_id") or name not in record:
                continue  # absent (an archive from before the column): its default applies
            value = record[name]
            if value is not None and name in self.types:
                value = _parse(self.types[name], value, self.spec.name, name)
            is_ref = name in self.refs or (self.spec.name, name) in POLYMORPHIC
            if is_ref and value is not None and type(value) is not int:
                raise corrupt(f"{self.spec.name}.{name}: {value!r} is not an id")
            if name in self.refs and value is not None:
                target = self.refs[name]
                if target == self.spec.name and value not in self.maps[target]:
                    later.append(name)
                    value = None
                else:
                    value = self._ref(target, value, name)
            elif (self.spec.name, name) in POLYMORPHIC and value is not None:
                kind_column, tables = POLYMORPHIC[(self.spec.name, name)]
                target_table = tables.get(str(record.get(kind_column)))
                value = self.maps.get(target_table or "", {}).get(value)
            elif name in self.json_columns:
                value = remap_json(value, self.maps)
            out[name] = value
        for (table, name), make in FILLED_ON_IMPORT.items():
            if table == self.spec.name:
                out[name] = make()
        out["workspace_id"] = workspace_id
        return out, later

    def _ref(self, target: str, value: Any, column: str) -> int:
        try:
            return self.maps[target][value]
        except (KeyError, TypeError):
            raise corrupt(
                f"{self.spec.name}.{column} names {target} {value!r}, which is not in the archive"
            ) from None


def remap_json(value: Any, maps: IdMaps) -> Any:
    """Ids inside JSON (``JSON_ID_KEYS`` at any depth) mapped; unknown ones are left as they
    were (they name nothing in either workspace)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            table = JSON_ID_KEYS.get(k)
            if table and type(v) is int:
                out[k] = maps.get(table, {}).get(v, v)
            else:
                out[k] = remap_json(v, maps)
        return out
    if isinstance(value, list):
        return [remap_json(v, maps) for v in value]
    return value


def _parse(kind: type, value: Any, table: str, column: str) -> Any:
    try:
        if kind is datetime:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError("a time without its UTC offset")
            return parsed
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise corrupt(f"{table}.{column}: {value!r} is not a date or time ({exc})") from None


def _import_table(ctx: Ctx, zf: zipfile.ZipFile, spec: ArchivedTable, maps: IdMaps) -> int:
    remapper = _Remapper(spec, maps)
    ids = maps.setdefault(spec.name, {})
    fixups: list[tuple[int, dict[str, int], dict[str, Any]]] = []
    keep_on_update = [c.name for c in spec.columns if c.onupdate is not None]
    batch: list[tuple[int, dict[str, Any], list[str], dict[str, Any]]] = []
    count = 0

    def flush() -> None:
        if not batch:
            return
        stmt = insert(spec.table).returning(spec.table.c.id, sort_by_parameter_order=True)
        new_ids = ctx.session.execute(stmt, [row for _, row, _, _ in batch]).scalars().all()
        for (old_id, row, later, record), new_id in zip(batch, new_ids, strict=True):
            ids[old_id] = new_id
            if later:
                fixups.append(
                    (
                        new_id,
                        {c: record[c] for c in later},
                        {c: row[c] for c in keep_on_update if c in row},
                    )
                )
        batch.clear()

    for record in _lines(zf, spec.file):
        unknown = set(record) - {c.name for c in spec.columns}
        if unknown:
            raise corrupt(f"{spec.file}: unknown columns {sorted(unknown)}")
        if type(record.get("id")) is not int or record["id"] in ids:
            raise corrupt(f"{spec.file}: a row without a unique id")
        row, later = remapper.row(record, ctx.workspace_id)
        batch.append((record["id"], row, later, record))
        count += 1
        if len(batch) >= BATCH:
            flush()
    flush()
    _apply_fixups(ctx, spec.table, fixups, ids, spec.name)
    return count


def _apply_fixups(
    ctx: Ctx,
    table: Table,
    fixups: list[tuple[int, dict[str, int], dict[str, Any]]],
    ids: dict[int, int],
    name: str,
) -> None:
    for new_id, refs, kept in fixups:
        values: dict[str, Any] = dict(kept)  # onupdate columns keep their archived value
        for column, old in refs.items():
            if old not in ids:
                raise corrupt(f"{name}.{column} names {name} {old!r}, which is not in the archive")
            values[column] = ids[old]
        ctx.session.execute(update(table).where(table.c.id == new_id).values(**values))
