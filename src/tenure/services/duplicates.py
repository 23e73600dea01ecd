"""Likely duplicate contacts, and merging two contacts into one.

Finding (``find_for_contact``, ``find_all``)
    Only contacts that share a blocking key are compared (``domain.duplicates.match_keys``;
    the keys are kept current on write with the search documents), so the work follows the
    number of shared keys, never the square of the contacts. One contact's duplicates also
    include names the contact search finds with typos.

Merging (``merge``), in the caller's one transaction:
    1. Check everything first (same workspace, same kind, neither merged or erased, the field
       choices): a refused merge has written nothing.
    2. The survivor takes the chosen field values (default: its own, else the other's; notes of
       both; an opt-out from email kept), and the union of both emails, phones, tags and
       organizations (or, for organizations, people).
    3. Every row of the other contact in every table is moved to the survivor (timeline,
       interactions, knowledge, agreements, commitments, activities, schedules, deliveries,
       cases, external ids, email log, playbook runs, health history …). Transitions are
       combined into one legal history by uniting the client spells
       (``domain.duplicates.combine_histories``); the survivor's stage, client-since and tenure
       are replayed from it.
    4. ``contact.merged`` is recorded on the survivor's timeline with what was chosen, moved
       and combined (including a copy of every transition dropped from the history).
    5. The other contact stays as a tombstone: ``merged_into_id`` points at the survivor, its
       emails, phones and tags are emptied, it leaves every list and search, and reading it
       answers ``ContactMerged`` (HTTP 410 with ``merged_into``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from tenure.db.models import Contact
from tenure.db.repositories.base import MAX_ID
from tenure.db.repositories.contacts import ContactRepository, refuse_erased
from tenure.db.repositories.merge import MergeRepository
from tenure.db.repositories.pagination import Page, check_limit, decode_cursor, encode_cursor
from tenure.db.repositories.search import MAX_BLOCK, IndexSource, MatchKeyRepository
from tenure.domain.access import Permission
from tenure.domain.duplicates import (
    DEFAULT_MIN_SCORE,
    ContactFacts,
    HistoryEntry,
    Match,
    Pick,
    combine_histories,
    merge_fields,
    names_alike,
    score_pair,
    similar_name_pairs,
    union_items,
)
from tenure.domain.errors import InvalidInput
from tenure.domain.events import EventType
from tenure.domain.lifecycle import Stage, TransitionFact, replay
from tenure.services import cadence, health, search, timeline
from tenure.services.context import Ctx
from tenure.services.members import require_member

#: Blocks (shared keys) read per round while filling a page of the workspace-wide list.
BLOCKS_PER_ROUND = 50
#: Blocks up to this size compare every pair; larger ones only the pairs with alike names.
SMALL_BLOCK = 30
#: Work per request at most (pairs scored, rounds of blocks read): a page may come back short,
#: with a cursor, rather than scan on.
MAX_COMPARISONS = 3000
MAX_ROUNDS = 4


@dataclass(frozen=True)
class DuplicatePair:
    a: Contact
    b: Contact
    score: int
    reasons: list[dict[str, Any]]


def _reasons(match: Match) -> list[dict[str, Any]]:
    return [{"code": r.code.value, "detail": r.detail, "weight": r.weight} for r in match.reasons]


def _min_score(value: int) -> int:
    if not 0 <= value <= 100:
        raise InvalidInput.one("min_score", "range", "must be between 0 and 100")
    return value


# --- finding ---------------------------------------------------------------------------------


def find_for_contact(
    ctx: Ctx, contact_id: int, *, min_score: int = DEFAULT_MIN_SCORE, limit: int = 20
) -> list[DuplicatePair]:
    """This contact's likely duplicates, best first."""
    ctx.require(Permission.READ)
    check_limit(limit)
    _min_score(min_score)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    ids = set(MatchKeyRepository(ctx.session, ctx.workspace_id).sharing(contact_id))
    ids |= {r.contact.id for r in search.search_contacts(ctx, contact.display_name, limit=20)}
    ids.discard(contact_id)
    facts = _facts(ctx, [contact_id, *ids])
    matches = []
    for other in ids:
        if other in facts and contact_id in facts:
            match = score_pair(facts[contact_id], facts[other])
            if match is not None and match.score >= min_score:
                matches.append((match, other))
    matches.sort(key=lambda m: (-m[0].score, m[1]))
    matches = matches[:limit]
    contacts = _contacts(ctx, {other for _, other in matches})
    return [DuplicatePair(contact, contacts[o], m.score, _reasons(m)) for m, o in matches]


