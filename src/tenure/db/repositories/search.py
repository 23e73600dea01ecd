"""Search: the documents the index is built from, and the queries over it on each database.

One interface (``SearchEngine``), two implementations chosen by the engine's dialect:

SQLite
    FTS5 table ``search_fts`` (external content: a view over ``search_documents``; triggers keep
    it current). Every row also carries *scope* tokens (``ws7contact``, ``ws7doc``, ``ct42``), so
    a query is confined to its workspace, kind and contact inside the index: the engine
    intersects posting lists rather than ranking every workspace's matches. Ranked by ``bm25``
    with the title weighing ten times the body.
PostgreSQL
    A generated ``tsv`` column (title weight A, body weight B, ``tenure_search`` configuration:
    accents folded, no stemming) with a GIN index, prefix ``tsquery`` terms (``jo:*``) and
    ``ts_rank``; typo-tolerant names through ``pg_trgm`` similarity on the folded sort name
    (GIN trigram index).

Ranking costs a few microseconds per matching row, and a one- or two-letter prefix can match a
large part of a workspace. So both implementations rank at most ``RANK_WINDOW`` matches: the
newest ones (highest ids), found without ranking by walking the index in id order. A broad
query is therefore ranked among its newest 2,000 matches; a specific one among all of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal_column,
    select,
    table,
    text,
    update,
)
from sqlalchemy.orm import Session

from tenure.db.models import Affiliation, Contact, ContactMatchKey, KnowledgeEntry, SearchDocument
from tenure.db.repositories.base import Repository

#: At most this many matches are ranked (the newest); see the module docstring.
RANK_WINDOW = 2000


@dataclass(frozen=True)
class ContactHit:
    contact: Contact
    #: The engine's relevance: higher is better, comparable within one answer only.
    rank: float


@dataclass(frozen=True)
class DocumentHit:
    document: SearchDocument
    rank: float


class SearchEngine(Protocol):
    def contacts(
        self, terms: Sequence[str], where: Sequence[ColumnElement[bool]], limit: int
    ) -> list[ContactHit]:
        """Contacts whose name, emails, phones, organizations or tags have a word starting
        with every term, best first."""
        ...

    def name_candidates(
        self,
        prefixes: Sequence[str],
        query: str,
        where: Sequence[ColumnElement[bool]],
        limit: int,
    ) -> list[Contact]:
        """A bounded set of contacts whose names might be ``query`` misspelt: a name word
        starts with every one of ``prefixes`` (the first letters of each query word), or (on
        PostgreSQL) the folded name is trigram-similar to the query."""
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

    def _match(self, expression: str) -> ColumnElement[bool]:
        return _FTS_TABLE.op("MATCH")(bindparam("fts_query", expression))

    def _windowed(self, stmt: Select[Any]) -> Select[Any]:
        """Only the newest RANK_WINDOW matches (FTS5 walks its rowids backwards and stops)."""
        newest = (
            stmt.with_only_columns(_FTS.c.rowid)
            .order_by(_FTS.c.rowid.desc())
            .limit(RANK_WINDOW)
            .subquery()
        )
        return stmt.where(_FTS.c.rowid >= select(func.min(newest.c.rowid)).scalar_subquery())

    def contacts(
        self, terms: Sequence[str], where: Sequence[ColumnElement[bool]], limit: int
    ) -> list[ContactHit]:
        match = self._match(f'scope: "ws{self.workspace_id}contact" AND {_fts_terms(terms)}')
        rank = func.bm25(_FTS_TABLE, 10.0, 1.0, 0.0)
        base = (
            select(Contact)
            .select_from(_FTS)
            .join(SearchDocument, SearchDocument.id == _FTS.c.rowid)
            .join(Contact, Contact.id == SearchDocument.ref_id)
            .where(
                match,
                SearchDocument.workspace_id == self.workspace_id,
                SearchDocument.kind == "contact",
                Contact.workspace_id == self.workspace_id,
                *where,
            )
        )
        stmt = self._windowed(base).add_columns(rank.label("rank"))
        stmt = stmt.order_by(rank, Contact.sort_name, Contact.id).limit(limit)
        # bm25 is lower-is-better; the interface's rank is higher-is-better.
        return [ContactHit(c, -float(r)) for c, r in self.session.execute(stmt).all()]

    def name_candidates(
        self,
        prefixes: Sequence[str],
        query: str,
        where: Sequence[ColumnElement[bool]],
        limit: int,
    ) -> list[Contact]:
        if not prefixes:
            return []
        expression = f'scope: "ws{self.workspace_id}contact" AND {_fts_terms(prefixes, "title")}'
        stmt = (
            select(Contact)
            .select_from(_FTS)
            .join(SearchDocument, SearchDocument.id == _FTS.c.rowid)
            .join(Contact, Contact.id == SearchDocument.ref_id)
            .where(
                self._match(expression),
                SearchDocument.workspace_id == self.workspace_id,
                SearchDocument.kind == "contact",
                Contact.workspace_id == self.workspace_id,
                *where,
            )
            .order_by(_FTS.c.rowid.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt).all())

    def documents(
        self,
        terms: Sequence[str],
        kinds: Sequence[str],
        contact_id: int | None,
        limit: int,
    ) -> list[DocumentHit]:
        ws = self.workspace_id
        scope = f'scope: "ws{ws}{kinds[0]}"' if len(kinds) == 1 else f'scope: "ws{ws}doc"'
        if contact_id is not None:
            scope += f' AND scope: "ct{int(contact_id)}"'
        match = self._match(f"{scope} AND {_fts_terms(terms)}")
        rank = func.bm25(_FTS_TABLE, 3.0, 1.0, 0.0)
        base = (
            select(SearchDocument)
            .select_from(_FTS)
            .join(SearchDocument, SearchDocument.id == _FTS.c.rowid)
            .where(match, SearchDocument.workspace_id == ws, SearchDocument.kind.in_(kinds))
        )
        if contact_id is not None:
            base = base.where(SearchDocument.contact_id == contact_id)
        stmt = self._windowed(base).add_columns(rank.label("rank"))
        stmt = stmt.order_by(rank, SearchDocument.id.desc()).limit(limit)
        return [DocumentHit(d, -float(r)) for d, r in self.session.execute(stmt).all()]


# --- PostgreSQL: tsvector, GIN, pg_trgm ------------------------------------------------------

_TSV: ColumnElement[Any] = literal_column("search_documents.tsv")


def _tsquery(terms: Sequence[str], weight: str = "") -> Any:
    # Quoted lexemes with a prefix mark; terms are runs of letters and digits, never quotes.
    expression = " & ".join(f"'{t}':*{weight}" for t in terms)
    return func.to_tsquery(literal_column("'tenure_search'"), bindparam("ts_query", expression))


class PostgresSearch:
    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def _windowed(self, stmt: Select[Any]) -> Select[Any]:
        newest = (
            stmt.with_only_columns(SearchDocument.id)
            .order_by(SearchDocument.id.desc())
            .limit(RANK_WINDOW)
            .subquery()
        )
        return stmt.where(SearchDocument.id >= select(func.min(newest.c.id)).scalar_subquery())

    def contacts(
        self, terms: Sequence[str], where: Sequence[ColumnElement[bool]], limit: int
    ) -> list[ContactHit]:
        query = _tsquery(terms)
        rank = func.ts_rank(_TSV, query, type_=Float)
        base = (
            select(Contact)
            .select_from(SearchDocument)
            .join(Contact, Contact.id == SearchDocument.ref_id)
            .where(
                SearchDocument.workspace_id == self.workspace_id,
                SearchDocument.kind == "contact",
                _TSV.op("@@")(query),
                Contact.workspace_id == self.workspace_id,
                *where,
            )
        )
        stmt = self._windowed(base).add_columns(rank.label("rank"))
        stmt = stmt.order_by(rank.desc(), Contact.sort_name, Contact.id).limit(limit)
        return [ContactHit(c, float(r)) for c, r in self.session.execute(stmt).all()]

    def name_candidates(
        self,
        prefixes: Sequence[str],
        query: str,
        where: Sequence[ColumnElement[bool]],
        limit: int,
    ) -> list[Contact]:
        folded = func.tenure_unaccent(bindparam("trgm_query", query.lower()))
        name = func.tenure_unaccent(Contact.sort_name)
        # Trigram-similar names (pg_trgm.similarity_threshold, 0.3 by default), by the index.
        similar = (
            select(Contact.id)
            .where(Contact.workspace_id == self.workspace_id, name.op("%")(folded), *where)
            .order_by(func.similarity(name, folded).desc())
            .limit(limit)
        )
        ids = select(similar.subquery().c.id)
        if prefixes:
            prefixed = (
                select(SearchDocument.ref_id)
                .join(Contact, Contact.id == SearchDocument.ref_id)
                .where(
                    SearchDocument.workspace_id == self.workspace_id,
                    SearchDocument.kind == "contact",
                    _TSV.op("@@")(_tsquery(prefixes, weight="A")),
                    Contact.workspace_id == self.workspace_id,
                    *where,
                )
                .order_by(SearchDocument.id.desc())
                .limit(limit)
            )
            ids = ids.union(select(prefixed.subquery().c.ref_id))  # type: ignore[assignment]
        stmt = select(Contact).where(Contact.id.in_(ids))
        return list(self.session.scalars(stmt).all())

    def documents(
        self,
        terms: Sequence[str],
        kinds: Sequence[str],
        contact_id: int | None,
        limit: int,
    ) -> list[DocumentHit]:
        query = _tsquery(terms)
        rank = func.ts_rank(_TSV, query, type_=Float)
        base = select(SearchDocument).where(
            SearchDocument.workspace_id == self.workspace_id,
            SearchDocument.kind.in_(kinds),
            _TSV.op("@@")(query),
        )
        if contact_id is not None:
            base = base.where(SearchDocument.contact_id == contact_id)
        stmt = self._windowed(base).add_columns(rank.label("rank"))
        stmt = stmt.order_by(rank.desc(), SearchDocument.id.desc()).limit(limit)
        return [DocumentHit(d, float(r)) for d, r in self.session.execute(stmt).all()]


# --- the documents ----------------------------------------------------------------------------


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
        self.session.add_all(
            [
                ContactMatchKey(workspace_id=self.workspace_id, contact_id=contact_id, key=k)
                for k in sorted(keys - current)
            ]
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

    def shared_keys_after(
        self, after: str | None, limit: int, *, inclusive: bool = False
    ) -> list[str]:
        """The next keys (in key order) that 2 to MAX_BLOCK contacts hold: the blocks."""
        stmt = self.select(ContactMatchKey.key)
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
        return list(self.session.scalars(stmt).all())

    def blocks_among(self, keys: Sequence[str]) -> set[str]:
        """Which of these keys are blocks (held by 2 to MAX_BLOCK contacts)."""
        if not keys:
            return set()
        stmt = (
            self.select(ContactMatchKey.key)
            .where(ContactMatchKey.key.in_(keys))
            .group_by(ContactMatchKey.key)
            .having(func.count() > 1, func.count() <= MAX_BLOCK)
        )
        return set(self.session.scalars(stmt).all())

    def members(self, keys: Sequence[str]) -> list[tuple[str, int]]:
        if not keys:
            return []
        stmt = (
            self.select(ContactMatchKey.key, ContactMatchKey.contact_id)
            .where(ContactMatchKey.key.in_(keys))
            .order_by(ContactMatchKey.key, ContactMatchKey.contact_id)
        )
        return [(k, c) for k, c in self.session.execute(stmt).all()]
