"""Search: the documents the index is built from, and the queries over it on each database.

One interface (``SearchEngine``), two implementations chosen by the engine's dialect:

SQLite
    FTS5 table ``search_fts`` (external content: a view over ``search_documents``; triggers keep
    it current). Every row also carries *scope* tokens (``ws7contact``, ``ws7doc``, ``ct42``), so
    finding a workspace's (kind's, contact's) matches intersects posting lists inside the index
    instead of filtering every workspace's matches. Documents are ranked by ``bm25`` (title
    three times the body). The scope is left out of the ranked query itself: bm25 counts the
    documents of every phrase it ranks, and the scope phrase holds the whole workspace.
PostgreSQL
    A generated ``tsv`` column (title weight A, body weight B, ``tenure_search`` configuration:
    accents folded, no stemming) with a GIN index, prefix ``tsquery`` terms (``jo:*``) and
    ``ts_rank``; typo-tolerant names through ``pg_trgm`` similarity on the folded sort name
    (GIN trigram index).

Ranking costs microseconds per matching row, and one or two letters can match much of a
workspace. So at most a *window* of matches is ranked (500): a specific query is ranked among
all its matches, a broad one among the window. On SQLite the window is the newest matches
(FTS5 walks its rowids backwards and stops); on PostgreSQL, the newest for documents and, for
contacts, the first matches the GIN bitmap yields (see ``PostgresSearch._matching``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    Table,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tenure.db.models import (
    Affiliation,
    Contact,
    ContactMatchKey,
    KnowledgeEntry,
    SearchDocument,
)
from tenure.db.repositories.base import Repository

#: Full-text documents: at most this many (the newest) matches are ranked.
DOCUMENT_WINDOW = 500


@dataclass(frozen=True)
class NameHit:
    """A contact a search found, light: what ranking needs before the page is loaded."""

    id: int
    display_name: str
    sort_name: str
    #: The engine's tie-breaker, higher is better (ts_rank; on SQLite, recency).
    rank: float


@dataclass(frozen=True)
class DocumentHit:
    document: SearchDocument
    #: The engine's relevance (bm25 / ts_rank): higher is better, within one answer.
    rank: float


class SearchEngine(Protocol):
    def contacts(
        self, terms: Sequence[str], where: Sequence[ColumnElement[bool]], window: int
    ) -> list[NameHit]:
        """Contacts (matching ``where``) whose name, emails, phones, organizations or tags
        have a word starting with every term: the newest ``window`` of them."""
        ...

    def name_candidates(
        self, prefixes: Sequence[str], where: Sequence[ColumnElement[bool]], limit: int
    ) -> list[NameHit]:
        """Contacts with a name word starting with every one of ``prefixes`` (the first
        letters of each query word): where a misspelt name is looked for, at most ``limit``."""
        ...

    def similar_names(
        self, query: str, where: Sequence[ColumnElement[bool]], limit: int
    ) -> list[NameHit]:
        """Names trigram-similar to ``query`` (PostgreSQL's pg_trgm; none on SQLite): the
        last resort for a typo in the first letters."""
        ...

    def documents(
        self,
        terms: Sequence[str],
        kinds: Sequence[str],
        contact_id: int | None,
        limit: int,
    ) -> list[DocumentHit]:
        """Documents of these kinds (of this contact) matching every term, best first."""
        ...


def search_engine(session: Session, workspace_id: int) -> SearchEngine:
    if session.get_bind().dialect.name == "sqlite":
        return SqliteSearch(session, workspace_id)
    return PostgresSearch(session, workspace_id)


def _name_hits(session: Session, stmt: Any) -> list[NameHit]:
    return [NameHit(i, n, s, float(r)) for i, n, s, r in session.execute(stmt).all()]


# --- SQLite: FTS5 -----------------------------------------------------------------------------

_FTS = table("search_fts", column("rowid", Integer))
_FTS_TABLE: ColumnElement[Any] = literal_column("search_fts")


def _fts_terms(terms: Sequence[str], columns: str = "{title body}") -> str:
    # Terms are runs of letters and digits (domain.search.query_terms); quoted all the same,
    # so no word can ever be read as FTS5 syntax (AND, NEAR, column filters …).
    quoted = " AND ".join(f'"{t}"*' for t in terms)
    return f"{columns}: ({quoted})"


class SqliteSearch:
    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def _match(self, expression: str, name: str = "fts_query") -> ColumnElement[bool]:
        return _FTS_TABLE.op("MATCH")(bindparam(name, expression))

    def _contacts_matching(
        self, expression: str, where: Sequence[ColumnElement[bool]], limit: int
    ) -> list[NameHit]:
        # FTS5 walks the matches newest first and stops after ``limit`` that pass the filters.
        stmt = (
            select(Contact.id, Contact.display_name, Contact.sort_name, _FTS.c.rowid)
            .select_from(_FTS)
            .join(SearchDocument, SearchDocument.id == _FTS.c.rowid)
            .join(Contact, Contact.id == SearchDocument.ref_id)
            .where(
                self._match(f'scope: "ws{self.workspace_id}contact" AND {expression}'),
                SearchDocument.workspace_id == self.workspace_id,
                SearchDocument.kind == "contact",
                Contact.workspace_id == self.workspace_id,
                *where,
            )
            .order_by(_FTS.c.rowid.desc())
            .limit(limit)
        )
        return _name_hits(self.session, stmt)

    def contacts(
        self, terms: Sequence[str], where: Sequence[ColumnElement[bool]], window: int
    ) -> list[NameHit]:
        return self._contacts_matching(_fts_terms(terms), where, window)

    def name_candidates(
        self, prefixes: Sequence[str], where: Sequence[ColumnElement[bool]], limit: int
    ) -> list[NameHit]:
        if not prefixes:
            return []
        return self._contacts_matching(_fts_terms(prefixes, "title"), where, limit)

    def similar_names(
        self, query: str, where: Sequence[ColumnElement[bool]], limit: int
    ) -> list[NameHit]:
        return []

    def documents(
        self,
        terms: Sequence[str],
        kinds: Sequence[str],
        contact_id: int | None,
        limit: int,
    ) -> list[DocumentHit]:
        ws = self.workspace_id
        scope = f'scope: "ws{ws}{kinds[0]}"' if len(kinds) == 1 else f'scope: "ws{ws}doc"'
        # The ranked query keeps a scope only when it is narrow (a contact's documents, one
        # kind): bm25 counts the documents of every phrase, and "ws7doc" is all of them.
        narrow = f'scope: "ct{int(contact_id)}" AND ' if contact_id is not None else ""
        if not narrow and len(kinds) == 1:
            narrow = f"{scope} AND "
        if contact_id is not None:
            scope += f' AND scope: "ct{int(contact_id)}"'
        expression = _fts_terms(terms)
        # The window: the newest matches in scope (no ranking, the index stops early) …
        newest = (
            select(_FTS.c.rowid)
            .where(self._match(f"{scope} AND {expression}", "fts_scoped"))
            .order_by(_FTS.c.rowid.desc())
            .limit(DOCUMENT_WINDOW)
            .subquery()
        )
        floor = select(func.min(newest.c.rowid)).scalar_subquery()
        # … ranked by bm25 over the query's own words only (see the module docstring).
        rank = func.bm25(_FTS_TABLE, 3.0, 1.0, 0.0)
        stmt = (
            select(SearchDocument, rank)
            .select_from(_FTS)
            .join(SearchDocument, SearchDocument.id == _FTS.c.rowid)
            .where(
                self._match(f"{narrow}{expression}"),
                _FTS.c.rowid >= floor,
                SearchDocument.workspace_id == ws,
                SearchDocument.kind.in_(kinds),
            )
            .order_by(rank, SearchDocument.id.desc())
            .limit(limit)
        )
        if contact_id is not None:
            stmt = stmt.where(SearchDocument.contact_id == contact_id)
        # bm25 is lower-is-better; the interface's rank is higher-is-better.
        return [DocumentHit(d, -float(r)) for d, r in self.session.execute(stmt).all()]


# --- PostgreSQL: tsvector, GIN, pg_trgm ------------------------------------------------------

_TSV: ColumnElement[Any] = literal_column("search_documents.tsv")


def _tsquery(terms: Sequence[str], weight: str = "", name: str = "ts_query") -> Any:
    # Quoted lexemes with a prefix mark; terms are runs of letters and digits, never quotes.
    expression = " & ".join(f"'{t}':*{weight}" for t in terms)
    return func.to_tsquery(literal_column("'tenure_search'"), bindparam(name, expression))


class PostgresSearch:
    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def _matching(
        self, query: Any, where: Sequence[ColumnElement[bool]], limit: int
    ) -> Select[Any]:
        """Contact documents matching ``query``: a window of ``limit`` of them, then ranked
        (ts_rank). The window is the first matches the GIN bitmap yields (no sort, so the heap
        scan stops after ``limit`` rows: ordering a broad prefix's thousands of matches by id
        costs a heap fetch each). The contacts are joined inside the window only when there
        are filters to apply."""
        window = select(SearchDocument.id, SearchDocument.ref_id).where(
            SearchDocument.workspace_id == self.workspace_id,
            # Spelled out, not bound, so the planner sees the partial index's predicate.
            SearchDocument.kind == literal_column("'contact'"),
            _TSV.op("@@")(query),
        )
        if where:
            window = window.join(Contact, Contact.id == SearchDocument.ref_id).where(
                Contact.workspace_id == self.workspace_id, *where
            )
        # A MATERIALIZED CTE is planned on its own, without the LIMIT: the planner then uses
        # the GIN index (with a LIMIT it may bet on a sequential scan finding the rows soon),
        # and the CTE is still read lazily, so the heap scan stops after ``limit`` rows.
        all_matches = window.cte("matches").prefix_with("MATERIALIZED")
        matches = select(all_matches).limit(limit).subquery()
        rank = func.ts_rank(_TSV, query, type_=Float)
        return (
            select(Contact.id, Contact.display_name, Contact.sort_name, rank)
            .select_from(matches)
            .join(SearchDocument, SearchDocument.id == matches.c.id)
            .join(Contact, Contact.id == matches.c.ref_id)
        )

    def contacts(
        self, terms: Sequence[str], where: Sequence[ColumnElement[bool]], window: int
    ) -> list[NameHit]:
        return _name_hits(self.session, self._matching(_tsquery(terms), where, window))

    def name_candidates(
        self, prefixes: Sequence[str], where: Sequence[ColumnElement[bool]], limit: int
    ) -> list[NameHit]:
        if not prefixes:
            return []
        query = _tsquery(prefixes, weight="A", name="ts_prefix")
        return _name_hits(self.session, self._matching(query, where, limit))

    def similar_names(
        self, query: str, where: Sequence[ColumnElement[bool]], limit: int
    ) -> list[NameHit]:
        folded = func.tenure_unaccent(bindparam("trgm_query", query.lower()))
        name = func.tenure_unaccent(Contact.sort_name)
        # pg_trgm.similarity_threshold (0.3 by default) through the GIN trigram index.
        stmt = (
            select(Contact.id, Contact.display_name, Contact.sort_name, literal(0.0))
            .where(Contact.workspace_id == self.workspace_id, name.op("%")(folded), *where)
            .order_by(func.similarity(name, folded).desc())
            .limit(limit)
        )
        return _name_hits(self.session, stmt)

    def documents(
        self,
        terms: Sequence[str],
        kinds: Sequence[str],
        contact_id: int | None,
        limit: int,
    ) -> list[DocumentHit]:
        query = _tsquery(terms)
        newest = (
            select(SearchDocument.id)
            .where(
                SearchDocument.workspace_id == self.workspace_id,
                SearchDocument.kind.in_(kinds),
                _TSV.op("@@")(query),
            )
            .order_by(SearchDocument.id.desc())
            .limit(DOCUMENT_WINDOW)
        )
        if contact_id is not None:
            newest = newest.where(SearchDocument.contact_id == contact_id)
        rank = func.ts_rank(_TSV, query, type_=Float)
        stmt = (
            select(SearchDocument, rank)
            .where(SearchDocument.id.in_(newest.scalar_subquery()))
            .order_by(rank.desc(), SearchDocument.id.desc())
            .limit(limit)
        )
        return [DocumentHit(d, float(r)) for d, r in self.session.execute(stmt).all()]


# --- the documents ----------------------------------------------------------------------------


_UPSERTS: dict[str, Any] = {}


def _upsert_document(dialect: str) -> Any:
    """INSERT … ON CONFLICT (workspace_id, kind, ref_id) DO UPDATE, built once per dialect
    (``excluded`` and the statement cost more to build than to run), values bound per call."""
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table = cast(Table, SearchDocument.__table__)
        stmt = insert_(table)
        stmt = _UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=[table.c.workspace_id, table.c.kind, table.c.ref_id],
            set_={n: stmt.excluded[n] for n in ("contact_id", "title", "body", "updated_at")},
        )
    return stmt


class SearchDocumentRepository(Repository[SearchDocument]):
    model = SearchDocument
    noun = "search document"

    def put(
        self,
        kind: str,
        ref_id: int,
        *,
        contact_id: int | None,
        title: str,
        body: str,
        now: datetime,
    ) -> bool:
        """Insert or update the document of (kind, ref_id); unchanged text writes nothing.
        Whether the title is new or changed."""
        stmt = self.select().where(SearchDocument.kind == kind, SearchDocument.ref_id == ref_id)
        document = self.session.scalars(stmt).one_or_none()
        if document is None:
            self.add(
                SearchDocument(
                    kind=kind,
                    ref_id=ref_id,
                    contact_id=contact_id,
                    title=title,
                    body=body,
                    updated_at=now,
                )
            )
            return True
        renamed: bool = document.title != title
        if (document.contact_id, document.title, document.body) != (contact_id, title, body):
            document.contact_id = contact_id
            document.title = title
            document.body = body
            document.updated_at = now
        return renamed

    def put_new(
        self,
        kind: str,
        ref_id: int,
        *,
        contact_id: int | None,
        title: str,
        body: str,
        now: datetime,
    ) -> None:
        """The document of a row this unit of work just created (a contact, an interaction):
        one INSERT, without ``put``'s lookup, since nothing can be indexed under a new id.
        ON CONFLICT DO UPDATE all the same: SQLite may hand out the id of a deleted last row
        again, and a document left behind by it must not fail the write."""
        stmt = _upsert_document(self.session.get_bind().dialect.name)
        values = {"contact_id": contact_id, "title": title, "body": body, "updated_at": now}
        self.session.execute(
            stmt, {"workspace_id": self.workspace_id, "kind": kind, "ref_id": ref_id, **values}
        )

    def remove(self, kind: str, ref_id: int) -> None:
        self.session.execute(
            delete(SearchDocument).where(
                SearchDocument.workspace_id == self.workspace_id,
                SearchDocument.kind == kind,
                SearchDocument.ref_id == ref_id,
            )
        )

    def remove_of_contact(self, contact_id: int) -> None:
        """Every document about a contact (its own, its notes, its interactions …)."""
        self.session.execute(
            delete(SearchDocument).where(
                SearchDocument.workspace_id == self.workspace_id,
                SearchDocument.contact_id == contact_id,
            )
        )

    def remove_all(self) -> int:
        result = self.session.execute(
            delete(SearchDocument).where(SearchDocument.workspace_id == self.workspace_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def move(self, from_contact: int, to_contact: int) -> None:
        self.session.execute(
            update(SearchDocument)
            .where(
                SearchDocument.workspace_id == self.workspace_id,
                SearchDocument.contact_id == from_contact,
            )
            .values(contact_id=to_contact)
        )

    def count(self) -> int:
        return int(self.session.scalar(self.select(func.count(SearchDocument.id))) or 0)


class IndexSource:
    """What the index is built from, read in bulk."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def organizations_of(self, person_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
        """person id -> [(organization id, name)] in one query."""
        if not person_ids:
            return {}
        stmt = (
            select(Affiliation.person_id, Contact.id, Contact.display_name)
            .join(Contact, Contact.id == Affiliation.organization_id)
            .where(
                Affiliation.workspace_id == self.workspace_id,
                Affiliation.person_id.in_(person_ids),
            )
            .order_by(Contact.sort_name)
        )
        out: dict[int, list[tuple[int, str]]] = {}
        for person, org, name in self.session.execute(stmt).all():
            out.setdefault(person, []).append((org, name))
        return out

    def fact_rows(self, ids: Sequence[int]) -> list[Any]:
        """The columns duplicate detection reads, of live contacts (no ORM objects: cheap)."""
        if not ids:
            return []
        stmt = select(
            Contact.id,
            Contact.kind,
            Contact.display_name,
            Contact.given_name,
            Contact.family_name,
            Contact.emails,
            Contact.phones,
        ).where(
            Contact.workspace_id == self.workspace_id,
            Contact.id.in_(ids),
            Contact.merged_into_id.is_(None),
        )
        return list(self.session.execute(stmt).all())

    def people_of(self, organization_ids: Sequence[int]) -> list[int]:
        stmt = select(Affiliation.person_id).where(
            Affiliation.workspace_id == self.workspace_id,
            Affiliation.organization_id.in_(organization_ids),
        )
        return list(self.session.scalars(stmt.distinct()).all())

    def contacts(self, ids: Sequence[int]) -> list[Contact]:
        if not ids:
            return []
        stmt = select(Contact).where(Contact.workspace_id == self.workspace_id, Contact.id.in_(ids))
        return list(self.session.scalars(stmt).all())

    def batches(
        self, model: type[Any], size: int, *, live_contacts: bool = False
    ) -> Iterator[list[Any]]:
        """Every row of ``model`` in the workspace by id, ``size`` at a time (knowledge: the
        current versions only; contacts: not merged away)."""
        after = 0
        while True:
            stmt = select(model).where(model.workspace_id == self.workspace_id, model.id > after)
            if model is KnowledgeEntry:
                stmt = stmt.where(
                    KnowledgeEntry.superseded_at.is_(None), KnowledgeEntry.retired_at.is_(None)
                )
            if live_contacts:
                stmt = stmt.where(Contact.merged_into_id.is_(None))
            rows = list(self.session.scalars(stmt.order_by(model.id).limit(size)).all())
            if not rows:
                return
            yield rows
            after = rows[-1].id

    def insert_documents(
        self, rows: Sequence[tuple[str, int, int | None, str, str]], now: datetime
    ) -> None:
        """Bulk insert (kind, ref_id, contact_id, title, body) rows (a rebuild)."""
        if rows:
            self.session.execute(
                insert(SearchDocument),
                [
                    {
                        "workspace_id": self.workspace_id,
                        "kind": kind,
                        "ref_id": ref_id,
                        "contact_id": contact_id,
                        "title": title,
                        "body": body,
                        "updated_at": now,
                    }
                    for kind, ref_id, contact_id, title, body in rows
                ],
            )


def optimize(session: Session) -> None:
    """Merge the index's segments after a rebuild (SQLite); PostgreSQL needs nothing."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))


# --- duplicate blocking keys ------------------------------------------------------------------

#: A key shared by more contacts than this (a switchboard number, a family name at one big
#: company) says nothing about duplicates and is not compared.
MAX_BLOCK = 200


class MatchKeyRepository(Repository[ContactMatchKey]):
    model = ContactMatchKey
    noun = "match key"

    def replace(self, contact_id: int, keys: set[str]) -> None:
        stmt = self.select(ContactMatchKey.key).where(ContactMatchKey.contact_id == contact_id)
        current = set(self.session.scalars(stmt).all())
        if current == keys:
            return
        stale = current - keys
        if stale:
            self.session.execute(
                delete(ContactMatchKey).where(
                    ContactMatchKey.workspace_id == self.workspace_id,
                    ContactMatchKey.contact_id == contact_id,
                    ContactMatchKey.key.in_(stale),
                )
            )
        self.add_new(contact_id, keys - current)

    def add_new(self, contact_id: int, keys: set[str]) -> None:
        """Insert keys the contact does not hold yet (all of a new contact's): one multi-row
        INSERT (ORM objects would cost one INSERT … RETURNING each on SQLite)."""
        if keys:
            self.session.execute(
                insert(cast(Table, ContactMatchKey.__table__)),
                [
                    {"workspace_id": self.workspace_id, "contact_id": contact_id, "key": k}
                    for k in sorted(keys)
                ],
            )

    def remove_of_contact(self, contact_id: int) -> None:
        self.session.execute(
            delete(ContactMatchKey).where(
                ContactMatchKey.workspace_id == self.workspace_id,
                ContactMatchKey.contact_id == contact_id,
            )
        )

    def remove_all(self) -> None:
        self.session.execute(
            delete(ContactMatchKey).where(ContactMatchKey.workspace_id == self.workspace_id)
        )

    def sharing(self, contact_id: int) -> list[int]:
        """Contacts sharing a key with this one (keys held by more than MAX_BLOCK skipped)."""
        mine = self.select(ContactMatchKey.key).where(ContactMatchKey.contact_id == contact_id)
        small = (
            self.select(ContactMatchKey.key)
            .where(ContactMatchKey.key.in_(mine.scalar_subquery()))
            .group_by(ContactMatchKey.key)
            .having(func.count() <= MAX_BLOCK)
        )
        stmt = (
            self.select(ContactMatchKey.contact_id)
            .where(
                ContactMatchKey.key.in_(small.scalar_subquery()),
                ContactMatchKey.contact_id != contact_id,
            )
            .distinct()
        )
        return list(self.session.scalars(stmt).all())

    def blocks_after(
        self, after: str | None, limit: int, *, inclusive: bool = False
    ) -> list[tuple[str, int]]:
        """The next keys (in key order) that 2 to MAX_BLOCK contacts hold, with their sizes:
        the blocks."""
        stmt = self.select(ContactMatchKey.key, func.count())
        if after is not None:
            stmt = stmt.where(
                ContactMatchKey.key >= after if inclusive else ContactMatchKey.key > after
            )
        stmt = (
            stmt.group_by(ContactMatchKey.key)
            .having(func.count() > 1, func.count() <= MAX_BLOCK)
            .order_by(ContactMatchKey.key)
            .limit(limit)
        )
        return [(k, int(n)) for k, n in self.session.execute(stmt).all()]

    def sizes(self, keys: Sequence[str]) -> dict[str, int]:
        """How many contacts hold each of these keys (keys nobody holds are left out)."""
        if not keys:
            return {}
        stmt = (
            self.select(ContactMatchKey.key, func.count())
            .where(ContactMatchKey.key.in_(keys))
            .group_by(ContactMatchKey.key)
        )
        return {k: int(n) for k, n in self.session.execute(stmt).all()}

    def keys_of(self, contact_ids: Sequence[int]) -> dict[int, set[str]]:
        if not contact_ids:
            return {}
        stmt = self.select(ContactMatchKey.contact_id, ContactMatchKey.key).where(
            ContactMatchKey.contact_id.in_(contact_ids)
        )
        out: dict[int, set[str]] = {}
        for contact_id, key in self.session.execute(stmt).all():
            out.setdefault(contact_id, set()).add(key)
        return out

    def members(self, keys: Sequence[str]) -> list[tuple[str, int]]:
        if not keys:
            return []
        stmt = (
            self.select(ContactMatchKey.key, ContactMatchKey.contact_id)
            .where(ContactMatchKey.key.in_(keys))
            .order_by(ContactMatchKey.key, ContactMatchKey.contact_id)
        )
        return [(k, c) for k, c in self.session.execute(stmt).all()]
