"""Playbooks with a real worker: steps on their days, never repeated (reruns, a worker dying
mid-step), progress per client, stopped when the relationship ends, cancelled by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tenure.db.models import Job, PlaybookRun, TimelineEvent
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.errors import (
    Conflict,
    DuplicateValue,
    InvalidInput,
    InvalidTransition,
    PermissionDenied,
)
from tenure.domain.lifecycle import EndReason
from tenure.services import jobs, lifecycle, playbooks
from tenure.worker.registry import load_handlers
from tenure.worker.runner import Worker, WorkerConfig
from tests.factories.automation import (
    START,
    Clock,
    activities_titled,
    client,
    contact,
    count,
    jobs_of,
    make_rule,
    run_worker,
    work,
)

STEPS = [
    {
        "day": 0,
        "name": "Welcome",
        "action": {"type": "create_activity", "title": "Welcome {contact.display_name}"},
    },
    {
        "day": 3,
        "name": "Kickoff",
        "action": {"type": "create_activity", "kind": "call", "title": "Kickoff"},
    },
    {"day": 30, "name": "Review", "action": {"type": "add_tag", "tag": "onboarded"}},
]


def make_playbook(tenant: Any, clock: Clock, steps: list[dict[str, Any]] = STEPS, **kw: Any) -> int:
    with work(tenant, clock) as ctx:
        return playbooks.create_playbook(
            ctx, name=kw.pop("name", "Onboarding"), steps=steps, **kw
        ).id


def start(
    tenant: Any, clock: Clock, playbook_id: int, contact_id: int, role: Role = Role.MEMBER
) -> int:
    with work(tenant, clock, role) as ctx:
        return playbooks.start(ctx, playbook_id=playbook_id, contact_id=contact_id).id


def progress(tenant: Any, clock: Clock, contact_id: int) -> list[tuple[str, list[str]]]:
    with work(tenant, clock, Role.VIEWER) as ctx:
        views = playbooks.runs_of_contact(ctx, contact_id)
        return [(v.run.status, [s.state for s in v.steps]) for v in views]


def test_steps_run_on_their_days_once_and_progress_is_visible(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    book = make_playbook(tenant, clock)
    ada, _ = client(tenant, clock, "Ada")
    run_id = start(tenant, clock, book, ada)
    steps = jobs_of(tenant, "playbook.step")
    assert [j.key for j in steps] == [f"playbook-step:{run_id}:{i}" for i in range(3)]
    assert [j.run_at for j in steps] == [
        START,
        START + timedelta(days=3),
        START + timedelta(days=30),
    ]

    run_worker(tenant, clock)
    run_worker(tenant, clock)  # a second pass the same day does nothing more
    assert [a.title for a in activities_titled(tenant, "Welcome")] == ["Welcome Ada"]
    assert progress(tenant, clock, ada) == [("running", ["done", "pending", "pending"])]

    clock.move(days=3)
    run_worker(tenant, clock)
    assert len(activities_titled(tenant, "Kickoff")) == 1
    clock.move(days=27)
    run_worker(tenant, clock)
    run_worker(tenant, clock)
    assert progress(tenant, clock, ada) == [("completed", ["done", "done", "done"])]
    assert len(activities_titled(tenant, "Welcome")) == 1
    assert len(activities_titled(tenant, "Kickoff")) == 1
    with tenant.db.session() as s:
        run = s.get_one(PlaybookRun, run_id)
        assert run.steps_done == [0, 1, 2] and run.finished_at == clock.now
    with work(tenant, clock, Role.VIEWER) as ctx:
        [view] = playbooks.runs_of_contact(ctx, ada)
        assert view.playbook_name == "Onboarding"
        assert [s.name for s in view.steps] == ["Welcome", "Kickoff", "Review"]
        assert view.steps[2].due_at == START + timedelta(days=30)


def test_a_step_is_never_repeated_when_its_job_runs_again_or_is_enqueued_again(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    book = make_playbook(tenant, clock)
    ada, _ = client(tenant, clock, "Ada")
    run_id = start(tenant, clock, book, ada)
    run_worker(tenant, clock)
    # the same step handed over again (a retried job, a duplicate enqueue): nothing happens
    with work(tenant, clock) as ctx:
        step = jobs_of(tenant, "playbook.step")[0]
        assert playbooks.run_step(ctx, step.payload) == {"skipped": "done already"}
        assert jobs.enqueue(ctx, "playbook.step", step.payload, key=step.key) is None
    assert len(activities_titled(tenant, "Welcome")) == 1
    assert progress(tenant, clock, ada)[0][1][0] == "done"
    assert run_id


class Crash(BaseException):
    """A worker dying mid-step: not an error the worker handles, its transaction never commits."""


def test_a_worker_killed_mid_step_leaves_nothing_and_the_rerun_does_it_once(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    book = make_playbook(tenant, clock)
    ada, _ = client(tenant, clock, "Ada")
    start(tenant, clock, book, ada)
    handlers = dict(load_handlers())
    real_step = handlers["playbook.step"]

    def dies_after_the_effect(ctx, payload):  # type: ignore[no-untyped-def]
        real_step(ctx, payload)  # the activity is created in the job's transaction …
        raise Crash  # … and the process dies before it commits

    dying = Worker(
        tenant.db.engine,
        WorkerConfig(worker_id="dying", lease_seconds=30),
        handlers={**handlers, "playbook.step": dies_after_the_effect},
        clock=clock,
    )
    with pytest.raises(Crash):
        dying.run_until_idle()
    assert activities_titled(tenant, "Welcome") == []
    [held] = [j for j in jobs_of(tenant, "playbook.step") if j.status == "running"]
    assert held.locked_by == "dying"

    clock.move(seconds=31)  # the lease ran out: another worker takes the job over
    Worker(tenant.db.engine, WorkerConfig(worker_id="heir"), clock=clock).run_until_idle()
    Worker(tenant.db.engine, WorkerConfig(worker_id="heir2"), clock=clock).run_until_idle()
    assert len(activities_titled(tenant, "Welcome")) == 1
    assert progress(tenant, clock, ada) == [("running", ["done", "pending", "pending"])]


def test_a_playbook_stops_when_the_relationship_ends(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    book = make_playbook(tenant, clock)
    ada, _ = client(tenant, clock, "Ada")
    run_id = start(tenant, clock, book, ada)
    run_worker(tenant, clock)
    clock.move(days=1)
    with work(tenant, clock) as ctx:
        lifecycle.end(ctx, ada, reason=EndReason.MOVED)
    with tenant.db.session() as s:
        run = s.get_one(PlaybookRun, run_id)
        assert run.status == "stopped" and run.stop_reason == "relationship ended: moved"
        assert run.finished_at == clock.now
    clock.move(days=40)
    run_worker(tenant, clock)
    assert activities_titled(tenant, "Kickoff") == []
    assert progress(tenant, clock, ada) == [("stopped", ["done", "skipped", "skipped"])]
    results = [j.result for j in jobs_of(tenant, "playbook.step")]
    assert results[1:] == [{"skipped": "the run is stopped"}] * 2


def test_members_start_and_cancel_runs_viewers_only_read(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    book = make_playbook(tenant, clock)
    ada, _ = client(tenant, clock, "Ada")
    with pytest.raises(PermissionDenied):
        start(tenant, clock, book, ada, role=Role.VIEWER)
    run_id = start(tenant, clock, book, ada, role=Role.MEMBER)
    with pytest.raises(Conflict, match="already running"):
        start(tenant, clock, book, ada)
    with pytest.raises(PermissionDenied), work(tenant, clock, Role.MEMBER) as ctx:
        playbooks.create_playbook(ctx, name="Mine", steps=STEPS)
    with work(tenant, clock, Role.MEMBER) as ctx:
        run = playbooks.cancel(ctx, run_id, reason="client asked")
        assert run.status == "cancelled" and run.stop_reason == "client asked"
    with pytest.raises(InvalidTransition), work(tenant, clock) as ctx:
        playbooks.cancel(ctx, run_id)
    run_worker(tenant, clock)
    assert activities_titled(tenant, "Welcome") == []
    assert progress(tenant, clock, ada) == [("cancelled", ["skipped", "skipped", "skipped"])]
    start(tenant, clock, book, ada)  # after a cancel it can run again


def test_edits_to_a_playbook_do_not_change_runs_already_started(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    book = make_playbook(tenant, clock)
    ada, _ = client(tenant, clock, "Ada")
    start(tenant, clock, book, ada)
    with work(tenant, clock) as ctx:
        playbooks.update_playbook(
            ctx,
            book,
            expected_version=1,
            changes={"steps": [{"day": 0, "action": {"type": "add_tag", "tag": "changed"}}]},
        )
    clock.move(days=3)
    run_worker(tenant, clock)
    assert len(activities_titled(tenant, "Kickoff")) == 1
    assert progress(tenant, clock, ada) == [("running", ["done", "done", "pending"])]


def test_a_step_that_keeps_failing_dies_visibly_and_the_others_go_on(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    book = make_playbook(
        tenant,
        clock,
        steps=[
            {"day": 0, "action": {"type": "end_relationship", "reason": "other"}},
            {"day": 0, "action": {"type": "create_activity", "title": "Still here"}},
        ],
    )
    prospect = contact(tenant, clock, "Prospect")  # not a client: ending fails
    start(tenant, clock, book, prospect)
    for _ in range(4):
        run_worker(tenant, clock)
        clock.move(hours=2)  # past each retry's backoff
    assert len(activities_titled(tenant, "Still here")) == 1
    with work(tenant, clock, Role.VIEWER) as ctx:
        [view] = playbooks.runs_of_contact(ctx, prospect)
    assert [s.state for s in view.steps] == ["failed", "done"]
    assert "only a client" in view.steps[0].error
    assert view.run.status == "running"  # a dead step is for a person to look at


def test_a_rule_starts_a_playbook_once_per_conversion(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    book = make_playbook(tenant, clock)
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "event", "event": "contact.converted"},
        actions=[{"type": "start_playbook", "playbook_id": book}],
    )
    ada, _ = client(tenant, clock, "Ada")
    run_worker(tenant, clock)
    run_worker(tenant, clock)
    with tenant.db.session() as s:
        [run] = s.scalars(select(PlaybookRun)).all()
        assert run.started_by_rule_id == rule_id and run.contact_id == ada
    assert len(activities_titled(tenant, "Welcome Ada")) == 1
    # the step's activity carries the run on its timeline event
    from tenure.db.models import TimelineEvent

    with tenant.db.session() as s:
        event = s.scalars(
            select(TimelineEvent).where(TimelineEvent.type == "activity.created")
        ).one()
        assert event.data["automation"]["playbook_run_id"] == run.id


def test_playbooks_are_validated_unique_and_deleted_only_when_unused(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    with pytest.raises(InvalidInput) as exc, work(tenant, clock) as ctx:
        playbooks.create_playbook(
            ctx,
            name=" ",
            steps=[{"day": 1, "action": {"type": "start_playbook", "playbook_id": 404}}],
        )
    assert {e.field: e.rule for e in exc.value.errors} == {
        "name": "required",
        "steps[0].action.playbook_id": "exists",
    }
    book = make_playbook(tenant, clock)
    with pytest.raises(DuplicateValue):
        make_playbook(tenant, clock)
    unused = make_playbook(tenant, clock, name="Unused")
    used_by_rule = make_playbook(tenant, clock, name="Ruled")
    make_rule(
        tenant,
        clock,
        trigger={"type": "event", "event": "contact.converted"},
        actions=[{"type": "start_playbook", "playbook_id": used_by_rule}],
    )
    ada, _ = client(tenant, clock, "Ada")
    start(tenant, clock, book, ada)
    with work(tenant, clock) as ctx:
        playbooks.delete_playbook(ctx, unused)
    with pytest.raises(Conflict, match="has runs"), work(tenant, clock) as ctx:
        playbooks.delete_playbook(ctx, book)
    with pytest.raises(Conflict, match="use this playbook"), work(tenant, clock) as ctx:
        playbooks.delete_playbook(ctx, used_by_rule)
    with work(tenant, clock) as ctx:
        names = [p.name for p in playbooks.list_playbooks(ctx).items]
        assert names == ["Onboarding", "Ruled"]
        playbooks.update_playbook(ctx, book, expected_version=1, changes={"enabled": False})
    with pytest.raises(Conflict, match="disabled"):
        start(tenant, clock, book, client(tenant, clock, "Bea")[0])
    assert count(tenant, Job, Job.kind == "playbook.step") == 3


def test_jobs_of_a_rolled_back_start_never_exist(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    book = make_playbook(tenant, clock)
    ada, _ = client(tenant, clock, "Ada")
    with pytest.raises(RuntimeError), unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        ctx.now = clock.now
        playbooks.start(ctx, playbook_id=book, contact_id=ada)
        raise RuntimeError("the request failed")
    assert count(tenant, PlaybookRun) == 0
    assert jobs_of(tenant, "playbook.step") == []


def playbook_events(tenant: Any, contact_id: int) -> list[tuple[str, int | None, str]]:
    with tenant.db.session() as s:
        rows = s.execute(
            select(TimelineEvent.type, TimelineEvent.subject_id, TimelineEvent.summary)
            .where(TimelineEvent.contact_id == contact_id, TimelineEvent.type.like("playbook.%"))
            .order_by(TimelineEvent.id)
        ).all()
        return [(t, i, summary) for t, i, summary in rows]


def test_a_run_s_start_and_end_are_on_the_client_s_timeline(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    book = make_playbook(tenant, clock)
    ada, _ = client(tenant, clock, "Ada")
    bob, _ = client(tenant, clock, "Bob")
    cy, _ = client(tenant, clock, "Cy")
    done, cancelled, stopped = (start(tenant, clock, book, c) for c in (ada, bob, cy))
    with work(tenant, clock) as ctx:
        playbooks.cancel(ctx, cancelled, reason="client asked")
        lifecycle.end(ctx, cy, reason=EndReason.MOVED)
    clock.move(days=31)
    run_worker(tenant, clock)
    run_worker(tenant, clock)

    assert playbook_events(tenant, ada) == [
        ("playbook.started", done, "Playbook 'Onboarding' started (3 steps)"),
        ("playbook.completed", done, "Playbook 'Onboarding' completed"),
    ]
    assert playbook_events(tenant, bob) == [
        ("playbook.started", cancelled, "Playbook 'Onboarding' started (3 steps)"),
        ("playbook.cancelled", cancelled, "Playbook 'Onboarding' cancelled: client asked"),
    ]
    assert [e[:2] for e in playbook_events(tenant, cy)] == [
        ("playbook.started", stopped),
        ("playbook.stopped", stopped),
    ]
    # the event names the playbook, so rules and webhooks can tell runs apart
    with tenant.db.session() as s:
        data = s.scalars(
            select(TimelineEvent.data).where(TimelineEvent.type == "playbook.completed")
        ).all()
    assert [d["playbook"] for d in data] == ["Onboarding"]
