"""Knowledge, commitments, the brief, health and workspace settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from tenure.api.deps import CtxDep, ExpectedVersion, etag
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.common import AwareDatetime
from tenure.api.schemas.continuity import (
    CommitmentCreate,
    CommitmentPage,
    CommitmentRead,
    CommitmentUpdate,
    ContributionRead,
    HealthRead,
    KnowledgeCreate,
    KnowledgeList,
    KnowledgeRead,
    KnowledgeUpdate,
    ResolutionBody,
    RetireBody,
    SettingsRead,
    SettingsUpdate,
    SnapshotRead,
)
from tenure.db.models import Commitment
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.domain.brief import Brief, render_markdown
from tenure.domain.commitments import CommitmentAction, CommitmentStatus, is_overdue
from tenure.services import brief, commitments, health, knowledge, workspace_settings
from tenure.services.context import Ctx
from tenure.services.knowledge import EntryView

router = APIRouter(route_class=OneHopRoute, tags=["continuity"])


# --- knowledge -------------------------------------------------------------------------------


def _knowledge(view: EntryView) -> KnowledgeRead:
    read = KnowledgeRead.model_validate(view.entry)
    read.stale = view.stale
    return read


@router.post("/contacts/{contact_id}/knowledge", response_model=KnowledgeRead, status_code=201)
def add_knowledge(contact_id: int, body: KnowledgeCreate, ctx: CtxDep) -> KnowledgeRead:
    """Record a preference, expectation, fact or do-not."""
    entry = knowledge.add(ctx, contact_id, **body.model_dump())
    return _knowledge(EntryView(entry, False))


@router.get("/contacts/{contact_id}/knowledge", response_model=KnowledgeList)
def list_knowledge(
    contact_id: int,
    ctx: CtxDep,
    as_of: Annotated[AwareDatetime | None, Query(description="What was known then.")] = None,
) -> KnowledgeList:
    """Current entries (pinned first; stale ones flagged), or those current at `as_of`."""
    if as_of is not None:
        rows = knowledge.as_of(ctx, contact_id, as_of)
        return KnowledgeList(items=[KnowledgeRead.model_validate(e) for e in rows], as_of=as_of)
    return KnowledgeList(items=[_knowledge(v) for v in knowledge.current(ctx, contact_id)])


@router.get("/knowledge/{entry_id}", response_model=KnowledgeRead)
def get_knowledge(entry_id: int, ctx: CtxDep) -> KnowledgeRead:
    return _knowledge(knowledge.get(ctx, entry_id))


@router.patch("/knowledge/{entry_id}", response_model=KnowledgeRead)
def edit_knowledge(entry_id: int, body: KnowledgeUpdate, ctx: CtxDep) -> KnowledgeRead:
    """Edit the current version: a new version supersedes it (answered here); editing an old
    version is refused (409)."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    return _knowledge(EntryView(knowledge.edit(ctx, entry_id, changes=changes), False))


@router.post("/knowledge/{entry_id}/confirm", response_model=KnowledgeRead)
def confirm_knowledge(entry_id: int, ctx: CtxDep) -> KnowledgeRead:
    """Still true: resets its staleness."""
    return _knowledge(EntryView(knowledge.confirm(ctx, entry_id), False))


@router.post("/knowledge/{entry_id}/retire", response_model=KnowledgeRead)
def retire_knowledge(entry_id: int, ctx: CtxDep, body: RetireBody | None = None) -> KnowledgeRead:
    """No longer true (kept in the history)."""
    entry = knowledge.retire(ctx, entry_id, reason=body.reason if body else "")
    return _knowledge(EntryView(entry, False))


@router.get("/knowledge/{entry_id}/versions", response_model=KnowledgeList)
def knowledge_versions(entry_id: int, ctx: CtxDep) -> KnowledgeList:
    """Every version of the entry, oldest first."""
    rows = knowledge.versions(ctx, entry_id)
    return KnowledgeList(items=[KnowledgeRead.model_validate(e) for e in rows])


# --- commitments -----------------------------------------------------------------------------


def _commitment(ctx: Ctx, row: Commitment, response: Response | None = None) -> CommitmentRead:
    read = CommitmentRead.model_validate(row)
    read.overdue = is_overdue(CommitmentStatus(row.status), row.due_on, ctx.today)
    if response is not None:
        response.headers["ETag"] = etag(row.version)
    return read


@router.post("/contacts/{contact_id}/commitments", response_model=CommitmentRead, status_code=201)
def make_commitment(
    contact_id: int, body: CommitmentCreate, ctx: CtxDep, response: Response
) -> CommitmentRead:
    """Record a promise made to the client."""
    return _commitment(ctx, commitments.make(ctx, contact_id, **body.model_dump()), response)


