"""/rules, /rule-runs, /playbooks, /contacts/{id}/playbooks and /playbook-runs.

Owners and admins write rules and playbooks; members start and cancel playbook runs; every
role reads, and every role may simulate (a dry run changes nothing).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from tenure.api.deps import CtxDep, ExpectedVersion, etag
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.rules import (
    DefaultsInstalled,
    PlaybookCancel,
    PlaybookCreate,
    PlaybookPage,
    PlaybookRead,
    PlaybookRunList,
    PlaybookRunRead,
    PlaybookStart,
    PlaybookUpdate,
    RuleCreate,
    RuleDraft,
    RulePage,
    RuleRead,
    RuleRunPage,
    RuleRunRead,
    RuleUpdate,
    SimulationRead,
    StepProgressRead,
)
from tenure.db.repositories.pagination import MAX_LIMIT, Page
from tenure.services import playbooks, rules

router = APIRouter(route_class=OneHopRoute, tags=["automation"])

Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
TriggerType = Literal["event", "date", "inactivity", "recurrence"]
Outcome = Literal["done", "failed", "skipped"]


def _rule(row: object, response: Response) -> RuleRead:
    read = RuleRead.model_validate(row)
    response.headers["ETag"] = etag(read.version)
    return read


def _playbook(row: object, response: Response) -> PlaybookRead:
    read = PlaybookRead.model_validate(row)
    response.headers["ETag"] = etag(read.version)
    return read


def _run(view: playbooks.RunView) -> PlaybookRunRead:
    run = view.run
    return PlaybookRunRead(
        id=run.id,
        playbook_id=run.playbook_id,
        playbook_name=view.playbook_name,
        contact_id=run.contact_id,
        status=run.status,
        started_at=run.started_at,
        started_by_rule_id=run.started_by_rule_id,
        finished_at=run.finished_at,
        stop_reason=run.stop_reason,
        steps=[StepProgressRead.model_validate(step) for step in view.steps],
    )


def _runs_page(page: Page) -> RuleRunPage:
    return RuleRunPage(
        items=[RuleRunRead.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )


# --- rules -----------------------------------------------------------------------------------


@router.get("/rules", response_model=RulePage)
def list_rules(
    ctx: CtxDep,
    enabled: bool | None = None,
    trigger_type: TriggerType | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> RulePage:
    page = rules.list_rules(
        ctx, enabled=enabled, trigger_type=trigger_type, cursor=cursor, limit=limit
    )
    return RulePage(
        items=[RuleRead.model_validate(r) for r in page.items], next_cursor=page.next_cursor
    )


@router.post("/rules", response_model=RuleRead, status_code=201)
def create_rule(body: RuleCreate, ctx: CtxDep, response: Response) -> RuleRead:
    """A new rule: when the trigger happens and the conditions hold, do the actions."""
    row = rules.create_rule(ctx, **body.model_dump())
    response.headers["Location"] = f"/api/v1/rules/{row.id}"
    return _rule(row, response)


@router.post("/rules/simulate", response_model=SimulationRead)
def simulate_draft(body: RuleDraft, ctx: CtxDep, limit: Limit = 50) -> SimulationRead:
    """What an unsaved rule would do on the current data. Changes nothing."""
    return SimulationRead.model_validate(rules.simulate(ctx, draft=body.model_dump(), limit=limit))


@router.post("/rules/install-defaults", response_model=DefaultsInstalled)
def install_defaults(ctx: CtxDep) -> DefaultsInstalled:
    """Add the shipped default rules and onboarding playbook that are missing (never twice)."""
    return DefaultsInstalled.model_validate(rules.install_defaults(ctx))


@router.get("/rules/{rule_id}", response_model=RuleRead)
def get_rule(rule_id: int, ctx: CtxDep, response: Response) -> RuleRead:
    return _rule(rules.get_rule(ctx, rule_id), response)


@router.patch("/rules/{rule_id}", response_model=RuleRead)
def update_rule(
    rule_id: int, body: RuleUpdate, ctx: CtxDep, version: ExpectedVersion, response: Response
) -> RuleRead:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    row = rules.update_rule(ctx, rule_id, expected_version=version, changes=changes)
    return _rule(row, response)


@router.post("/rules/{rule_id}/enable", response_model=RuleRead)
def enable_rule(rule_id: int, ctx: CtxDep, response: Response) -> RuleRead:
    """Switch a rule on; a time-based rule acts on what comes due from now on."""
    return _rule(rules.set_enabled(ctx, rule_id, True), response)


@router.post("/rules/{rule_id}/disable", response_model=RuleRead)
def disable_rule(rule_id: int, ctx: CtxDep, response: Response) -> RuleRead:
    return _rule(rules.set_enabled(ctx, rule_id, False), response)


@router.post("/rules/{rule_id}/simulate", response_model=SimulationRead)
def simulate_rule(rule_id: int, ctx: CtxDep, limit: Limit = 50) -> SimulationRead:
    """What the rule would do now: each due occurrence (or recent event of its type), whether
    its conditions hold, and each action's details. Changes nothing."""
    return SimulationRead.model_validate(rules.simulate(ctx, rule_id, limit=limit))


