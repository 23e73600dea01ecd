"""/contacts/{id}/interactions and /contacts/{id}/timeline"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tenure.api.deps import CtxDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.timeline import EventPage, InteractionCreate, InteractionRead
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.services import interactions, timeline

router = APIRouter(route_class=OneHopRoute, tags=["timeline"])


@router.post("/contacts/{contact_id}/interactions", response_model=InteractionRead, status_code=201)
def log_interaction(
    contact_id: int, body: InteractionCreate, ctx: CtxDep, response: Response
) -> InteractionRead:
    interaction = interactions.log_interaction(ctx, contact_id, **body.model_dump())
    response.headers["Location"] = f"/api/v1/interactions/{interaction.id}"
    return InteractionRead.model_validate(interaction)


@router.get("/interactions/{interaction_id}", response_model=InteractionRead)
def get_interaction(interaction_id: int, ctx: CtxDep) -> InteractionRead:
    return InteractionRead.model_validate(interactions.get_interaction(ctx, interaction_id))


@router.get("/contacts/{contact_id}/timeline", response_model=EventPage)
def contact_timeline(
    contact_id: int,
    ctx: CtxDep,
    type: Annotated[list[str] | None, Query(description="Only these event types")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> EventPage:
    """Everything that happened with the contact, newest first."""
    page = timeline.page(ctx, contact_id=contact_id, types=type, cursor=cursor, limit=limit)
    # One validation call for the page (pydantic reads the rows' attributes in Rust), not one
    # per event from Python.
    return EventPage.model_validate(
        {"items": page.items, "next_cursor": page.next_cursor}, from_attributes=True
    )
