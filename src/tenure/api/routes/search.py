"""/search: full text over interactions, knowledge, notes and cases; /search/contacts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tenure.api.contact_filters import NO_NUL
from tenure.api.deps import CtxDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.contacts import contact_fields
from tenure.api.schemas.search import (
    ContactSearchResults,
    SearchHit,
    SearchKind,
    SearchResults,
)
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.services import search as service
from tenure.services.contacts import ContactView

router = APIRouter(route_class=OneHopRoute, prefix="/search", tags=["search"])

Q = Annotated[str, Query(min_length=1, max_length=200, pattern=NO_NUL)]


@router.get("", response_model=SearchResults)
def search(
    ctx: CtxDep,
    q: Q,
    kind: SearchKind | None = None,
    contact_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> SearchResults:
    """Full text over interactions (subject and body), knowledge, notes on contacts and cases,
    best first (bm25 on SQLite, ts_rank on PostgreSQL), each with a snippet. Every word must
    match the start of a word (accents and case aside). `kind=contact` answers the contact
    search in the same shape. One ranked page: no cursor."""
    results = service.search(ctx, q, kind=kind, contact_id=contact_id, limit=limit)
    return SearchResults(items=[SearchHit.model_validate(r) for r in results])


@router.get("/contacts", response_model=ContactSearchResults)
def search_contacts(
    ctx: CtxDep,
    q: Q,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> ContactSearchResults:
    """The one search box over contacts: name, emails, phones, organizations and tags. Every
    word matches the start of a word, accents and case aside; names also match with typos
    (those rank below exact matches). One ranked page: no cursor."""
    today = ctx.today
    hits = [
        {
            "contact": contact_fields(ContactView(r.contact), today, detail=False),
            "score": r.score,
            "matched": r.matched,
        }
        for r in service.search_contacts(ctx, q, limit=limit)
    ]
    # Validated in one call, as the contact list is (see ``contact_page``).
    return ContactSearchResults.model_validate({"items": hits})