def find_all(
    ctx: Ctx, *, min_score: int = DEFAULT_MIN_SCORE, cursor: str | None = None, limit: int = 50
) -> Page:
    """Likely duplicate pairs of the whole workspace, a page at a time.

    Pairs are found block by block in the (stable, arbitrary) order of their blocking keys:
    every pair of a small block, the pairs with alike names in a large one. A pair sharing
    several keys is reported once, under the first block that compares it. Each page is sorted
    by score. The work per request is bounded (``MAX_COMPARISONS`` pairs scored), so a page may
    hold fewer than ``limit`` pairs, even none, while ``next_cursor`` says there is more.
    """
    ctx.require(Permission.READ)
    check_limit(limit)
    _min_score(min_score)
    keys = MatchKeyRepository(ctx.session, ctx.workspace_id)
    position: tuple[str, int, int] | None = None
    after: str | None = None
    inclusive = False
    if cursor:
        key, a, b = decode_cursor(cursor, arity=3, types=(str, int, int))
        position = (key, a, b)
        after, inclusive = key, (a, b) != (MAX_ID, MAX_ID)
    found: list[tuple[tuple[str, int, int], Match]] = []
    budget = MAX_COMPARISONS
    exhausted = False
    for _ in range(MAX_ROUNDS):
        blocks = keys.blocks_after(after, BLOCKS_PER_ROUND, inclusive=inclusive)
        if not blocks:
            exhausted = True
            break
        pairs, done, used = _pairs_in(ctx, blocks, position, min_score, budget, limit + 1)
        found += pairs
        budget -= used
        after, inclusive = done, False
        if budget <= 0 or len(found) > limit or done != blocks[-1][0]:
            break
    page, rest = found[:limit], found[limit:]
    next_cursor: str | None = None
    if rest:
        next_cursor = encode_cursor(list(page[-1][0]))
    elif not exhausted and after is not None:
        # Every pair of the blocks up to ``after`` was looked at: go on after them.
        next_cursor = encode_cursor([after, MAX_ID, MAX_ID])
    contacts = _contacts(ctx, {i for _, m in page for i in (m.a, m.b)})
    items = [
        DuplicatePair(contacts[m.a], contacts[m.b], m.score, _reasons(m))
        for _, m in sorted(page, key=lambda f: (-f[1].score, f[0]))
    ]
    return Page(items, next_cursor)


def _pairs_in(
    ctx: Ctx,
    blocks: Sequence[tuple[str, int]],
    position: tuple[str, int, int] | None,
    min_score: int,
    budget: int,
    wanted: int,
) -> tuple[list[tuple[tuple[str, int, int], Match]], str, int]:
    """The qualifying pairs of these blocks after ``position``, in (key, a, b) order, block by
    block until ``budget`` pairs were scored or ``wanted`` found (the first block always in
    full). Returns them, the last block done and the number of pairs scored."""
    repo = MatchKeyRepository(ctx.session, ctx.workspace_id)
    members: dict[str, list[int]] = {}
    for key, contact_id in repo.members([k for k, _ in blocks]):
        members.setdefault(key, []).append(contact_id)
    everyone = sorted({c for ids in members.values() for c in ids})
    facts = _facts(ctx, everyone)
    keys_of = repo.keys_of(everyone)
    sizes = repo.sizes(sorted({k for ks in keys_of.values() for k in ks}))

    def compared_in(block: str, a: int, b: int) -> bool:
        """Whether the pair is compared in that block (every pair of a small block, the pairs
        with alike names in a large one): the same test for the pair wherever it is met."""
        size = sizes.get(block, 0)
        if not 2 <= size <= MAX_BLOCK:
            return False
        return size <= SMALL_BLOCK or names_alike(facts[a], facts[b])

    out: list[tuple[tuple[str, int, int], Match]] = []
    used = 0
    done = blocks[0][0]
    for key, _ in blocks:
        ids = sorted(i for i in members.get(key, []) if i in facts)
        if len(ids) <= SMALL_BLOCK:
            candidates = list(combinations(ids, 2))
        else:
            alike = similar_name_pairs([facts[i] for i in ids])
            candidates = [(ids[i], ids[j]) for i, j in alike]
        for a, b in candidates:
            if position is not None and (key, a, b) <= position:
                continue
            shared = keys_of.get(a, set()) & keys_of.get(b, set())
            if any(k < key and compared_in(k, a, b) for k in shared):
                continue  # reported under that earlier block
            used += 1
            match = score_pair(facts[a], facts[b])
            if match is not None and match.score >= min_score:
                out.append(((key, a, b), match))
        done = key
        if used >= budget or len(out) >= wanted:
            break
    return out, done, used