def _page(ctx: Ctx, **kwargs: object) -> CommitmentPage:
    page = commitments.list_commitments(ctx, **kwargs)  # type: ignore[arg-type]
    return CommitmentPage(
        items=[_commitment(ctx, c) for c in page.items], next_cursor=page.next_cursor
    )


@router.get("/contacts/{contact_id}/commitments", response_model=CommitmentPage)
def contact_commitments(
    contact_id: int,
    ctx: CtxDep,
    status: CommitmentStatus | None = None,
    overdue: bool = False,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> CommitmentPage:
    return _page(
        ctx,
        contact_id=contact_id,
        status=status.value if status else None,
        overdue=overdue,
        cursor=cursor,
        limit=limit,
    )


@router.get("/commitments", response_model=CommitmentPage)
def list_commitments(
    ctx: CtxDep,
    status: CommitmentStatus | None = None,
    overdue: Annotated[
        bool, Query(description="Only open commitments past their due date")
    ] = False,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> CommitmentPage:
    return _page(
        ctx, status=status.value if status else None, overdue=overdue, cursor=cursor, limit=limit
    )


@router.get("/commitments/{commitment_id}", response_model=CommitmentRead)
def get_commitment(commitment_id: int, ctx: CtxDep, response: Response) -> CommitmentRead:
    return _commitment(ctx, commitments.get(ctx, commitment_id), response)


@router.patch("/commitments/{commitment_id}", response_model=CommitmentRead)
def update_commitment(
    commitment_id: int,
    body: CommitmentUpdate,
    ctx: CtxDep,
    version: ExpectedVersion,
    response: Response,
) -> CommitmentRead:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    row = commitments.update(ctx, commitment_id, expected_version=version, changes=changes)
    return _commitment(ctx, row, response)


def _resolution(action: CommitmentAction, doc: str) -> None:
    @router.post(
        f"/commitments/{{commitment_id}}/{action.value}",
        response_model=CommitmentRead,
        summary=doc,
        name=f"commitment_{action.value}",
    )
    def handler(
        commitment_id: int, ctx: CtxDep, response: Response, body: ResolutionBody | None = None
    ) -> CommitmentRead:
        row = commitments.resolve(ctx, commitment_id, action, note=body.note if body else "")
        return _commitment(ctx, row, response)


for _action, _doc in (
    (CommitmentAction.KEEP, "open → kept"),
    (CommitmentAction.BREAK, "open → broken"),
    (CommitmentAction.CANCEL, "open → cancelled"),
):
    _resolution(_action, _doc)


# --- brief and health ------------------------------------------------------------------------


@router.get(
    "/contacts/{contact_id}/brief",
    response_model=Brief,
    responses={200: {"content": {"text/markdown": {}}}},
)
def contact_brief(
    contact_id: int, ctx: CtxDep, accept: Annotated[str | None, Header()] = None
) -> Brief | Response:
    """Everything to know before talking to this client: JSON, or Markdown with
    `Accept: text/markdown`."""
    result = brief.build(ctx, contact_id)
    if accept and "text/markdown" in accept:
        return Response(render_markdown(result), media_type="text/markdown; charset=utf-8")
    return result


@router.get("/contacts/{contact_id}/health", response_model=HealthRead)
def contact_health(
    contact_id: int, ctx: CtxDep, days: Annotated[int, Query(ge=1, le=3660)] = 365
) -> HealthRead:
    """The current score with its contributions, and the daily history."""
    _, current = health.current(ctx, contact_id)
    history = health.history(ctx, contact_id, days=days)
    return HealthRead(
        contact_id=contact_id,
        score=current.score if current else None,
        band=current.band if current else None,
        contributions=[ContributionRead(**c.as_dict()) for c in current.contributions]
        if current
        else [],
        history=[SnapshotRead(day=h.day, score=h.score) for h in history],
    )


# --- settings --------------------------------------------------------------------------------


@router.get("/settings", response_model=SettingsRead, tags=["settings"])
def read_settings(ctx: CtxDep) -> SettingsRead:
    return SettingsRead(**workspace_settings.read(ctx).as_dict())


@router.patch("/settings", response_model=SettingsRead, tags=["settings"])
def update_settings(body: SettingsUpdate, ctx: CtxDep) -> SettingsRead:
    """Owners and admins: cadence defaults, stale-knowledge age, health weights, horizon."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    return SettingsRead(**workspace_settings.update(ctx, changes).as_dict())
