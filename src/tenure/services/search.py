"""Search: one box over contacts, full text over what was said, known and asked.

Contacts
    Every word of the query must start a word of the contact's name, emails, phones,
    organizations or tags (prefix matching; case and accents aside). The index finds the
    matches (at most a window of 500 for a broad query, see ``db.repositories.search``); they
    are ranked here by how well the words name the contact (a whole name word beats a prefix
    of one, a name beats an email, an employer or a tag), then by the engine's rank. When
    that finds fewer than ``FUZZY_BELOW`` contacts and the query is words of letters, names
    are also searched with typos allowed: candidates come from the index (names with a word
    starting with the first two letters of each query word, then, for several words, with the
    first letter of all but the longest; on PostgreSQL also names trigram-similar to the
    query), at most ``FUZZY_CANDIDATES`` per round, scored here with ``rapidfuzz``; misspelt
    matches always rank below exact ones. Cost: two statements (the matches, then the page of
    contacts), and one or two bounded ones more for a typo.
Full text
    Interactions (subject and body), knowledge, notes on contacts and cases, ranked by the
    engine (bm25 / ts_rank), filterable by kind and contact, each with a snippet around the
    matched words (marked ``**like this**``), made here from the stored text.

The index is kept current on write: the services that change these records call
``index_*`` / ``remove`` in the same transaction; ``reindex`` rebuilds a workspace's index.
A search answers one ranked page (no cursor).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from tenure.db.models import Case, Contact, Interaction, KnowledgeEntry
from tenure.db.repositories.contacts import ContactFilter, ContactRepository
from tenure.db.repositories.pagination import check_limit
from tenure.db.repositories.search import (
    IndexSource,
    MatchKeyRepository,
    NameHit,
    SearchDocumentRepository,
    optimize,
    search_engine,
)
from tenure.domain.access import Permission
from tenure.domain.duplicates import ContactFacts, match_keys
from tenure.domain.errors import InvalidInput
from tenure.domain.search import (
    TEXT_KINDS,
    ContactText,
    DocumentKind,
    contact_document,
    fold,
    fuzzy_name_score,
    is_name_query,
    name_affinity,
    query_terms,
    snippet,
    typo_prefixes,
)
from tenure.services.context import Ctx

#: Typo tolerance joins in when the exact search finds fewer contacts than this.
FUZZY_BELOW = 5
#: At most this many names are scored for typos.
FUZZY_CANDIDATES = 1000
#: A misspelt name must score at least this (0-100) to be shown.
FUZZY_MIN = 70
#: The exact search ranks (here, by how well the words name the contact) at most this many of
#: its matches (see ``db.repositories.search``): a broad query ("jo") is ranked among 500.
CONTACT_WINDOW = 500


@dataclass(frozen=True)
class ContactResult:
    contact: Contact
    #: 0-100: 50-100 for a contact every word matched, below 50 for a name matched with typos.
    score: float
    #: ``prefix`` (every word matched), ``fuzzy`` (a name with typos) or ``text`` (a query
    #: without words, matched literally).
    matched: str


@dataclass(frozen=True)
class SearchResult:
    kind: str
    id: int
    contact_id: int | None
    title: str
    snippet: str
    #: Relevance, higher is better; comparable within one answer only.
    score: float


# --- contacts --------------------------------------------------------------------------------


def search_contacts(
    ctx: Ctx, q: str, *, filters: ContactFilter | None = None, limit: int = 20
) -> list[ContactResult]:
    """Contacts matching ``q`` (and the other filters), best first: one ranked page."""
    ctx.require(Permission.READ)
    check_limit(limit)
    repo = ContactRepository(ctx.session, ctx.workspace_id)
    terms = query_terms(q)
    if not terms:
        if not q.strip():
            return []
        where = repo.conditions(filters or ContactFilter())
        return [ContactResult(c, 50.0, "text") for c in repo.containing(q, where, limit)]
    # Merged-away contacts have no search documents: only the caller's filters remain.
    where = repo.conditions(filters or ContactFilter(), live=False)
    engine = search_engine(ctx.session, ctx.workspace_id)
    hits = engine.contacts(terms, where, window=CONTACT_WINDOW)
    folded = [fold(t) for t in terms]
    ranked = sorted(
        ((50 + name_affinity(folded, h.display_name) / 2, h) for h in hits),
        key=lambda r: (-r[0], -r[1].rank, r[1].sort_name, r[1].id),
    )
    chosen = [(round(score, 1), h.id, "prefix") for score, h in ranked[:limit]]
    if len(chosen) < min(limit, FUZZY_BELOW) and is_name_query(terms):
        seen = {i for _, i, _ in chosen}
        fuzzy: list[tuple[float, NameHit]] = []
        rounds: list[Callable[[], list[NameHit]]] = [
            partial(engine.name_candidates, prefixes, where, FUZZY_CANDIDATES)
            for prefixes in typo_prefixes(terms)
        ]
        rounds.append(partial(engine.similar_names, q, where, FUZZY_CANDIDATES))
        for candidates in rounds:
            for hit in candidates():
                if hit.id in seen:
                    continue
                seen.add(hit.id)
                similarity = fuzzy_name_score(folded, hit.display_name)
                if similarity >= FUZZY_MIN:
                    fuzzy.append((min(similarity / 2, 49.9), hit))
            if fuzzy:
                break
        fuzzy.sort(key=lambda r: (-r[0], r[1].sort_name, r[1].id))
        chosen += [(round(score, 1), h.id, "fuzzy") for score, h in fuzzy]
    chosen = chosen[:limit]
    contacts = {
        c.id: c
        for c in IndexSource(ctx.session, ctx.workspace_id).contacts([i for _, i, _ in chosen])
    }
    return [
        ContactResult(contacts[i], score, how)
        for score, i, how in chosen
        if i in contacts and contacts[i].merged_into_id is None
    ]


# --- full text -------------------------------------------------------------------------------


def search(
    ctx: Ctx,
    q: str,
    *,
    kind: str | None = None,
    contact_id: int | None = None,
    limit: int = 20,
) -> list[SearchResult]:
    """Full text over interactions, knowledge, notes and cases (``kind`` one of them), or the
    contact search in the same shape (``kind="contact"``)."""
    ctx.require(Permission.READ)
    check_limit(limit)
    kinds = [k.value for k in DocumentKind]
    if kind is not None and kind not in kinds:
        raise InvalidInput.one("kind", "choice", f"must be one of {', '.join(kinds)}")
    if contact_id is not None:
        ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    if kind == DocumentKind.CONTACT:
        found = search_contacts(ctx, q, limit=limit)
        return [
            _contact_result(r) for r in found if contact_id is None or r.contact.id == contact_id
        ]
    terms = query_terms(q)
    if not terms:
        return []
    engine = search_engine(ctx.session, ctx.workspace_id)
    hits = engine.documents(terms, [kind] if kind else list(TEXT_KINDS), contact_id, limit)
    return [
        SearchResult(
            kind=h.document.kind,
            id=h.document.ref_id,
            contact_id=h.document.contact_id,
            title=h.document.title,
            snippet=snippet(h.document.body or h.document.title, terms),
            score=round(h.rank, 6),
        )
        for h in hits
    ]


def _contact_result(result: ContactResult) -> SearchResult:
    c = result.contact
    details = [e["email"] for e in c.emails[:1]] + [p["number"] for p in c.phones[:1]]
    return SearchResult(
        kind=DocumentKind.CONTACT.value,
        id=c.id,
        contact_id=c.id,
        title=c.display_name,
        snippet=" · ".join([c.kind, c.stage, *details]),
        score=result.score,
    )


# --- keeping the index current ---------------------------------------------------------------


def index_contact(ctx: Ctx, contact: Contact) -> None:
    """Refresh everything derived from a contact for finding it: its search document, the
    document of its notes and its duplicate keys. Call after creating or changing a contact
    (its organizations included). A renamed organization refreshes its people too."""
    renamed = _index_contacts(ctx, [contact])
    if renamed:
        source = IndexSource(ctx.session, ctx.workspace_id)
        people = source.contacts(source.people_of(renamed))
        _index_contacts(ctx, people)


def index_new_contact(ctx: Ctx, contact: Contact, *, organizations: bool) -> None:
    """``index_contact`` for a contact this unit of work just created: the same documents and
    keys, written without looking for earlier ones (there are none under a new id) and, for a
    person linked to no organization (``organizations`` False), without reading its links.
    Nobody carries a new organization's name yet, so no one else is refreshed."""
    orgs: list[tuple[int, str]] = []
    if organizations and contact.kind == "person":
        source = IndexSource(ctx.session, ctx.workspace_id)
        orgs = source.organizations_of([contact.id]).get(contact.id, [])
    documents = SearchDocumentRepository(ctx.session, ctx.workspace_id)
    for kind, title, body in _documents_of(contact, orgs):
        documents.put_new(
            kind, contact.id, contact_id=contact.id, title=title, body=body, now=ctx.now
        )
    keys = match_keys(facts_of(contact, [org for org, _ in orgs]))
    MatchKeyRepository(ctx.session, ctx.workspace_id).add_new(contact.id, keys)


