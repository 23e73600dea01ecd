"""/health, /me and the problem-type documentation."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from tenure import __version__
from tenure.api.deps import CtxDep
from tenure.api.errors import EDGE_PROBLEMS
from tenure.api.routing import OneHopRoute
from tenure.domain.errors import all_error_types

router = APIRouter(route_class=OneHopRoute, tags=["meta"])


class Health(BaseModel):
    status: str
    version: str
    database: str


class ProblemType(BaseModel):
    code: str
    title: str
    description: str


class Me(BaseModel):
    user_id: int | None
    workspace_id: int
    role: str
    timezone: str


@router.get("/health", response_model=Health)
def health(request: Request) -> Health:
    """Liveness and database reachability; no authentication."""
    with request.app.state.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__, database=request.app.state.engine.dialect.name)


@router.get("/me", response_model=Me)
def me(ctx: CtxDep) -> Me:
    return Me(
        user_id=ctx.user_id,
        workspace_id=ctx.workspace_id,
        role=ctx.role.value,
        timezone=ctx.workspace_timezone,
    )


def _problem_types() -> list[ProblemType]:
    types = {
        e.code: ProblemType(code=e.code, title=e.title, description=e.doc)
        for e in all_error_types()
    }
    for code, (title, description) in EDGE_PROBLEMS.items():
        types.setdefault(code, ProblemType(code=code, title=title, description=description))
    return sorted(types.values(), key=lambda t: t.code)


@router.get("/problems", response_model=list[ProblemType])
def problem_types() -> list[ProblemType]:
    """Every problem `type` this API answers with."""
    return _problem_types()


@router.get("/problems/{code}", response_model=ProblemType)
def problem_type(code: str) -> ProblemType:
    for problem in _problem_types():
        if problem.code == code:
            return problem
    from tenure.domain.errors import NotFound

    raise NotFound(f"no problem type {code!r}")
