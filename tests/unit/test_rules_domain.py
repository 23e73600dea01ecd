"""Rules as pure values: trigger, condition and action JSON, evaluation, date arithmetic,
loop protection, and playbook steps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure.domain import playbooks as P
from tenure.domain import rules as R
from tenure.domain.errors import InvalidInput


def fields_of(exc: pytest.ExceptionInfo[InvalidInput]) -> dict[str, str]:
    return {e.field: e.rule for e in exc.value.errors}


# --- triggers --------------------------------------------------------------------------------


def test_each_trigger_kind_parses_and_normalizes() -> None:
    assert R.parse_trigger({"type": "event", "event": "contact.converted"}) == R.EventTrigger(
        "contact.converted"
    )
    date_trigger = R.parse_trigger(
        {"type": "date", "field": "agreement.renews_on", "offset_days": -30}
    )
    assert date_trigger == R.DateTrigger("agreement.renews_on", -30)
    assert R.describe_trigger(date_trigger) == "30 days before agreement.renews_on"
    cadence = R.parse_trigger({"type": "inactivity", "measure": "cadence"})
    assert cadence == R.InactivityTrigger("cadence", 0)
    recurrence = R.parse_trigger(
        {
            "type": "recurrence",
            "rrule": "RRULE:FREQ=WEEKLY;BYDAY=MO",
            "dtstart": "2025-03-05T09:00",
        },
        default_timezone="Europe/Berlin",
    )
    assert isinstance(recurrence, R.RecurrenceTrigger)
    stored = R.trigger_json(recurrence)
    # dtstart moves to the first occurrence the rule generates; the zone defaults to the workspace's
    assert stored == {
        "type": "recurrence",
        "rrule": "FREQ=WEEKLY;BYDAY=MO",
        "dtstart": "2025-03-10T09:00:00",
        "timezone": "Europe/Berlin",
        "scope": "clients",
    }
    assert R.parse_trigger(stored) == recurrence  # stored JSON reads back the same


@pytest.mark.parametrize(
    ("raw", "field", "rule"),
    [
        ("nope", "trigger", "object"),
        ({"type": "sometimes"}, "trigger.type", "choice"),
        ({"type": "event", "event": "contact.exploded"}, "trigger.event", "event-type"),
        ({"type": "event", "event": "contact.created", "x": 1}, "trigger.x", "unknown"),
        ({"type": "date", "field": "contact.birthday"}, "trigger.field", "choice"),
        (
            {"type": "date", "field": "agreement.renews_on", "offset_days": 5000},
            "trigger.offset_days",
            "range",
        ),
        (
            {"type": "date", "field": "agreement.renews_on", "offset_days": 1.5},
            "trigger.offset_days",
            "range",
        ),
        ({"type": "inactivity", "measure": "touch"}, "trigger.days", "range"),
        ({"type": "inactivity", "measure": "vibes", "days": 3}, "trigger.measure", "choice"),
        ({"type": "recurrence", "dtstart": "2025-01-01T09:00"}, "trigger.rrule", "required"),
        (
            {"type": "recurrence", "rrule": "FREQ=DAILY", "dtstart": "soon"},
            "trigger.dtstart",
            "local-time",
        ),
        (
            {"type": "recurrence", "rrule": "FREQ=DAILY", "dtstart": "2025-01-01T09:00+01:00"},
            "trigger.dtstart",
            "local-time",
        ),
        (
            {"type": "recurrence", "rrule": "FREQ=SOMETIMES", "dtstart": "2025-01-01T09:00"},
            "trigger.rrule",
            None,
        ),
        (
            {
                "type": "recurrence",
                "rrule": "FREQ=DAILY",
                "dtstart": "2025-01-01T09:00",
                "timezone": "Mars/Base",
            },
            "trigger.timezone",
            None,
        ),
        (
            {
                "type": "recurrence",
                "rrule": "FREQ=DAILY",
                "dtstart": "2025-01-01T09:00",
                "scope": "planets",
            },
            "trigger.scope",
            "choice",
        ),
    ],
)
def test_bad_triggers_name_the_field_and_the_rule(
    raw: object, field: str, rule: str | None
) -> None:
    with pytest.raises(InvalidInput) as exc:
        R.parse_trigger(raw)
    found = fields_of(exc)
    assert field in found, found
    if rule:
        assert found[field] == rule


# --- conditions ------------------------------------------------------------------------------

FACTS = {
    "contact.stage": "client",
    "contact.tags": ["vip", "retainer"],
    "contact.owner_id": 7,
    "contact.health_score": 64,
    "contact.client_since": date(2024, 5, 1),
    "contact.last_touch_at": datetime(2025, 2, 1, 12, 0, tzinfo=UTC),
    "contact.display_name": "Ada Lovelace",
    "contact.do_not_email": False,
    "record.value_minor": 120_000,
    "record.title": "Annual retainer",
    "event.reason": "price",
}


@pytest.mark.parametrize(
    ("leaf", "expected"),
    [
        ({"field": "contact.stage", "op": "eq", "value": "client"}, True),
        ({"field": "contact.stage", "op": "eq", "value": "CLIENT"}, True),  # text: any case
        ({"field": "contact.stage", "op": "ne", "value": "client"}, False),
        ({"field": "contact.stage", "op": "in", "value": ["client", "former_client"]}, True),
        ({"field": "contact.stage", "op": "not_in", "value": ["contact"]}, True),
        ({"field": "contact.tags", "op": "contains", "value": "vip"}, True),
        ({"field": "contact.tags", "op": "contains", "value": "gold"}, False),
        ({"field": "contact.tags", "op": "in", "value": ["gold", "retainer"]}, True),  # any of
        ({"field": "contact.tags", "op": "not_in", "value": ["gold"]}, True),
        ({"field": "contact.display_name", "op": "contains", "value": "love"}, True),
        ({"field": "contact.health_score", "op": "gt", "value": 60}, True),
        ({"field": "contact.health_score", "op": "gte", "value": 64}, True),
        ({"field": "contact.health_score", "op": "lt", "value": 64}, False),
        ({"field": "contact.health_score", "op": "lte", "value": "64"}, True),
        ({"field": "contact.client_since", "op": "lt", "value": "2024-06-01"}, True),
        ({"field": "contact.last_touch_at", "op": "gte", "value": "2025-02-01"}, True),
        (
            {"field": "contact.last_touch_at", "op": "gt", "value": "2025-02-01T12:00:00+00:00"},
            False,
        ),
        ({"field": "record.value_minor", "op": "gte", "value": 100_000}, True),
        ({"field": "contact.owner_id", "op": "eq", "value": 7}, True),
        ({"field": "contact.owner_id", "op": "exists"}, True),
        ({"field": "contact.cadence_days", "op": "exists"}, False),  # missing is absent
        ({"field": "contact.cadence_days", "op": "exists", "value": False}, True),
        ({"field": "contact.cadence_days", "op": "eq", "value": None}, True),
        ({"field": "contact.cadence_days", "op": "gt", "value": 3}, False),  # absent never compares
        ({"field": "contact.do_not_email", "op": "eq", "value": False}, True),
        (
            {"field": "contact.do_not_email", "op": "eq", "value": 0},
            False,
        ),  # a bool is not a number
        ({"field": "contact.health_score", "op": "gt", "value": "many"}, False),  # never raises
        ({"field": "event.reason", "op": "in", "value": ["price", "competitor"]}, True),
    ],
)
def test_each_operator(leaf: dict[str, object], expected: bool) -> None:
    conditions = R.check_conditions({"all": [leaf]})
    assert R.evaluate(conditions, FACTS) is expected


def test_all_and_any_nest_and_explain_what_failed() -> None:
    conditions = R.check_conditions(
        {
            "all": [
                {"field": "contact.stage", "op": "eq", "value": "client"},
                {
                    "any": [
                        {"field": "contact.tags", "op": "contains", "value": "gold"},
                        {"field": "contact.health_score", "op": "lt", "value": 50},
                    ]
                },
            ]
        }
    )
    assert not R.evaluate(conditions, FACTS)
    reasons = R.explain(conditions, FACTS)
    assert len(reasons) == 2 and "contact.tags contains 'gold'" in reasons[0]
    assert R.evaluate(conditions, {**FACTS, "contact.health_score": 40})
    assert R.evaluate({}, FACTS)  # no conditions: always
    assert R.check_conditions(None) == {}


@pytest.mark.parametrize(
    ("raw", "field", "rule"),
    [
        ({"field": "contact.stage", "op": "eq", "value": "x"}, "conditions", "group"),
        ({"all": []}, "conditions.all", "non-empty-list"),
        (
            {"all": [{"field": "contact.shoe_size", "op": "eq", "value": 1}]},
            "conditions.all[0].field",
            "contact-field",
        ),
        (
            {"all": [{"field": "stage", "op": "eq", "value": 1}]},
            "conditions.all[0].field",
            "field-path",
        ),
        (
            {"all": [{"field": "trigger.mood", "op": "eq", "value": 1}]},
            "conditions.all[0].field",
            "trigger-field",
        ),
        (
            {"all": [{"field": "contact.stage", "op": "like", "value": "c%"}]},
            "conditions.all[0].op",
            "choice",
        ),
        (
            {"all": [{"field": "contact.stage", "op": "in", "value": "client"}]},
            "conditions.all[0].value",
            "list",
        ),
        (
            {"all": [{"field": "contact.health_score", "op": "gt", "value": [1]}]},
            "conditions.all[0].value",
            "comparable",
        ),
        ({"all": [{"field": "contact.health_score", "op": "gt"}]}, "conditions.all[0].value", None),
        ({"all": [{"field": "contact.tags", "op": "contains"}]}, "conditions.all[0].value", None),
        (
            {"all": [{"field": "contact.tags", "op": "exists", "value": "yes"}]},
            "conditions.all[0].value",
            "boolean",
        ),
        (
            {
                "any": [
                    {
                        "any": [
                            {
                                "any": [
                                    {
                                        "any": [
                                            {
                                                "any": [
                                                    {
                                                        "any": [
                                                            {
                                                                "field": "contact.stage",
                                                                "op": "exists",
                                                            }
                                                        ]
                                                    }
                                                ]
                                            }
                                        ]
                                    }
                                ]
                            }
                        ]
                    }
                ]
            },
            "conditions.any[0].any[0].any[0].any[0].any[0]",
            "depth",
        ),
        (
            {"all": [{"field": "contact.stage", "op": "eq", "value": 1, "extra": True}]},
            "conditions.all[0].extra",
            "unknown",
        ),
    ],
)
def test_bad_conditions_name_the_field_and_the_rule(
    raw: object, field: str, rule: str | None
) -> None:
    with pytest.raises(InvalidInput) as exc:
        R.check_conditions(raw)
    found = fields_of(exc)
    assert field in found, found
    if rule:
        assert found[field] == rule


# --- actions ---------------------------------------------------------------------------------


def test_actions_normalize_with_defaults() -> None:
    actions = R.check_actions(
        [
            {"type": "create_activity", "title": "  Call {contact.display_name} "},
            {"type": "add_tag", "tag": "  Needs   Review "},
            {
                "type": "end_relationship",
                "reason": "unresponsive",
                "note": "lapsed: no service in 12 months",
            },
            {"type": "stop_playbook"},
            {"type": "create_case", "subject": "Renewal risk", "priority": "high"},
        ]
    )
    assert actions[0] == {
        "type": "create_activity",
        "kind": "task",
        "title": "Call {contact.display_name}",
        "notes": "",
        "due_in_days": 0,
        "assignee": "owner",
        "duration_minutes": 60,
    }
    assert actions[1] == {"type": "add_tag", "tag": "needs review"}
    assert actions[3] == {"type": "stop_playbook", "playbook_id": None}
    assert actions[4]["priority"] == "high"


@pytest.mark.parametrize(
    ("raw", "field", "rule"),
    [
        ([], "actions", "non-empty-list"),
        ([{"type": "launch_rocket"}], "actions[0].type", "choice"),
        ([{"type": "create_activity"}], "actions[0].title", "required"),
        ([{"type": "create_activity", "title": "x", "kind": "party"}], "actions[0].kind", "choice"),
        (
            [{"type": "create_activity", "title": "x", "due_in_days": -1}],
            "actions[0].due_in_days",
            "range",
        ),
        (
            [{"type": "create_activity", "title": "x", "assignee": "boss"}],
            "actions[0].assignee",
            "assignee",
        ),
        ([{"type": "add_tag", "tag": ""}], "actions[0].tag", "required"),
        ([{"type": "add_tag", "tag": "x" * 60}], "actions[0].tag", "max-length"),
        ([{"type": "set_owner", "user_id": "me"}], "actions[0].user_id", "id"),
        ([{"type": "end_relationship"}], "actions[0].reason", "required"),
        (
            [{"type": "end_relationship", "reason": "agreement_ended"}],
            "actions[0].reason",
            "choice",
        ),
        ([{"type": "start_playbook"}], "actions[0].playbook_id", "id"),
        ([{"type": "send_email", "template_id": 0}], "actions[0].template_id", "id"),
        ([{"type": "call_webhook", "subscription_id": True}], "actions[0].subscription_id", "id"),
        (
            [{"type": "create_case", "subject": "x", "priority": "whenever"}],
            "actions[0].priority",
            "choice",
        ),
        ([{"type": "add_tag", "tag": "x", "colour": "red"}], "actions[0].colour", "unknown"),
    ],
)
def test_bad_actions_name_the_field_and_the_rule(raw: object, field: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        R.check_actions(raw)
    assert fields_of(exc).get(field) == rule, fields_of(exc)


def test_a_whole_rule_reports_every_part_at_once() -> None:
    with pytest.raises(InvalidInput) as exc:
        R.check_rule(
            {"type": "event", "event": "nope"},
            {"all": [{"field": "contact.stage", "op": "??", "value": 1}]},
            [{"type": "add_tag"}],
        )
    assert set(fields_of(exc)) == {"trigger.event", "conditions.all[0].op", "actions[0].tag"}
    spec = R.check_rule(
        {"type": "event", "event": "case.opened"}, {}, [{"type": "add_tag", "tag": "support"}]
    )
    assert spec.event_type == "case.opened" and not spec.is_time_based


def test_every_action_type_has_its_keys_listed() -> None:
    assert set(R.ACTION_TYPES) == set(R.ACTION_KEYS)


def test_texts_fill_placeholders_from_facts() -> None:
    facts = {**FACTS, "trigger.field_date": date(2025, 4, 1)}
    text = (
        "Renewal on {trigger.field_date}: {record.title} for {contact.display_name}{contact.nope}"
    )
    assert R.render_text(text, facts) == "Renewal on 2025-04-01: Annual retainer for Ada Lovelace"
    assert R.render_text("{contact.tags} {__class__} {0}", facts) == "vip, retainer {__class__} {0}"


# --- loop protection -------------------------------------------------------------------------


def test_a_rule_never_acts_on_its_own_effects_and_chains_stop() -> None:
    assert R.loop_guard(1, None, 3) is None
    assert R.loop_guard(1, {"rule_id": 1, "depth": 1}, 3) == "own-effect"
    assert R.loop_guard(2, {"rule_id": 1, "depth": 1}, 3) is None
    assert R.loop_guard(2, {"rule_id": 1, "depth": 3}, 3) == "max-depth"
    assert R.depth_of({"rule_id": 1, "depth": 2}) == 2 and R.depth_of(None) == 0


# --- dates -----------------------------------------------------------------------------------


def test_date_occurrences_fire_in_their_window() -> None:
    today = date(2025, 3, 10)
    since = date(2025, 3, 8)
    # 30 days before a renewal on 9 April: due 10 March
    assert R.is_due(date(2025, 4, 9), -30, since, today)
    assert not R.is_due(date(2025, 4, 10), -30, since, today)  # due tomorrow
    # due before the window, but the renewal is still ahead: a late reminder still fires
    assert R.is_due(date(2025, 3, 20), -30, since, today)
    # due before the window, and the date passed: gone
    assert not R.is_due(date(2025, 3, 5), -30, since, today)
    # 7 days after a delivery: due in the window
    assert R.is_due(date(2025, 3, 1), 7, since, today)
    assert not R.is_due(date(2025, 2, 27), 7, since, today)  # due 6 March: before the window


@given(
    offset=st.integers(-400, 400),
    since_back=st.integers(0, 400),
    field_shift=st.integers(-900, 900),
)
def test_the_query_range_holds_every_due_occurrence(
    offset: int, since_back: int, field_shift: int
) -> None:
    today = date(2025, 6, 15)
    since = today - timedelta(days=since_back)
    field_date = today + timedelta(days=field_shift)
    low, high = R.field_range(offset, since, today)
    if R.is_due(field_date, offset, since, today):
        assert low <= field_date <= high


def test_anniversaries_keep_29_february_and_skip_year_zero() -> None:
    assert R.anniversary(date(2020, 2, 29), 2023) == date(2023, 2, 28)
    assert R.anniversary(date(2020, 2, 29), 2024) == date(2024, 2, 29)
    due = R.anniversaries_due(date(2024, 3, 12), 0, date(2025, 3, 10), date(2025, 3, 12))
    assert due == [(2025, date(2025, 3, 12))]
    assert R.anniversaries_due(date(2025, 3, 12), 0, date(2025, 3, 10), date(2025, 3, 12)) == []
    # a week before, in the window of a downtime spanning two years: both fire
    due = R.anniversaries_due(date(2020, 6, 1), -7, date(2023, 1, 1), date(2024, 12, 31))
    assert [year for year, _ in due] == [2023, 2024]


def test_quiet_anchor_is_the_later_of_last_touch_and_becoming_a_client() -> None:
    assert R.quiet_anchor(None, date(2025, 1, 1)) == date(2025, 1, 1)
    assert R.quiet_anchor(date(2024, 1, 1), date(2025, 1, 1)) == date(2025, 1, 1)
    assert R.quiet_anchor(date(2025, 2, 1), date(2025, 1, 1)) == date(2025, 2, 1)
    assert R.quiet_anchor(None, None) is None
    assert R.quiet_through(date(2025, 3, 31), 30) == date(2025, 3, 1)


def test_the_window_starts_at_the_last_evaluation_else_the_rule_s_first_day() -> None:
    assert R.window_start(None, date(2025, 1, 1)) == date(2025, 1, 1)
    assert R.window_start(date(2025, 2, 1), date(2025, 1, 1)) == date(2025, 2, 1)


# --- playbooks -------------------------------------------------------------------------------


def test_playbook_steps_validate_and_get_default_names() -> None:
    steps = P.check_steps(
        [
            {"day": 0, "action": {"type": "create_activity", "title": "Welcome"}},
            {
                "day": 3,
                "name": "Kickoff",
                "action": {"type": "create_activity", "kind": "call", "title": "Kickoff"},
            },
        ]
    )
    assert [s["name"] for s in steps] == ["Create activity: Welcome", "Kickoff"]
    with pytest.raises(InvalidInput) as exc:
        P.check_steps([{"day": -1, "action": {"type": "add_tag"}}, {"when": 2}])
    found = fields_of(exc)
    assert found["steps[0].day"] == "range"
    assert found["steps[0].action.tag"] == "required"
    assert found["steps[1].when"] == "unknown"
    assert found["steps[1].action"] == "object"
    with pytest.raises(InvalidInput):
        P.check_steps([])


def test_run_progress_step_by_step() -> None:
    start = datetime(2025, 3, 3, 10, tzinfo=UTC)
    steps = [{"day": 0, "name": "a"}, {"day": 3, "name": "b"}, {"day": 30, "name": "c"}]
    running = P.progress(
        steps=steps, started_at=start, done=[0], status=P.RunStatus.RUNNING, dead={1: "boom"}
    )
    assert [s.state for s in running] == ["done", "failed", "pending"]
    assert running[2].due_at == start + timedelta(days=30)
    stopped = P.progress(steps=steps, started_at=start, done=[0], status=P.RunStatus.STOPPED)
    assert [s.state for s in stopped] == ["done", "skipped", "skipped"]
    assert P.is_complete([0, 1, 2], 3) and not P.is_complete([0, 0], 2)
    assert P.step_key(12, 3) == "playbook-step:12:3"
    P.check_can_cancel(P.RunStatus.RUNNING)
    with pytest.raises(Exception, match="already completed"):
        P.check_can_cancel(P.RunStatus.COMPLETED)