def index_contacts(ctx: Ctx, contacts: Sequence[Contact]) -> None:
    _index_contacts(ctx, contacts)


def index_people_of(ctx: Ctx, organization_id: int) -> None:
    """Refresh the documents of an organization's people (they carry its name)."""
    source = IndexSource(ctx.session, ctx.workspace_id)
    _index_contacts(ctx, source.contacts(source.people_of([organization_id])))


def _index_contacts(ctx: Ctx, contacts: Sequence[Contact]) -> list[int]:
    """Returns the organizations whose name changed in the index."""
    if not contacts:
        return []
    documents = SearchDocumentRepository(ctx.session, ctx.workspace_id)
    keys = MatchKeyRepository(ctx.session, ctx.workspace_id)
    source = IndexSource(ctx.session, ctx.workspace_id)
    organizations = source.organizations_of([c.id for c in contacts if c.kind == "person"])
    renamed: list[int] = []
    for contact in contacts:
        if contact.merged_into_id is not None or contact.erased_at is not None:
            forget_contact(ctx, contact.id)
            continue
        orgs = organizations.get(contact.id, [])
        own = _documents_of(contact, orgs)
        for kind, title, body in own:
            changed = documents.put(
                kind, contact.id, contact_id=contact.id, title=title, body=body, now=ctx.now
            )
            if changed and kind == DocumentKind.CONTACT and contact.kind == "organization":
                renamed.append(contact.id)
        if len(own) == 1:  # no notes (any more)
            documents.remove(DocumentKind.NOTE.value, contact.id)
        keys.replace(contact.id, match_keys(facts_of(contact, [org for org, _ in orgs])))
    return renamed


