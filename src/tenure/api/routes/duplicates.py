"""/duplicates, /contacts/{id}/duplicates and /contacts/{id}/merge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tenure.api.deps import CtxDep, etag
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.contacts import contact_read
from tenure.api.schemas.search import (
    ContactBrief,
    DuplicateList,
    DuplicatePage,
    DuplicateRead,
    MergeRead,
    MergeRequest,
    Reason,
)
from tenure.db.models import Contact
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.services import contacts as contact_service
from tenure.services import duplicates as service

router = APIRouter(route_class=OneHopRoute, tags=["duplicates"])

MinScore = Annotated[int, Query(ge=0, le=100, description="Only pairs scoring at least this.")]


def _brief(c: Contact) -> ContactBrief:
    return ContactBrief(
        id=c.id,
        kind=c.kind,
        display_name=c.display_name,
        stage=c.stage,
        emails=[e["email"] for e in c.emails],
        phones=[p["number"] for p in c.phones],
    )


def _read(pair: service.DuplicatePair) -> DuplicateRead:
    return DuplicateRead(
        a=_brief(pair.a),
        b=_brief(pair.b),
        score=pair.score,
        reasons=[Reason(**r) for r in pair.reasons],
    )


@router.get("/duplicates", response_model=DuplicatePage)
def list_duplicates(
    ctx: CtxDep,
    min_score: MinScore = service.DEFAULT_MIN_SCORE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> DuplicatePage:
    """Likely duplicate contacts of the workspace, each pair with a 0-100 score and its
    reasons. Only contacts sharing a blocking key (email, phone, name, family name with a
    domain or an initial, organization) are compared. Pages follow the blocking keys and each
    is sorted by score; the work per request is bounded, so a page can be short (even empty)
    while `next_cursor` says there is more."""
    page = service.find_all(ctx, min_score=min_score, cursor=cursor, limit=limit)
    return DuplicatePage(items=[_read(p) for p in page.items], next_cursor=page.next_cursor)


@router.get("/contacts/{contact_id}/duplicates", response_model=DuplicateList)
def contact_duplicates(
    contact_id: int,
    ctx: CtxDep,
    min_score: MinScore = service.DEFAULT_MIN_SCORE,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> DuplicateList:
    """This contact's likely duplicates, best first (`a` is always this contact)."""
    pairs = service.find_for_contact(ctx, contact_id, min_score=min_score, limit=limit)
    return DuplicateList(items=[_read(p) for p in pairs])


@router.post("/contacts/{contact_id}/merge", response_model=MergeRead)
def merge(contact_id: int, body: MergeRequest, ctx: CtxDep, response: Response) -> MergeRead:
    """Merge `other_id` into this contact, in one transaction: chosen field values, united
    emails, phones, tags and organizations, and every record of the other moved here
    (timeline, interactions, knowledge, agreements, transitions, commitments, activities,
    schedules, deliveries, cases, external ids, email log …). Two lifecycle histories become
    one by uniting their client spells. `contact.merged` is recorded on this timeline. The
    other contact then answers 410 `contact-merged` with `details.merged_into`. Members and
    above may merge; a refused merge changes nothing."""
    fields = {str(name): str(pick) for name, pick in body.fields.items()}
    result = service.merge(ctx, contact_id, other_id=body.other_id, fields=fields)
    view = contact_service.get_contact(ctx, result.survivor.id)
    response.headers["ETag"] = etag(view.contact.version)
    return MergeRead(
        survivor=contact_read(view, ctx.today),
        other_id=result.other_id,
        fields=result.fields,
        moved=result.moved,
    )
