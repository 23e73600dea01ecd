"""Rules against the real database and a real worker: every trigger kind with a moved clock,
conditions, every action, loop protection, catch-up after downtime, failures, dry runs that
change nothing, and the shipped defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from tenure.config import get_settings
from tenure.db.models import (
    Case,
    Contact,
    EmailMessage,
    Job,
    Playbook,
    PlaybookRun,
    Rule,
    RuleRun,
    TimelineEvent,
    WebhookDelivery,
)
from tenure.domain.access import Role
from tenure.domain.errors import InvalidInput, PermissionDenied, PreconditionFailed
from tenure.services import contacts, deliveries, email, interactions, lifecycle, playbooks, rules
from tenure.services import webhooks as webhook_service
from tenure.services.interactions import Channel, Direction
from tests.api.helpers import workspace_rows
from tests.factories.automation import (
    START,
    Clock,
    activities_titled,
    client,
    contact,
    count,
    jobs_of,
    make_rule,
    row_counts,
    run_worker,
    runs_of,
    work,
)

CONVERTED = {"type": "event", "event": "contact.converted"}


def task(title: str, **extra: object) -> dict[str, object]:
    return {"type": "create_activity", "title": title, **extra}


def contact_row(tenant, contact_id: int) -> Contact:  # type: ignore[no-untyped-def]
    with tenant.db.session() as s:
        return s.get_one(Contact, contact_id)


# --- event triggers, conditions, records -----------------------------------------------------


def test_an_event_rule_fires_once_per_event_and_records_the_run(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    rule_id = make_rule(
        tenant,
        clock,
        trigger=CONVERTED,
        actions=[task("Welcome {contact.display_name}", due_in_days=2)],
    )
    ada, _ = client(tenant, clock, "Ada")
    run_worker(tenant, clock)
    run_worker(tenant, clock)  # nothing new: the event was handled
    [made] = activities_titled(tenant, "Welcome")
    assert made.title == "Welcome Ada" and made.contact_id == ada and made.origin == "automation"
    assert made.due_at == START + timedelta(days=2)
    assert made.assignee_id == tenant.owner.user_id  # no contact owner: the rule's owner
    [run] = runs_of(tenant, rule_id)
    assert run.outcome == "done" and run.contact_id == ada and run.event_id is not None
    assert run.trigger_key == f"event:{run.event_id}"
    assert run.effects == [
        {
            "type": "create_activity",
            "kind": "task",
            "title": "Welcome Ada",
            "assignee_id": tenant.owner.user_id,
            "due_at": made.due_at.isoformat(),
            "activity_id": made.id,
        }
    ]
    # the activity carries the automation on its timeline event
    with tenant.db.session() as s:
        event = s.scalars(
            select(TimelineEvent).where(TimelineEvent.type == "activity.created")
        ).one()
        assert event.data["automation"] == {"rule_id": rule_id, "depth": 1}
        assert event.data["source"] == "automation"


def test_conditions_on_the_contact_and_the_record_decide_and_skips_are_recorded(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "event", "event": "agreement.confirmed"},
        conditions={
            "all": [
                {"field": "contact.tags", "op": "contains", "value": "vip"},
                {"field": "record.title", "op": "contains", "value": "retainer"},
            ]
        },
        actions=[task("VIP kickoff for {contact.display_name}: {record.title}")],
    )
    plain, _ = client(tenant, clock, "Plain", title="Annual retainer")
    vip, _ = client(tenant, clock, "Vee", title="Annual retainer", tags=["VIP"])
    other, _ = client(tenant, clock, "Vee Two", title="One-off audit", tags=["vip"])
    run_worker(tenant, clock)
    assert [a.title for a in activities_titled(tenant, "VIP")] == [
        "VIP kickoff for Vee: Annual retainer"
    ]
    outcomes = {r.contact_id: (r.outcome, r.error) for r in runs_of(tenant, rule_id)}
    assert outcomes[vip][0] == "done"
    assert outcomes[plain][0] == "skipped" and "contact.tags contains 'vip'" in outcomes[plain][1]
    assert outcomes[other][0] == "skipped" and "record.title" in outcomes[other][1]


def test_a_rule_is_validated_on_save_naming_the_field(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    with pytest.raises(InvalidInput) as exc, work(tenant, clock) as ctx:
        rules.create_rule(
            ctx,
            name="",
            trigger={"type": "date", "field": "agreement.renews_on", "offset_days": "soon"},
            conditions={"all": [{"field": "contact.stage", "op": "eq", "value": "client"}]},
            actions=[
                {"type": "start_playbook", "playbook_id": 999},
                {"type": "set_owner", "user_id": 12345},
                {"type": "send_email", "template_id": 77},
                {"type": "call_webhook", "subscription_id": 88},
            ],
        )
    found = {e.field: e.rule for e in exc.value.errors}
    assert found == {"name": "required", "trigger.offset_days": "range"}
    with pytest.raises(InvalidInput) as exc, work(tenant, clock) as ctx:
        rules.create_rule(
            ctx,
            name="refs",
            trigger=CONVERTED,
            actions=[
                {"type": "start_playbook", "playbook_id": 999},
                {"type": "set_owner", "user_id": 12345},
                {"type": "send_email", "template_id": 77},
                {"type": "call_webhook", "subscription_id": 88},
                task("x", assignee=4242),
            ],
        )
    found = {e.field: e.rule for e in exc.value.errors}
    assert found == {
        "actions[0].playbook_id": "exists",
        "actions[1].user_id": "member",
        "actions[2].template_id": "exists",
        "actions[3].subscription_id": "exists",
        "actions[4].assignee": "member",
    }
    assert count(tenant, Rule) == 0


def test_writing_rules_needs_an_admin_and_versions_guard_edits(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    with pytest.raises(PermissionDenied), work(tenant, clock, Role.MEMBER) as ctx:
        rules.create_rule(ctx, name="x", trigger=CONVERTED, actions=[task("x")])
    rule_id = make_rule(tenant, clock, trigger=CONVERTED, actions=[task("x")])
    with work(tenant, clock) as ctx:
        rule = rules.update_rule(ctx, rule_id, expected_version=1, changes={"name": "Renamed"})
        assert rule.version == 2
    with pytest.raises(PreconditionFailed), work(tenant, clock) as ctx:
        rules.update_rule(ctx, rule_id, expected_version=1, changes={"name": "Stale"})
    with work(tenant, clock, Role.VIEWER) as ctx:
        assert rules.get_rule(ctx, rule_id).name == "Renamed"


# --- each database action --------------------------------------------------------------------


def test_tag_owner_case_and_activity_actions(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    member = tenant.member(Role.MEMBER).user_id
    rule_id = make_rule(
        tenant,
        clock,
        trigger=CONVERTED,
        actions=[
            {"type": "add_tag", "tag": "New Client"},
            {"type": "remove_tag", "tag": "prospect"},
            {"type": "set_owner", "user_id": member},
            task("Kickoff meeting", kind="meeting", due_in_days=3, duration_minutes=45),
            task("Call {contact.display_name}", kind="call", assignee=member),
            {"type": "create_case", "subject": "Set up {contact.display_name}", "priority": "high"},
        ],
    )
    ada, _ = client(tenant, clock, "Ada", tags=["prospect", "referral"])
    run_worker(tenant, clock)
    row = contact_row(tenant, ada)
    assert row.tags == ["referral", "new client"] and row.owner_id == member
    [meeting] = activities_titled(tenant, "Kickoff")
    assert meeting.kind == "meeting" and meeting.start_at == START + timedelta(days=3)
    assert meeting.end_at == meeting.start_at + timedelta(minutes=45)
    assert meeting.assignee_id == member  # "owner": the owner set by the action before
    [call] = activities_titled(tenant, "Call Ada")
    assert call.kind == "call" and call.assignee_id == member
    with tenant.db.session() as s:
        case = s.scalars(select(Case)).one()
        assert (case.subject, case.priority, case.contact_id) == ("Set up Ada", "high", ada)
    [run] = runs_of(tenant, rule_id)
    assert [e["type"] for e in run.effects] == [
        "add_tag",
        "remove_tag",
        "set_owner",
        "create_activity",
        "create_activity",
        "create_case",
    ]
    assert run.effects[0]["changed"] is True


def test_end_relationship_action_ends_a_lapsed_client(tenant) -> None:  # type: ignore[no-untyped-def]
    """ "Lapsed after 12 months without service": inactivity on service ends the relationship."""
    clock = Clock()
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "inactivity", "measure": "service", "days": 365},
        actions=[
            {
                "type": "end_relationship",
                "reason": "unresponsive",
                "note": "lapsed: no service since {trigger.date}",
            }
        ],
    )
    lapsed, _ = client(tenant, clock, "Lapsed", starts_on=clock.today - timedelta(days=400))
    recent, _ = client(tenant, clock, "Recent", starts_on=clock.today - timedelta(days=100))
    run_worker(tenant, clock)
    assert contact_row(tenant, lapsed).stage == "former_client"
    assert contact_row(tenant, recent).stage == "client"
    [run] = runs_of(tenant, rule_id)
    assert run.outcome == "done" and run.effects[0]["reason"] == "unresponsive"
    with tenant.db.session() as s:
        ended = s.scalars(
            select(TimelineEvent).where(TimelineEvent.type == "relationship.ended")
        ).one()
        assert ended.contact_id == lapsed and ended.data["reason"] == "unresponsive"
        assert ended.data["note"].startswith("lapsed: no service since")
    # the ended client is not a client any more: the next evaluations leave it alone
    clock.move(days=1)
    run_worker(tenant, clock)
    assert len(runs_of(tenant, rule_id)) == 1


def test_start_and_stop_playbook_actions(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    with work(tenant, clock) as ctx:
        book = playbooks.create_playbook(
            ctx, name="Nurture", steps=[{"day": 5, "action": task("Nurture")}]
        ).id
    make_rule(
        tenant,
        clock,
        trigger=CONVERTED,
        actions=[{"type": "start_playbook", "playbook_id": book}],
    )
    stopper = make_rule(
        tenant,
        clock,
        trigger={"type": "event", "event": "case.opened"},
        actions=[{"type": "stop_playbook", "playbook_id": book}],
    )
    ada, _ = client(tenant, clock, "Ada")
    run_worker(tenant, clock)
    with tenant.db.session() as s:
        run = s.scalars(select(PlaybookRun)).one()
        assert run.status == "running" and run.started_by_rule_id is not None
    with work(tenant, clock) as ctx:
        from tenure.services import cases

        cases.open_case(ctx, ada, subject="Unhappy")
    run_worker(tenant, clock)
    with tenant.db.session() as s:
        run = s.scalars(select(PlaybookRun)).one()
        assert run.status == "cancelled" and run.stop_reason == f"stopped by rule {stopper}"
    clock.move(days=6)
    run_worker(tenant, clock)
    assert activities_titled(tenant, "Nurture") == []  # the cancelled run's step did nothing


def test_a_failing_action_records_failed_undoes_its_rule_and_spares_the_others(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    broken = make_rule(
        tenant,
        clock,
        name="broken",
        trigger={"type": "event", "event": "contact.created"},
        actions=[
            {"type": "add_tag", "tag": "half-done"},
            {"type": "end_relationship", "reason": "other"},  # a new contact is no client
        ],
    )
    fine = make_rule(
        tenant,
        clock,
        name="fine",
        trigger={"type": "event", "event": "contact.created"},
        actions=[task("Say hello")],
    )
    ada = contact(tenant, clock, "Ada")
    run_worker(tenant, clock)
    [failed] = runs_of(tenant, broken)
    assert failed.outcome == "failed" and failed.effects == []
    assert failed.error.startswith("actions[1] (end_relationship): only a client")
    assert "undone" in failed.error
    assert contact_row(tenant, ada).tags == []  # the first action was rolled back
    assert [r.outcome for r in runs_of(tenant, fine)] == ["done"]
    assert len(activities_titled(tenant, "Say hello")) == 1
    assert {j.status for j in jobs_of(tenant, "event.dispatch")} == {"done"}


# --- loop protection -------------------------------------------------------------------------


def test_a_rule_that_changes_the_contact_on_contact_updated_does_not_loop(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "event", "event": "contact.updated"},
        actions=[{"type": "add_tag", "tag": "touched"}, {"type": "remove_tag", "tag": "stale"}],
    )
    ada = contact(tenant, clock, "Ada", tags=["stale"])
    with work(tenant, clock) as ctx:
        contacts.update_contact(ctx, ada, expected_version=1, changes={"notes": "hello"})
    ran = run_worker(tenant, clock)
    assert ran < 20
    assert contact_row(tenant, ada).tags == ["touched"]
    [run] = runs_of(tenant, rule_id)  # its own contact.updated did not retrigger it
    assert run.outcome == "done"
    dispatches = jobs_of(tenant, "event.dispatch")
    assert {j.status for j in dispatches} == {"done"}
    # one dispatch for the person's change, one for each of the rule's two changes
    assert [j.result["rules"] for j in dispatches] == [
        {"done": [rule_id]},
        {"own-effect": [rule_id]},
        {"own-effect": [rule_id]},
    ]
    with tenant.db.session() as s:
        updates = s.scalars(
            select(TimelineEvent).where(TimelineEvent.type == "contact.updated")
        ).all()
        assert len(updates) == 3  # the person's change and the rule's two, nothing more


def test_chains_of_rules_triggering_rules_stop_at_the_maximum_depth(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    on_activity = {"type": "event", "event": "activity.created"}
    make_rule(tenant, clock, name="A", trigger=on_activity, actions=[task("by A")])
    make_rule(tenant, clock, name="B", trigger=on_activity, actions=[task("by B")])
    ada = contact(tenant, clock, "Ada")
    with work(tenant, clock) as ctx:
        from tenure.domain.activities import ActivityKind
        from tenure.services import activities

        activities.create_activity(
            ctx, kind=ActivityKind.TASK, title="by hand", contact_id=ada, due_at=clock.now
        )
    run_worker(tenant, clock)
    # by hand → A1, B1 (depth 1); A1 → B2, B1 → A2 (depth 2); B2 → A3, A2 → B3 (depth 3): stop
    assert len(activities_titled(tenant, "by A")) == 3
    assert len(activities_titled(tenant, "by B")) == 3
    with tenant.db.session() as s:
        depths = [
            e.data.get("automation", {}).get("depth", 0)
            for e in s.scalars(
                select(TimelineEvent).where(TimelineEvent.type == "activity.created")
            )
        ]
    assert sorted(depths) == [0, 1, 1, 2, 2, 3, 3]
    assert {j.status for j in jobs_of(tenant, "event.dispatch")} == {"done"}


# --- time-based triggers ---------------------------------------------------------------------


def test_date_trigger_before_renewal_with_a_frozen_and_moved_clock(tenant) -> None:  # type: ignore[no-untyped-def]
    """time-machine freezes the wall clock; the worker and services read it (tenure.clock)."""
    with time_machine.travel(START, tick=False) as traveller:
        clock = Clock()
        rule_id = make_rule(
            tenant,
            clock,
            trigger={"type": "date", "field": "agreement.renews_on", "offset_days": -30},
            actions=[task("Renewal {trigger.field_date}: {record.title}")],
        )
        ada, agreement = client(tenant, clock, "Ada", renews_on=clock.today + timedelta(days=40))
        from tenure.worker.runner import Worker, WorkerConfig

        wall = Worker(tenant.db.engine, WorkerConfig(worker_id="wall"))  # the real clock
        wall.tick()
        wall.run_until_idle()
        assert activities_titled(tenant, "Renewal") == []  # due in 10 days
        traveller.shift(timedelta(days=9, hours=13))  # 23:00 the day before
        wall.tick()
        wall.run_until_idle()
        assert activities_titled(tenant, "Renewal") == []  # still the day before
        traveller.shift(timedelta(hours=2))  # 01:00 the day it comes due
        wall.tick()
        wall.run_until_idle()
        renewal = clock.today + timedelta(days=40)
        [made] = activities_titled(tenant, "Renewal")
        assert made.title == f"Renewal {renewal.isoformat()}: Retainer"
        for hours in (1, 1, 24):  # later hours and days: never again
            traveller.shift(timedelta(hours=hours))
            wall.tick()
            wall.run_until_idle()
        assert len(activities_titled(tenant, "Renewal")) == 1
        [run] = runs_of(tenant, rule_id)
        assert run.trigger_key == f"date:agreement.renews_on:{agreement}:{renewal.isoformat()}"
        assert run.contact_id == ada


def test_a_reminder_whose_day_passed_before_the_rule_existed_still_fires_before_the_date(
    tenant,
) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    client(tenant, clock, "Soon", renews_on=clock.today + timedelta(days=5))
    client(tenant, clock, "Past", renews_on=clock.today - timedelta(days=1))
    client(tenant, clock, "Later", renews_on=clock.today + timedelta(days=31))
    make_rule(
        tenant,
        clock,
        trigger={"type": "date", "field": "agreement.renews_on", "offset_days": -30},
        actions=[task("Renewal for {contact.display_name}")],
    )
    run_worker(tenant, clock)
    assert [a.title for a in activities_titled(tenant, "Renewal")] == ["Renewal for Soon"]


def test_date_trigger_after_a_delivery(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    ada, _ = client(tenant, clock, "Ada")
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "date", "field": "delivery.delivered_at", "offset_days": 7},
        actions=[task("Follow up on {record.title}")],
    )
    with work(tenant, clock) as ctx:
        delivery = deliveries.create_delivery(
            ctx, ada, title="Garden visit", scheduled_start=clock.now - timedelta(hours=2)
        )
        deliveries.deliver(ctx, delivery.id)
    run_worker(tenant, clock)
    clock.move(days=6)
    run_worker(tenant, clock)
    assert activities_titled(tenant, "Follow up") == []
    clock.move(days=1)
    run_worker(tenant, clock)
    clock.move(hours=3)
    run_worker(tenant, clock)
    [made] = activities_titled(tenant, "Follow up")
    assert made.title == "Follow up on Garden visit" and made.contact_id == ada
    assert [r.outcome for r in runs_of(tenant, rule_id)] == ["done"]


def test_date_triggers_after_becoming_a_client_and_before_an_agreement_ends(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    ninety = make_rule(
        tenant,
        clock,
        trigger={"type": "date", "field": "contact.client_since", "offset_days": 90},
        actions=[task("90 days with {contact.display_name}")],
    )
    ending = make_rule(
        tenant,
        clock,
        trigger={"type": "date", "field": "agreement.ends_on", "offset_days": -7},
        actions=[task("Ends in a week: {record.title}")],
    )
    ada, agreement_id = client(tenant, clock, "Ada", starts_on=clock.today)
    with work(tenant, clock) as ctx:
        from tenure.services import agreements

        agreements.update_agreement(
            ctx,
            agreement_id,
            expected_version=agreements.get_agreement(ctx, agreement_id).version,
            changes={"ends_on": clock.today + timedelta(days=60)},
        )
    clock.move(days=52)
    run_worker(tenant, clock)
    assert activities_titled(tenant, "Ends in a week") == []
    clock.move(days=1)
    run_worker(tenant, clock)
    assert len(activities_titled(tenant, "Ends in a week: Retainer")) == 1
    clock.move(days=36)
    run_worker(tenant, clock)
    assert activities_titled(tenant, "90 days") == []
    clock.move(days=1)
    run_worker(tenant, clock)
    clock.move(days=1)
    run_worker(tenant, clock)
    assert [a.title for a in activities_titled(tenant, "90 days")] == ["90 days with Ada"]
    assert [r.contact_id for r in runs_of(tenant, ninety)] == [ada]
    assert len(runs_of(tenant, ending)) == 1


def test_client_anniversary_fires_each_year_once(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    since = clock.today - timedelta(days=365) + timedelta(days=2)
    ada, _ = client(tenant, clock, "Ada", starts_on=since)
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "date", "field": "contact.client_anniversary", "offset_days": 0},
        actions=[task("Anniversary {trigger.occurrence} of {contact.display_name}")],
    )
    run_worker(tenant, clock)
    assert activities_titled(tenant, "Anniversary") == []
    clock.move(days=2)
    run_worker(tenant, clock)
    clock.move(days=200)
    run_worker(tenant, clock)
    clock.move(days=165)  # the second anniversary
    run_worker(tenant, clock)
    titles = [a.title for a in activities_titled(tenant, "Anniversary")]
    assert titles == [
        f"Anniversary {since.year + 1} of Ada",
        f"Anniversary {since.year + 2} of Ada",
    ]
    assert [r.trigger_key for r in runs_of(tenant, rule_id)] == [
        f"anniversary:{ada}:{since.year + 1}",
        f"anniversary:{ada}:{since.year + 2}",
    ]


def test_inactivity_no_touch_fires_once_per_quiet_spell(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    ada, _ = client(tenant, clock, "Ada", starts_on=clock.today - timedelta(days=90))
    bea, _ = client(tenant, clock, "Bea", starts_on=clock.today - timedelta(days=90))
    with work(tenant, clock) as ctx:
        interactions.log_interaction(
            ctx,
            bea,
            channel=Channel.CALL,
            direction=Direction.OUTBOUND,
            occurred_at=clock.now - timedelta(days=10),
        )
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "inactivity", "measure": "touch", "days": 30},
        actions=[task("Quiet: {contact.display_name}")],
    )
    run_worker(tenant, clock)
    clock.move(hours=1)
    run_worker(tenant, clock)
    assert [a.title for a in activities_titled(tenant, "Quiet")] == ["Quiet: Ada"]
    # Ada is touched: a new spell starts; 30 quiet days later it fires again
    with work(tenant, clock) as ctx:
        interactions.log_interaction(ctx, ada, channel=Channel.EMAIL, direction=Direction.INBOUND)
    clock.move(days=29)
    run_worker(tenant, clock)
    assert len(activities_titled(tenant, "Quiet: Ada")) == 1
    clock.move(days=1)
    run_worker(tenant, clock)
    assert len(activities_titled(tenant, "Quiet: Ada")) == 2
    assert len(activities_titled(tenant, "Quiet: Bea")) == 1  # quiet since day 10 + 30
    assert len({r.trigger_key for r in runs_of(tenant, rule_id)}) == 3


def test_cadence_overdue_fires_a_check_in_once(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    ada, _ = client(
        tenant, clock, "Ada", starts_on=clock.today - timedelta(days=20), cadence_days=14
    )
    client(tenant, clock, "Bea", starts_on=clock.today - timedelta(days=5), cadence_days=14)
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "inactivity", "measure": "cadence"},
        conditions={"all": [{"field": "contact.stage", "op": "eq", "value": "client"}]},
        actions=[task("Check in with {contact.display_name}", kind="call")],
    )
    for _ in range(3):
        run_worker(tenant, clock)
        clock.move(hours=1)
    [made] = activities_titled(tenant, "Check in")
    assert made.title == "Check in with Ada" and made.kind == "call"
    [run] = runs_of(tenant, rule_id)
    due = contact_row(tenant, ada).next_touch_due
    assert run.trigger_key == f"cadence:{ada}:{due.isoformat()}"


def test_recurrence_catches_up_after_downtime_each_occurrence_once(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()  # Monday 3 March 2025, 10:00 UTC
    vip, _ = client(tenant, clock, "Vip", tags=["vip"])
    client(tenant, clock, "Plain")
    rule_id = make_rule(
        tenant,
        clock,
        trigger={
            "type": "recurrence",
            "rrule": "FREQ=WEEKLY;BYDAY=MO",
            "dtstart": "2025-03-03T09:00:00",
            "timezone": "UTC",
        },
        conditions={"all": [{"field": "contact.tags", "op": "contains", "value": "vip"}]},
        actions=[task("Weekly VIP review {trigger.occurrence}")],
    )
    run_worker(tenant, clock)  # 9:00 today came before the rule existed
    assert activities_titled(tenant, "Weekly") == []
    clock.move(days=21, hours=1)  # the worker was down for three Mondays
    run_worker(tenant, clock)
    run_worker(tenant, clock)
    titles = [a.title for a in activities_titled(tenant, "Weekly")]
    assert titles == [
        "Weekly VIP review 2025-03-10T09:00:00",
        "Weekly VIP review 2025-03-17T09:00:00",
        "Weekly VIP review 2025-03-24T09:00:00",
    ]
    assert {r.contact_id for r in runs_of(tenant, rule_id)} == {vip}
    with tenant.db.session() as s:
        rule = s.get_one(Rule, rule_id)
        assert rule.evaluated_until == clock.now and rule.version == 1  # bookkeeping only


def test_date_triggers_catch_up_after_downtime_each_occurrence_once(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "date", "field": "agreement.renews_on", "offset_days": -30},
        actions=[task("Renewal for {contact.display_name}")],
    )
    run_worker(tenant, clock)
    names = ["In 40", "In 50", "In 60", "In 200"]
    for name, days in zip(names, (40, 50, 60, 200), strict=True):
        client(tenant, clock, name, renews_on=clock.today + timedelta(days=days))
    clock.move(days=45)  # down from day 0 to day 45: three reminders came due meanwhile
    run_worker(tenant, clock)
    run_worker(tenant, clock)
    titles = sorted(a.title for a in activities_titled(tenant, "Renewal"))
    assert titles == ["Renewal for In 40", "Renewal for In 50", "Renewal for In 60"]
    assert len(runs_of(tenant, rule_id)) == 3
    with tenant.db.session() as s:
        time_jobs = s.scalars(select(Job).where(Job.kind == "rules.time")).all()
        assert {j.status for j in time_jobs} == {"done"}


def test_a_disabled_rule_does_nothing_and_when_enabled_again_starts_from_now(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "date", "field": "delivery.delivered_at", "offset_days": 1},
        actions=[task("Thanks")],
    )
    ada, _ = client(tenant, clock, "Ada")
    with work(tenant, clock) as ctx:
        rules.set_enabled(ctx, rule_id, False)
        delivery = deliveries.create_delivery(
            ctx, ada, title="Visit", scheduled_start=clock.now - timedelta(hours=2)
        )
        deliveries.deliver(ctx, delivery.id)
    clock.move(days=3)
    run_worker(tenant, clock)
    assert activities_titled(tenant, "Thanks") == []
    with work(tenant, clock) as ctx:
        rules.set_enabled(ctx, rule_id, True)
    run_worker(tenant, clock)
    assert activities_titled(tenant, "Thanks") == []  # came due while off: not acted on


# --- email and webhook actions ---------------------------------------------------------------


@pytest.fixture
def allow_private(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TENURE_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_send_email_and_call_webhook_actions_hand_over_once(tenant, allow_private) -> None:  # type: ignore[no-untyped-def]
    """The rule hands over to email (queued, sent by its own job) and to webhooks, delivered
    here to a real receiver that verifies the signature."""
    from tenure.worker.registry import load_handlers
    from tenure.worker.runner import Worker, WorkerConfig
    from tests.factories.webhooks import running_receiver

    clock = Clock(datetime.now(UTC))  # signatures carry the wall-clock time
    with running_receiver() as receiver:
        with work(tenant, clock) as ctx:
            email.set_smtp_settings(
                ctx, host="127.0.0.1", port=2525, from_address="team@acme.example"
            )
            template = email.create_template(
                ctx, name="Welcome", subject="Welcome {{ contact.display_name }}", text_body="Hi!"
            )
            hook = webhook_service.create_subscription(
                ctx, url=receiver.url, event_types=["case.opened"]
            ).subscription
            receiver.secrets.append(hook.secret)
            template_id, hook_id = template.id, hook.id
        rule_id = make_rule(
            tenant,
            clock,
            trigger=CONVERTED,
            actions=[
                {"type": "send_email", "template_id": template_id},
                {"type": "call_webhook", "subscription_id": hook_id},
            ],
        )
        client(tenant, clock, "Ada", emails=[contacts.EmailIn("ada@example.com")])
        client(
            tenant, clock, "Quiet", emails=[contacts.EmailIn("q@example.com")], do_not_email=True
        )
        # No SMTP server here: sending the queued email is the email tests' business.
        handlers = {k: v for k, v in load_handlers().items() if not k.startswith("email.")}
        worker = Worker(
            tenant.db.engine, WorkerConfig(worker_id="w"), handlers=handlers, clock=clock
        )
        worker.run_until_idle()
        worker.run_until_idle()  # nothing twice
        arrivals = list(receiver.arrivals)
    runs = {r.contact_id: r for r in runs_of(tenant, rule_id)}
    assert all(r.outcome == "done" for r in runs.values()), [r.error for r in runs.values()]
    with tenant.db.session() as s:
        messages = s.scalars(select(EmailMessage).where(EmailMessage.template_id == template_id))
        queued = [m for m in messages if m.recipients]
        assert len(queued) == 1 and queued[0].recipients == ["ada@example.com"]
        assert queued[0].rule_id == rule_id and queued[0].subject == "Welcome Ada"
        hooks = s.scalars(select(WebhookDelivery)).all()
        assert len(hooks) == 2  # one per client: webhooks are not about email consent
        assert {h.status for h in hooks} == {"delivered"}
    effects = [e for r in runs.values() for e in r.effects if e["type"] == "send_email"]
    assert sorted(e["sent"] for e in effects) == [False, True]
    assert len(arrivals) == 2 and all(a.verified for a in arrivals)
    assert {a.payload["type"] for a in arrivals} == {"contact.converted"}
    data = [a.payload["data"] for a in arrivals]
    assert {d["rule"]["id"] for d in data} == {rule_id}
    assert sorted(d["contact"]["display_name"] for d in data) == ["Ada", "Quiet"]


# --- simulate --------------------------------------------------------------------------------


def test_simulate_answers_what_a_rule_would_do_and_changes_nothing(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    soon, _ = client(tenant, clock, "Soon", renews_on=clock.today + timedelta(days=10))
    client(tenant, clock, "Later", renews_on=clock.today + timedelta(days=100))
    lapsed, _ = client(
        tenant, clock, "Tagged", renews_on=clock.today + timedelta(days=3), tags=["skip"]
    )
    with work(tenant, clock) as ctx:
        book = playbooks.create_playbook(ctx, name="Renewal", steps=[{"action": task("x")}]).id
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "date", "field": "agreement.renews_on", "offset_days": -30},
        conditions={"all": [{"field": "contact.tags", "op": "not_in", "value": ["skip"]}]},
        actions=[
            task("Renewal: {contact.display_name}"),
            {"type": "add_tag", "tag": "renewing"},
            {"type": "start_playbook", "playbook_id": book},
            {"type": "end_relationship", "reason": "other"},
        ],
    )
    event_rule = make_rule(
        tenant, clock, trigger=CONVERTED, actions=[{"type": "add_tag", "tag": "x"}]
    )
    tenant.member(Role.VIEWER)
    before = row_counts(tenant.db.engine)
    rows = workspace_rows(tenant.db.engine, tenant.workspace_id)
    with work(tenant, clock, Role.VIEWER) as ctx:
        answer = rules.simulate(ctx, rule_id)
        draft = rules.simulate(
            ctx,
            draft={
                "trigger": {"type": "inactivity", "measure": "touch", "days": 7},
                "actions": [{"type": "end_relationship", "reason": "unresponsive"}],
            },
        )
        events = rules.simulate(ctx, event_rule)
    assert row_counts(tenant.db.engine) == before  # every table
    assert workspace_rows(tenant.db.engine, tenant.workspace_id) == rows  # row for row
    assert answer["description"] == "30 days before agreement.renews_on"
    assert answer["would_fire"] == 1 and answer["skipped"] == 1 and answer["examined"] == 2
    item = next(i for i in answer["items"] if i["outcome"] == "would_fire")
    assert item["contact_id"] == soon
    assert [a["type"] for a in item["actions"]] == [
        "create_activity",
        "add_tag",
        "start_playbook",
        "end_relationship",
    ]
    assert item["actions"][0]["title"] == "Renewal: Soon"
    skipped = next(i for i in answer["items"] if i["outcome"] == "skipped")
    assert skipped["contact_id"] == lapsed and "contact.tags not_in" in skipped["reasons"][0]
    assert draft["rule_id"] is None and draft["would_fire"] == 3  # nobody was touched
    assert events["would_fire"] == 3  # the three conversions, had the rule existed
    # once a rule fired, simulate says so
    client(tenant, clock, "Newer")
    run_worker(tenant, clock)
    with work(tenant, clock) as ctx:
        again = rules.simulate(ctx, event_rule)
        assert again["already_fired"] == 1 and again["would_fire"] == 3
        with pytest.raises(InvalidInput) as exc:
            rules.simulate(ctx, draft={"trigger": {"type": "event"}, "actions": []})
        assert {e.field for e in exc.value.errors} == {"trigger.event", "actions"}


def test_simulate_reports_an_action_that_would_fail(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    contact(tenant, clock, "Prospect")
    with work(tenant, clock) as ctx:
        answer = rules.simulate(
            ctx,
            draft={
                "trigger": {"type": "event", "event": "contact.created"},
                "actions": [{"type": "end_relationship", "reason": "other"}],
            },
        )
    [item] = answer["items"]
    assert item["outcome"] == "would_fail" and "only a client" in item["error"]


# --- defaults --------------------------------------------------------------------------------


def test_defaults_install_once_and_stay_editable_and_disable_able(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    with work(tenant, clock) as ctx:
        first = rules.install_defaults(ctx)
        again = rules.install_defaults(ctx)
    assert sorted(first["installed"]) == sorted(
        ["playbook:onboarding"] + [f"rule:{k}" for k in rules.BUILTIN_RULES]
    )
    assert again["installed"] == [] and len(again["present"]) == 5
    assert count(tenant, Rule) == 4 and count(tenant, Playbook) == 1
    with tenant.db.session() as s:
        by_key = {r.builtin: r for r in s.scalars(select(Rule))}
    renewal = by_key["renewal_reminder"]
    assert renewal.trigger == {"type": "date", "field": "agreement.renews_on", "offset_days": -30}
    with work(tenant, clock) as ctx:
        rules.update_rule(
            ctx,
            renewal.id,
            expected_version=renewal.version,
            changes={"trigger": {**renewal.trigger, "offset_days": -45}},
        )
        rules.set_enabled(ctx, by_key["cadence_check_in"].id, False)
        rules.install_defaults(ctx)
    with tenant.db.session() as s:
        assert s.get_one(Rule, renewal.id).trigger["offset_days"] == -45  # edits kept
        assert s.get_one(Rule, by_key["cadence_check_in"].id).enabled is False
    assert count(tenant, Rule) == 4

    # end to end: conversion starts onboarding; renewal 45 days ahead reminds the owner;
    # the disabled check-in stays silent however overdue the cadence is
    ada, _ = client(
        tenant,
        clock,
        "Ada",
        starts_on=clock.today - timedelta(days=200),
        renews_on=clock.today + timedelta(days=45),
        owner_id=tenant.member(Role.MEMBER).user_id,
    )
    run_worker(tenant, clock)
    welcome = activities_titled(tenant, "Welcome Ada")
    assert len(welcome) == 1 and welcome[0].assignee_id == tenant.member(Role.MEMBER).user_id
    assert len(activities_titled(tenant, "Renewal on")) == 1
    assert activities_titled(tenant, "Check in") == []
    with tenant.db.session() as s:
        run = s.scalars(select(PlaybookRun)).one()
        assert run.contact_id == ada and run.steps_done == [0]


def test_rule_runs_are_listed_newest_first_with_filters(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "event", "event": "contact.created"},
        conditions={"all": [{"field": "contact.display_name", "op": "contains", "value": "a"}]},
        actions=[task("hi")],
    )
    for name in ("Ada", "Bob", "Cara"):
        contact(tenant, clock, name)
    run_worker(tenant, clock)
    with work(tenant, clock, Role.VIEWER) as ctx:
        page = rules.list_runs(ctx, rule_id=rule_id, limit=2)
        assert [r.outcome for r in page.items] == ["done", "skipped"] and page.next_cursor
        rest = rules.list_runs(ctx, rule_id=rule_id, cursor=page.next_cursor, limit=2)
        assert [r.outcome for r in rest.items] == ["done"] and rest.next_cursor is None
        assert len(rules.list_runs(ctx, outcome="skipped").items) == 1
        assert len(rules.list_rules(ctx, trigger_type="event").items) == 1
        assert rules.list_rules(ctx, trigger_type="date").items == []


def test_rules_never_cross_workspaces(tenant, other_tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    make_rule(tenant, clock, trigger=CONVERTED, actions=[task("Ours")])
    client(other_tenant, clock, "Theirs")
    run_worker(tenant, clock)
    assert activities_titled(tenant, "Ours") == []
    assert count(tenant, RuleRun) == 0


def test_ending_a_relationship_by_hand_is_not_confused_with_a_rule(tenant) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    rule_id = make_rule(
        tenant,
        clock,
        trigger={"type": "event", "event": "relationship.ended"},
        conditions={"all": [{"field": "event.reason", "op": "eq", "value": "price"}]},
        actions=[task("Win back {contact.display_name}", due_in_days=90)],
    )
    ada, _ = client(tenant, clock, "Ada")
    bea, _ = client(tenant, clock, "Bea")
    from tenure.domain.lifecycle import EndReason

    with work(tenant, clock) as ctx:
        lifecycle.end(ctx, ada, reason=EndReason.PRICE)
        lifecycle.end(ctx, bea, reason=EndReason.MOVED)
    run_worker(tenant, clock)
    assert [a.title for a in activities_titled(tenant, "Win back")] == ["Win back Ada"]
    assert sorted(r.outcome for r in runs_of(tenant, rule_id)) == ["done", "skipped"]
    assert datetime.now(UTC) > START  # the fake clock is the services' only clock here


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_lists_shows_and_simulates_rules(tenant, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from tenure.cli.main import app

    monkeypatch.setenv("TENURE_DATABASE_URL", tenant.db.url)
    monkeypatch.setenv("COLUMNS", "250")  # tables unwrapped
    get_settings.cache_clear()
    runner = CliRunner()

    def cli(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.output, result.exception)
        return result.stdout

    try:
        installed = json.loads(cli("rules", "install-defaults", "--json"))
        assert len(installed["installed"]) == 5
        listed = json.loads(cli("rules", "list", "--json"))["items"]
        assert len(listed) == 4
        renewal = next(r for r in listed if r["builtin"] == "renewal_reminder")
        assert renewal["when"] == "30 days before agreement.renews_on"
        assert "Renewal reminder" in cli("rules", "list")
        shown = json.loads(cli("rules", "show", str(renewal["id"]), "--json"))
        assert shown["runs"] == [] and shown["actions"][0]["type"] == "create_activity"
        assert "30 days before" in cli("rules", "show", str(renewal["id"]))
        clock = Clock(datetime.now(UTC))
        client(tenant, clock, "Soon", renews_on=clock.today + timedelta(days=12))
        answer = json.loads(cli("rules", "simulate", str(renewal["id"]), "--json"))
        assert answer["would_fire"] == 1 and answer["items"][0]["contact_name"] == "Soon"
        assert "would fire" in cli("rules", "simulate", str(renewal["id"]))
        draft = tmp_path / "rule.json"
        draft.write_text(
            json.dumps(
                {
                    "trigger": {"type": "event", "event": "contact.created"},
                    "actions": [{"type": "add_tag", "tag": "new"}],
                }
            )
        )
        answer = json.loads(cli("rules", "simulate", "--file", str(draft), "--json"))
        assert answer["rule_id"] is None and answer["would_fire"] == 1
        draft.write_text(json.dumps({"trigger": {"type": "event"}, "actions": []}))
        cli("rules", "simulate", "--file", str(draft), code=2)  # invalid input's exit code
        cli("rules", "show", "999", code=3)
        books = json.loads(cli("playbooks", "list", "--json"))["items"]
        assert [b["name"] for b in books] == ["Onboarding"]
        assert "day 3: Kickoff call" in cli("playbooks", "list")
    finally:
        get_settings.cache_clear()