def _documents_of(
    contact: Contact, organizations: Sequence[tuple[int, str]]
) -> list[tuple[str, str, str]]:
    """The contact's documents as (kind, title, body): its own, and its notes' if it has any."""
    title, body = contact_document(_text_of(contact, [name for _, name in organizations]))
    documents = [(DocumentKind.CONTACT.value, title, body)]
    if contact.notes.strip():
        notes = (DocumentKind.NOTE.value, f"Notes on {contact.display_name}", contact.notes)
        documents.append(notes)
    return documents


def _text_of(contact: Contact, organizations: Sequence[str]) -> ContactText:
    return ContactText(
        display_name=contact.display_name,
        given_name=contact.given_name,
        family_name=contact.family_name,
        emails=[e["email"] for e in contact.emails],
        phones=[p["number"] for p in contact.phones],
        organizations=organizations,
        tags=contact.tags,
    )


def facts_of(contact: Contact, organization_ids: Sequence[int]) -> ContactFacts:
    return ContactFacts(
        id=contact.id,
        kind=contact.kind,
        display_name=contact.display_name,
        given_name=contact.given_name,
        family_name=contact.family_name,
        emails=tuple(e["email"] for e in contact.emails),
        phones=tuple(p["number"] for p in contact.phones),
        organization_ids=tuple(organization_ids),
    )


def index_interaction(ctx: Ctx, interaction: Interaction) -> None:
    """Index a newly logged interaction (interactions are never edited)."""
    title, body = _interaction_text(interaction)
    SearchDocumentRepository(ctx.session, ctx.workspace_id).put_new(
        DocumentKind.INTERACTION.value,
        interaction.id,
        contact_id=interaction.contact_id,
        title=title,
        body=body,
        now=ctx.now,
    )