def _facts(ctx: Ctx, ids: Sequence[int]) -> dict[int, ContactFacts]:
    source = IndexSource(ctx.session, ctx.workspace_id)
    rows = source.fact_rows(list(ids))
    organizations = source.organizations_of([r.id for r in rows if r.kind == "person"])
    return {
        r.id: ContactFacts(
            id=r.id,
            kind=r.kind,
            display_name=r.display_name,
            given_name=r.given_name,
            family_name=r.family_name,
            emails=tuple(e["email"] for e in r.emails),
            phones=tuple(p["number"] for p in r.phones),
            organization_ids=tuple(org for org, _ in organizations.get(r.id, [])),
        )
        for r in rows
    }


def _contacts(ctx: Ctx, ids: set[int]) -> dict[int, Contact]:
    return {c.id: c for c in IndexSource(ctx.session, ctx.workspace_id).contacts(sorted(ids))}


# --- merging ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeResult:
    survivor: Contact
    other_id: int
    fields: dict[str, str]
    moved: dict[str, int]


def merge(
    ctx: Ctx,
    survivor_id: int,
    *,
    other_id: int,
    fields: Mapping[str, str] | None = None,
) -> MergeResult:
    """Merge ``other_id`` into ``survivor_id`` (see the module docstring)."""
    ctx.require(Permission.WRITE)
    if other_id == survivor_id:
        raise InvalidInput.one("other_id", "different", "a contact cannot be merged into itself")
    repo = ContactRepository(ctx.session, ctx.workspace_id)
    # Lock both in id order, so two merges of the same pair cannot deadlock.
    first, second = sorted((survivor_id, other_id))
    locked = {first: repo.get(first, for_update=True), second: repo.get(second, for_update=True)}
    survivor, other = locked[survivor_id], locked[other_id]
    if survivor.kind != other.kind:
        raise InvalidInput.one(
            "other_id", "same-kind", f"a {other.kind} cannot be merged into a {survivor.kind}"
        )
    # Neither way: merging into a tombstone would give it the other's personal data back.
    refuse_erased(survivor)
    refuse_erased(other)
    values, picks = merge_fields(_values(survivor), _values(other), dict(fields or {}))
    require_member(ctx, values["owner_id"], "fields.owner_id", "no longer a member")
    store = MergeRepository(ctx.session, ctx.workspace_id)
    combined = combine_histories(
        _history(store.transitions(survivor.id)), _history(store.transitions(other.id))
    )
    # --- nothing was written above; from here on everything is.
    other_snapshot = {"display_name": other.display_name, "kind": other.kind}
    _take_fields(survivor, other, values)
    ctx.session.flush()
    absorbed = _combine_transitions(store, survivor, other, combined.entries, combined.absorbed)
    moved = store.move_all(other.id, survivor.id)
    _tombstone(ctx, other, survivor.id)
    ctx.session.flush()
    repo.replace_lookup_rows(survivor)
    _replay(ctx, store, survivor)
    ctx.session.flush()
    search.forget_contact(ctx, other.id)
    search.index_contact(ctx, survivor)
    if survivor.kind == "organization":  # the other's people now work here
        search.index_people_of(ctx, survivor.id)
    timeline.record(
        ctx,
        contact_id=survivor.id,
        type=EventType.CONTACT_MERGED,
        subject_type="contact",
        subject_id=survivor.id,
        summary=f"{other_snapshot['display_name']} (#{other.id}) was merged into this contact",
        data={
            "other_id": other.id,
            "other_name": other_snapshot["display_name"],
            "fields": {k: v.value for k, v in picks.items()},
            "moved": moved,
            "absorbed_transitions": absorbed,
            "relabelled_transitions": [
                e.id for e in combined.entries if e.from_stage is Stage.FORMER_CLIENT
            ],
        },
    )
    ctx.session.flush()
    return MergeResult(survivor, other.id, {k: v.value for k, v in picks.items()}, moved)


