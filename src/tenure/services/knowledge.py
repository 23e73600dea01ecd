"""Knowledge about a client: preferences, expectations, facts and do-nots.

Versioned: an edit appends a version that supersedes the current one; nothing is overwritten,
and what was known at any past moment can be asked for (``as_of``). An entry with a ``key``
is the one current value for that key: adding another replaces it as a new version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenure.db.models import KnowledgeEntry
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.continuity import KnowledgeRepository
from tenure.db.repositories.timeline import InteractionRepository
from tenure.domain.access import Permission
from tenure.domain.errors import FieldError, InvalidInput, InvalidTransition
from tenure.domain.events import EventType
from tenure.domain.knowledge import KnowledgeKind, check_entry, is_stale
from tenure.services import search, timeline, workspace_settings
from tenure.services.context import Ctx

EDITABLE = frozenset({"kind", "key", "text", "source_interaction_id", "source_person", "pinned"})


@dataclass(frozen=True)
class EntryView:
    entry: KnowledgeEntry
    stale: bool


def _repo(ctx: Ctx) -> KnowledgeRepository:
    return KnowledgeRepository(ctx.session, ctx.workspace_id)


def add(
    ctx: Ctx,
    contact_id: int,
    *,
    kind: KnowledgeKind,
    text: str,
    key: str | None = None,
    source_interaction_id: int | None = None,
    source_person: str = "",
    pinned: bool = False,
) -> KnowledgeEntry:
    ctx.require(Permission.WRITE)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get_writable(contact_id)
    values: dict[str, Any] = {
        "kind": kind,
        "text": text,
        "key": key or None,
        "source_interaction_id": source_interaction_id,
        "source_person": source_person,
        "pinned": pinned,
    }
    _check(ctx, contact.id, values)
    previous = _repo(ctx).current_with_key(contact.id, values["key"]) if values["key"] else None
    if previous is not None:
        return _new_version(ctx, previous, values, action="replaced")
    entry = _insert(ctx, contact.id, values, supersedes=None)
    _event(ctx, entry, "added")
    return entry


def edit(ctx: Ctx, entry_id: int, *, changes: Mapping[str, Any]) -> KnowledgeEntry:
    """A new version of the entry with the changes; the old one is kept as history."""
    ctx.require(Permission.WRITE)
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise InvalidInput([FieldError(n, "read-only", "cannot be changed") for n in unknown])
    current = _current(ctx, entry_id)
    # An edit is new words: none on an erased contact's records.
    ContactRepository(ctx.session, ctx.workspace_id).get_writable(current.contact_id)
    values = {name: getattr(current, name) for name in EDITABLE}
    values.update(changes)
    values["kind"] = KnowledgeKind(values["kind"])
    values["key"] = values["key"] or None
    _check(ctx, current.contact_id, values)
    if values["key"] and values["key"] != current.key:
        clash = _repo(ctx).current_with_key(current.contact_id, values["key"])
        if clash is not None:
            raise InvalidInput.one("key", "unique", f"entry {clash.id} holds the key already")
    return _new_version(ctx, current, values, action="edited")


def confirm(ctx: Ctx, entry_id: int) -> KnowledgeEntry:
    """Still true: refreshes ``last_confirmed_at`` (no new version: the content is the same)."""
    ctx.require(Permission.WRITE)
    entry = _current(ctx, entry_id)
    entry.last_confirmed_at = ctx.now
    ctx.session.flush()
    timeline.record(
        ctx,
        contact_id=entry.contact_id,
        type=EventType.KNOWLEDGE_CONFIRMED,
        subject_type="knowledge",
        subject_id=entry.id,
        summary=f"Confirmed {entry.kind.replace('_', ' ')}: {_short(entry.text)}",
        data={"kind": entry.kind, "key": entry.key, "root_id": entry.root_id},
    )
    return entry


def retire(ctx: Ctx, entry_id: int, *, reason: str = "") -> KnowledgeEntry:
    """No longer true. The entry stays in the history (``as_of`` still finds it)."""
    ctx.require(Permission.WRITE)
    entry = _current(ctx, entry_id)
    entry.retired_at = ctx.now
    entry.retire_reason = reason
    ctx.session.flush()
    _event(ctx, entry, "retired", reason)
    return entry


def current(ctx: Ctx, contact_id: int) -> list[EntryView]:
    ctx.require(Permission.READ)
    ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    stale_days = workspace_settings.read(ctx).stale_knowledge_days
    return [
        EntryView(e, is_stale(e.last_confirmed_at, ctx.now, stale_days))
        for e in _repo(ctx).current(contact_id)
    ]


def as_of(ctx: Ctx, contact_id: int, moment: datetime) -> Sequence[KnowledgeEntry]:
    ctx.require(Permission.READ)
    ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    if moment.tzinfo is None:
        raise InvalidInput.one("as_of", "aware", "give a time zone offset")
    return _repo(ctx).as_of(contact_id, moment)


def versions(ctx: Ctx, entry_id: int) -> Sequence[KnowledgeEntry]:
    ctx.require(Permission.READ)
    entry = _repo(ctx).get(entry_id)
    return _repo(ctx).versions(entry.root_id or entry.id)


def get(ctx: Ctx, entry_id: int) -> EntryView:
    ctx.require(Permission.READ)
    entry = _repo(ctx).get(entry_id)
    stale_days = workspace_settings.read(ctx).stale_knowledge_days
    return EntryView(entry, is_stale(entry.last_confirmed_at, ctx.now, stale_days))


# --- helpers ---------------------------------------------------------------------------------


def _current(ctx: Ctx, entry_id: int) -> KnowledgeEntry:
    entry = _repo(ctx).get(entry_id, for_update=True)
    if entry.superseded_at is not None or entry.retired_at is not None:
        raise InvalidTransition(
            f"knowledge entry {entry_id} is an old version; change the current one",
            entry_id=entry_id,
        )
    return entry


def _check(ctx: Ctx, contact_id: int, values: Mapping[str, Any]) -> None:
    errors = check_entry(values["text"] or "", values["key"])
    source = values.get("source_interaction_id")
    if source is not None:
        interaction = InteractionRepository(ctx.session, ctx.workspace_id).find(source)
        if interaction is None or interaction.contact_id != contact_id:
            errors.append(
                FieldError(
                    "source_interaction_id", "same-contact", "no such interaction of this contact"
                )
            )
    if len(values.get("source_person") or "") > 200:
        errors.append(FieldError("source_person", "max-length", "at most 200 characters"))
    if errors:
        raise InvalidInput(errors)


def _insert(
    ctx: Ctx, contact_id: int, values: Mapping[str, Any], *, supersedes: KnowledgeEntry | None
) -> KnowledgeEntry:
    entry = KnowledgeEntry(
        contact_id=contact_id,
        kind=KnowledgeKind(values["kind"]).value,
        key=values["key"],
        text=values["text"].strip(),
        source_interaction_id=values.get("source_interaction_id"),
        source_person=(values.get("source_person") or "").strip(),
        pinned=bool(values.get("pinned")),
        recorded_by=ctx.user_id,
        recorded_at=ctx.now,
        last_confirmed_at=ctx.now,
        supersedes_id=supersedes.id if supersedes else None,
        root_id=(supersedes.root_id or supersedes.id) if supersedes else None,
    )
    _repo(ctx).add(entry)
    ctx.session.flush()
    if entry.root_id is None:
        entry.root_id = entry.id
        ctx.session.flush()
    return entry


def _new_version(
    ctx: Ctx, current: KnowledgeEntry, values: Mapping[str, Any], *, action: str
) -> KnowledgeEntry:
    current.superseded_at = ctx.now
    ctx.session.flush()
    entry = _insert(ctx, current.contact_id, values, supersedes=current)
    _event(ctx, entry, action, previous=current.text)
    return entry


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _event(
    ctx: Ctx, entry: KnowledgeEntry, action: str, note: str = "", previous: str | None = None
) -> None:
    search.index_knowledge(ctx, entry)
    timeline.record(
        ctx,
        contact_id=entry.contact_id,
        type=EventType.KNOWLEDGE_CHANGED,
        subject_type="knowledge",
        subject_id=entry.id,
        summary=f"{entry.kind.replace('_', ' ').capitalize()} {action}: {_short(entry.text)}",
        data={
            "action": action,
            "kind": entry.kind,
            "key": entry.key,
            "root_id": entry.root_id,
            "supersedes_id": entry.supersedes_id,
            "previous": previous,
            "note": note,
        },
    )