def index_knowledge(ctx: Ctx, entry: KnowledgeEntry) -> None:
    """The current version of an entry is searchable; the version it replaced, or a retired
    entry, no longer is."""
    documents = SearchDocumentRepository(ctx.session, ctx.workspace_id)
    if entry.supersedes_id is not None:
        documents.remove(DocumentKind.KNOWLEDGE.value, entry.supersedes_id)
    if entry.superseded_at is not None or entry.retired_at is not None:
        documents.remove(DocumentKind.KNOWLEDGE.value, entry.id)
        return
    title, body = _knowledge_text(entry)
    documents.put(
        DocumentKind.KNOWLEDGE.value,
        entry.id,
        contact_id=entry.contact_id,
        title=title,
        body=body,
        now=ctx.now,
    )


def index_case(ctx: Ctx, case: Case) -> None:
    title, body = _case_text(case)
    SearchDocumentRepository(ctx.session, ctx.workspace_id).put(
        DocumentKind.CASE.value,
        case.id,
        contact_id=case.contact_id,
        title=title,
        body=body,
        now=ctx.now,
    )


def remove(ctx: Ctx, kind: DocumentKind | str, ref_id: int) -> None:
    SearchDocumentRepository(ctx.session, ctx.workspace_id).remove(str(kind), ref_id)


def forget_contact(ctx: Ctx, contact_id: int) -> None:
    """Remove a contact from search and from duplicate detection, with every document about
    it (for a merged-away or erased contact)."""
    SearchDocumentRepository(ctx.session, ctx.workspace_id).remove_of_contact(contact_id)
    MatchKeyRepository(ctx.session, ctx.workspace_id).remove_of_contact(contact_id)


def _interaction_text(interaction: Interaction) -> tuple[str, str]:
    title = interaction.subject or (
        f"{interaction.channel.capitalize()} on {interaction.occurred_at:%Y-%m-%d}"
    )
    body = interaction.body
    if interaction.participants:
        body = f"{body}\n{', '.join(interaction.participants)}"
    return title, body


def _knowledge_text(entry: KnowledgeEntry) -> tuple[str, str]:
    label = entry.kind.replace("_", " ").capitalize()
    return (f"{label}: {entry.key}" if entry.key else label), entry.text


def _case_text(case: Case) -> tuple[str, str]:
    body = "\n".join(t for t in (case.description, case.resolution) if t)
    return case.subject, body


# --- rebuilding ------------------------------------------------------------------------------

REINDEX_BATCH = 500


@dataclass(frozen=True)
class ReindexReport:
    contacts: int
    documents: int


def reindex(ctx: Ctx, *, progress: Callable[[str, int], None] | None = None) -> ReindexReport:
    """Rebuild the workspace's search documents and duplicate keys from the records, in
    batches (bulk inserts; the index follows through its triggers or generated column)."""
    ctx.require(Permission.ADMIN)
    source = IndexSource(ctx.session, ctx.workspace_id)
    SearchDocumentRepository(ctx.session, ctx.workspace_id).remove_all()
    MatchKeyRepository(ctx.session, ctx.workspace_id).remove_all()
    ctx.session.flush()
    contacts = 0
    for batch in source.batches(Contact, REINDEX_BATCH, live_contacts=True):
        _index_contacts(ctx, batch)
        ctx.session.flush()
        contacts += len(batch)
        if progress:
            progress("contacts", len(batch))
    documents = 0
    texts: list[tuple[type[Any], DocumentKind, Callable[[Any], tuple[str, str]]]] = [
        (Interaction, DocumentKind.INTERACTION, _interaction_text),
        (KnowledgeEntry, DocumentKind.KNOWLEDGE, _knowledge_text),
        (Case, DocumentKind.CASE, _case_text),
    ]
    for model, kind, text_of in texts:
        for rows in source.batches(model, REINDEX_BATCH):
            source.insert_documents(
                [(kind.value, r.id, r.contact_id, *text_of(r)) for r in rows], ctx.now
            )
            documents += len(rows)
            if progress:
                progress(kind.value, len(rows))
    optimize(ctx.session)
    return ReindexReport(contacts=contacts, documents=documents)