def _values(contact: Contact) -> dict[str, Any]:
    return {
        "display_name": contact.display_name,
        "given_name": contact.given_name,
        "family_name": contact.family_name,
        "address": contact.address,
        "timezone": contact.timezone,
        "owner_id": contact.owner_id,
        "notes": contact.notes,
        "cadence_days": contact.cadence_days,
        "do_not_email": contact.do_not_email,
    }


def _take_fields(survivor: Contact, other: Contact, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(survivor, name, value)
    survivor.sort_name = survivor.display_name.lower()[:300]
    survivor.emails = union_items(survivor.emails, other.emails, "email")
    survivor.phones = union_items(survivor.phones, other.phones, "number")
    survivor.tags = list(dict.fromkeys([*survivor.tags, *other.tags]))
    survivor.last_interaction_at = _latest(survivor.last_interaction_at, other.last_interaction_at)
    survivor.last_service_at = _latest(survivor.last_service_at, other.last_service_at)
    survivor.last_touch_at = _latest(survivor.last_touch_at, other.last_touch_at)
    soonest = [t for t in (survivor.next_activity_at, other.next_activity_at) if t is not None]
    survivor.next_activity_at = min(soonest) if soonest else None


def _latest(a: Any, b: Any) -> Any:
    present = [t for t in (a, b) if t is not None]
    return max(present) if present else None


def _history(rows: Sequence[Any]) -> list[HistoryEntry]:
    return [
        HistoryEntry(t.id, Stage(t.from_stage), Stage(t.to_stage), t.effective_on) for t in rows
    ]


def _combine_transitions(
    store: MergeRepository,
    survivor: Contact,
    other: Contact,
    kept: Sequence[HistoryEntry],
    absorbed: Sequence[int],
) -> list[dict[str, Any]]:
    """Apply the combined history: move the other's kept transitions, relabel, and drop the
    absorbed ones (returning a copy of each for the merge event)."""
    rows = {t.id: t for t in [*store.transitions(survivor.id), *store.transitions(other.id)]}
    copies = []
    for transition_id in absorbed:
        row = rows[transition_id]
        copies.append(
            {
                "id": row.id,
                "contact_id": row.contact_id,
                "from_stage": row.from_stage,
                "to_stage": row.to_stage,
                "effective_on": row.effective_on.isoformat(),
                "reason": row.reason,
                "evidence_kind": row.evidence_kind,
                "evidence_id": row.evidence_id,
                "actor_id": row.actor_id,
                "note": row.note,
            }
        )
        store.session.delete(row)
    for entry in kept:
        row = rows[entry.id]
        row.contact_id = survivor.id
        row.from_stage = entry.from_stage.value
    store.session.flush()
    return copies


def _tombstone(ctx: Ctx, other: Contact, survivor_id: int) -> None:
    other.merged_into_id = survivor_id
    other.emails, other.phones, other.tags = [], [], []
    other.notes = ""
    other.stage = Stage.CONTACT.value
    other.client_since = None
    other.closed_tenure_days = 0
    other.health_score = None
    other.health_contributions = []
    other.next_touch_due = None
    other.next_activity_at = None
    other.updated_at = ctx.now


def _replay(ctx: Ctx, store: MergeRepository, survivor: Contact) -> None:
    rows = store.transitions(survivor.id)
    standing = replay(
        TransitionFact(Stage(t.from_stage), Stage(t.to_stage), t.effective_on) for t in rows
    )
    survivor.stage = standing.stage.value
    survivor.client_since = standing.client_since
    survivor.closed_tenure_days = standing.closed_days
    survivor.updated_at = ctx.now
    cadence.refresh(ctx, survivor)
    ctx.session.flush()
    health.recompute(ctx, survivor)


__all__ = [
    "DEFAULT_MIN_SCORE",
    "DuplicatePair",
    "MergeResult",
    "Pick",
    "find_all",
    "find_for_contact",
    "merge",
]