@router.get("/rules/{rule_id}/runs", response_model=RuleRunPage)
def rule_runs(
    rule_id: int,
    ctx: CtxDep,
    outcome: Outcome | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> RuleRunPage:
    """This rule's runs, newest first."""
    page = rules.list_runs(ctx, rule_id=rule_id, outcome=outcome, cursor=cursor, limit=limit)
    return _runs_page(page)


@router.get("/rule-runs", response_model=RuleRunPage)
def all_rule_runs(
    ctx: CtxDep,
    rule_id: int | None = None,
    contact_id: int | None = None,
    outcome: Outcome | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> RuleRunPage:
    """Every rule run, newest first: what automation did, for whom, and what failed."""
    page = rules.list_runs(
        ctx,
        rule_id=rule_id,
        contact_id=contact_id,
        outcome=outcome,
        cursor=cursor,
        limit=limit,
    )
    return _runs_page(page)


# --- playbooks -------------------------------------------------------------------------------


@router.get("/playbooks", response_model=PlaybookPage)
def list_playbooks(ctx: CtxDep, cursor: Cursor = None, limit: Limit = 50) -> PlaybookPage:
    page = playbooks.list_playbooks(ctx, cursor=cursor, limit=limit)
    return PlaybookPage(
        items=[PlaybookRead.model_validate(p) for p in page.items], next_cursor=page.next_cursor
    )


@router.post("/playbooks", response_model=PlaybookRead, status_code=201)
def create_playbook(body: PlaybookCreate, ctx: CtxDep, response: Response) -> PlaybookRead:
    row = playbooks.create_playbook(ctx, **body.model_dump())
    response.headers["Location"] = f"/api/v1/playbooks/{row.id}"
    return _playbook(row, response)


@router.get("/playbooks/{playbook_id}", response_model=PlaybookRead)
def get_playbook(playbook_id: int, ctx: CtxDep, response: Response) -> PlaybookRead:
    return _playbook(playbooks.get_playbook(ctx, playbook_id), response)


@router.patch("/playbooks/{playbook_id}", response_model=PlaybookRead)
def update_playbook(
    playbook_id: int,
    body: PlaybookUpdate,
    ctx: CtxDep,
    version: ExpectedVersion,
    response: Response,
) -> PlaybookRead:
    """Runs already started keep the steps they started with."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    row = playbooks.update_playbook(ctx, playbook_id, expected_version=version, changes=changes)
    return _playbook(row, response)


@router.delete("/playbooks/{playbook_id}", status_code=204)
def delete_playbook(playbook_id: int, ctx: CtxDep) -> Response:
    """Only a playbook that never ran and that no rule starts; otherwise disable it."""
    playbooks.delete_playbook(ctx, playbook_id)
    return Response(status_code=204)


@router.post("/contacts/{contact_id}/playbooks", response_model=PlaybookRunRead, status_code=201)
def start_playbook(
    contact_id: int, body: PlaybookStart, ctx: CtxDep, response: Response
) -> PlaybookRunRead:
    """Start a playbook for this contact: its steps follow on their days."""
    run = playbooks.start(ctx, playbook_id=body.playbook_id, contact_id=contact_id)
    response.headers["Location"] = f"/api/v1/playbook-runs/{run.id}"
    return _run(playbooks.get_run(ctx, run.id))


@router.get("/contacts/{contact_id}/playbooks", response_model=PlaybookRunList)
def contact_playbooks(contact_id: int, ctx: CtxDep) -> PlaybookRunList:
    """The contact's playbook runs, newest first, with each step's progress."""
    return PlaybookRunList(items=[_run(v) for v in playbooks.runs_of_contact(ctx, contact_id)])


@router.get("/playbook-runs/{run_id}", response_model=PlaybookRunRead)
def get_playbook_run(run_id: int, ctx: CtxDep) -> PlaybookRunRead:
    return _run(playbooks.get_run(ctx, run_id))


@router.post("/playbook-runs/{run_id}/cancel", response_model=PlaybookRunRead)
def cancel_playbook_run(
    run_id: int, ctx: CtxDep, body: PlaybookCancel | None = None
) -> PlaybookRunRead:
    """Stop a running playbook; the steps still to come do nothing."""
    playbooks.cancel(ctx, run_id, reason=body.reason if body else "")
    return _run(playbooks.get_run(ctx, run_id))
