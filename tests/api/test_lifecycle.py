"""The client lifecycle over HTTP: evidence, conversion by confirming, ending, reactivation,
back-dating, and the history (transitions, timeline, client_since, tenure_days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .helpers import (
    confirm,
    create_agreement,
    create_contact,
    days_ago,
    get,
    invalid,
    iso,
    make_client,
    ok,
    problem,
    timeline_types,
    today,
)


def transitions(api, contact_id: int) -> list[dict]:
    return get(api, f"/contacts/{contact_id}/transitions")["items"]


# --- convert ------------------------------------------------------------------------------------


def test_convert_without_evidence_is_409_naming_the_rule(api) -> None:
    c = create_contact(api)
    for body in ({}, {"note": "trust me"}, {"evidence": None}, None):
        r = api.post(f"/contacts/{c['id']}/convert", json=body)
        problem(r, 409, "evidence-required")
    assert get(api, f"/contacts/{c['id']}")["stage"] == "contact"
    assert transitions(api, c["id"]) == []


def test_convert_with_a_draft_cancelled_or_ended_agreement_is_409(api) -> None:
    c = create_contact(api)
    draft = create_agreement(api, c["id"])
    cancelled = create_agreement(api, c["id"], title="Cancelled")
    ok(api.post(f"/agreements/{cancelled['id']}/cancel"))
    for agreement in (draft, cancelled):
        r = api.post(
            f"/contacts/{c['id']}/convert",
            json={"evidence": {"kind": "agreement", "id": agreement["id"]}},
        )
        body = problem(r, 409, "invalid-evidence")
        assert body["details"] == {"evidence_kind": "agreement", "evidence_id": agreement["id"]}
    # an ended agreement of a former client is no evidence either
    former, agreement = make_client(api, display_name="Former")
    ok(api.post(f"/agreements/{agreement['id']}/end", json={"reason": "completed"}))
    r = api.post(
        f"/contacts/{former['id']}/convert",
        json={"evidence": {"kind": "agreement", "id": agreement["id"]}},
    )
    problem(r, 409, "invalid-evidence")
    assert get(api, f"/contacts/{c['id']}")["stage"] == "contact"
    assert get(api, f"/contacts/{former['id']}")["stage"] == "former_client"


def test_convert_with_another_contacts_agreement_is_409(api) -> None:
    _, theirs = make_client(api, display_name="Owner of the agreement")
    c = create_contact(api, display_name="Hopeful")
    r = api.post(
        f"/contacts/{c['id']}/convert",
        json={"evidence": {"kind": "agreement", "id": theirs["id"]}, "effective_on": iso(today())},
    )
    body = problem(r, 409, "invalid-evidence")
    assert "another contact" in body["detail"]
    assert get(api, f"/contacts/{c['id']}")["stage"] == "contact"
    assert timeline_types(api, c["id"]) == ["contact.created"]


def test_convert_a_client_is_an_invalid_transition(api) -> None:
    client, agreement = make_client(api)
    r = api.post(
        f"/contacts/{client['id']}/convert",
        json={"evidence": {"kind": "agreement", "id": agreement["id"]}},
    )
    body = problem(r, 409, "invalid-transition")
    assert body["details"] == {"stage": "client", "move": "convert"}
    assert len(transitions(api, client["id"])) == 1


def test_convert_errors(api) -> None:
    c = create_contact(api)
    path = f"/contacts/{c['id']}/convert"
    problem(api.post(path, json={"evidence": {"kind": "agreement", "id": 424242}}), 404)
    problem(api.post("/contacts/424242/convert", json={}), 404, "not-found")
    errors = invalid(
        api.post(path, json={"evidence": {"kind": "contract", "id": "x"}, "effective_on": "soon"})
    )
    assert errors == {
        "evidence.kind": "enum",
        "evidence.id": "int_parsing",
        "effective_on": "date_from_datetime_parsing",
    }
    assert invalid(api.post(path, json={"evidence": {"kind": "agreement"}})) == {
        "evidence.id": "missing"
    }
    assert invalid(api.post(path, json={"evidence": {"kind": "agreement", "id": 1}, "x": 1})) == {
        "x": "extra_forbidden"
    }
    problem(api.post(path, json={"evidence": {"kind": "delivery", "id": 424242}}), 404)


# --- conversion by confirming an agreement --------------------------------------------------------


def test_confirming_converts_effective_from_the_agreement_start(api, tenant) -> None:
    c = create_contact(api, display_name="Starter")
    start = days_ago(45)
    a = create_agreement(api, c["id"], starts_on=iso(start))
    confirm(api, a["id"])
    body = get(api, f"/contacts/{c['id']}")
    assert body["stage"] == "client"
    assert body["client_since"] == iso(start)
    assert body["tenure_days"] == 45
    [t] = transitions(api, c["id"])
    assert t["from_stage"] == "contact" and t["to_stage"] == "client"
    assert t["effective_on"] == iso(start)
    assert (t["evidence_kind"], t["evidence_id"]) == ("agreement", a["id"])
    assert t["actor_id"] == tenant.owner.user_id
    assert t["reason"] is None
    event = get(api, f"/contacts/{c['id']}/timeline", type="contact.converted")["items"][0]
    assert event["data"]["effective_on"] == iso(start)
    assert event["data"]["evidence"] == {"kind": "agreement", "id": a["id"]}
    assert event["occurred_at"].startswith(iso(start))
    assert event["subject_type"] == "transition" and event["subject_id"] == t["id"]


def test_a_future_start_is_clamped_to_today(api) -> None:
    c = create_contact(api)
    future = today() + timedelta(days=20)
    a = create_agreement(api, c["id"], starts_on=iso(future))
    active = confirm(api, a["id"])
    assert active["starts_on"] == iso(future)
    body = get(api, f"/contacts/{c['id']}")
    assert body["client_since"] == iso(today())
    assert body["tenure_days"] == 0
    assert transitions(api, c["id"])[0]["effective_on"] == iso(today())


def test_confirming_without_a_start_starts_today(api) -> None:
    c = create_contact(api)
    a = create_agreement(api, c["id"])
    assert a["starts_on"] is None
    assert confirm(api, a["id"])["starts_on"] == iso(today())
    assert get(api, f"/contacts/{c['id']}")["client_since"] == iso(today())


def test_confirm_body_can_set_the_start(api) -> None:
    c = create_contact(api)
    a = create_agreement(api, c["id"], starts_on=iso(days_ago(3)))
    assert confirm(api, a["id"], starts_on=iso(days_ago(10)))["starts_on"] == iso(days_ago(10))
    assert get(api, f"/contacts/{c['id']}")["client_since"] == iso(days_ago(10))


def test_a_second_agreement_does_not_convert_again(api) -> None:
    client, _ = make_client(api, starts_on=days_ago(10))
    b = create_agreement(api, client["id"], title="Extra", starts_on=iso(days_ago(2)))
    confirm(api, b["id"])
    assert len(transitions(api, client["id"])) == 1
    assert get(api, f"/contacts/{client['id']}")["client_since"] == iso(days_ago(10))


# --- ending ---------------------------------------------------------------------------------------


def test_ending_a_relationship_ends_its_active_agreements_with_the_same_date_and_reason(
    api,
) -> None:
    client, first = make_client(api, starts_on=days_ago(100))
    second = create_agreement(api, client["id"], title="Second", starts_on=iso(days_ago(50)))
    confirm(api, second["id"])
    draft = create_agreement(api, client["id"], title="Never signed")
    r = api.post(
        f"/contacts/{client['id']}/end",
        json={"reason": "competitor", "note": "went elsewhere", "effective_on": iso(days_ago(5))},
    )
    t = ok(r, 201)
    assert (t["from_stage"], t["to_stage"]) == ("client", "former_client")
    assert t["reason"] == "competitor" and t["note"] == "went elsewhere"
    assert t["effective_on"] == iso(days_ago(5))
    for a in (first, second):
        ended = get(api, f"/agreements/{a['id']}")
        assert ended["status"] == "ended"
        assert ended["ended_on"] == iso(days_ago(5))
        assert ended["end_reason"] == "competitor"
    assert get(api, f"/agreements/{draft['id']}")["status"] == "draft"
    body = get(api, f"/contacts/{client['id']}")
    assert body["stage"] == "former_client"
    assert body["client_since"] is None
    assert body["tenure_days"] == 95
    types = timeline_types(api, client["id"])
    assert types.count("agreement.ended") == 2
    assert types.count("relationship.ended") == 1
    ended_event = get(api, f"/contacts/{client['id']}/timeline", type="relationship.ended")
    assert ended_event["items"][0]["occurred_at"].startswith(iso(days_ago(5)))
    assert ended_event["items"][0]["data"]["reason"] == "competitor"


def test_ending_today_by_default(api) -> None:
    client, _ = make_client(api, starts_on=days_ago(7))
    t = ok(api.post(f"/contacts/{client['id']}/end", json={"reason": "price"}), 201)
    assert t["effective_on"] == iso(today())
    assert get(api, f"/contacts/{client['id']}")["tenure_days"] == 7


def test_end_needs_a_client_and_a_reason(api) -> None:
    c = create_contact(api)
    body = problem(
        api.post(f"/contacts/{c['id']}/end", json={"reason": "price"}), 409, "invalid-transition"
    )
    assert body["details"]["stage"] == "contact"
    client, _ = make_client(api)
    path = f"/contacts/{client['id']}/end"
    assert invalid(api.post(path, json={})) == {"reason": "missing"}
    assert invalid(api.post(path, json={"reason": "bored"})) == {"reason": "enum"}
    # reasons Tenure sets itself cannot be chosen
    assert invalid(api.post(path, json={"reason": "agreement_ended"})) == {"reason": "choice"}
    assert invalid(api.post(path, json={"reason": "merged"})) == {"reason": "choice"}
    assert invalid(api.post(path, json={"reason": "other", "note": "x" * 5001})) == {
        "note": "string_too_long"
    }
    ok(api.post(path, json={"reason": "other", "note": "ok"}), 201)
    # a former client cannot end again
    problem(api.post(path, json={"reason": "price"}), 409, "invalid-transition")
    problem(api.post("/contacts/424242/end", json={"reason": "price"}), 404)


@pytest.mark.parametrize(
    ("effective_on", "why"),
    [
        (lambda: today() + timedelta(days=1), "future"),
        (lambda: days_ago(31), "before"),
    ],
)
def test_end_refuses_future_dates_and_dates_before_the_previous_transition(
    api, effective_on, why
) -> None:
    client, agreement = make_client(api, starts_on=days_ago(30))
    r = api.post(
        f"/contacts/{client['id']}/end",
        json={"reason": "price", "effective_on": iso(effective_on())},
    )
    body = problem(r, 409, "invalid-effective-date")
    assert body["details"] == {"field": "effective_on"}
    assert ("future" if why == "future" else "before the previous") in body["detail"]
    assert get(api, f"/contacts/{client['id']}")["stage"] == "client"
    assert get(api, f"/agreements/{agreement['id']}")["status"] == "active"
    assert len(transitions(api, client["id"])) == 1


def test_end_on_the_day_of_the_previous_transition_is_allowed(api) -> None:
    client, _ = make_client(api, starts_on=days_ago(30))
    t = ok(
        api.post(
            f"/contacts/{client['id']}/end",
            json={"reason": "moved", "effective_on": iso(days_ago(30))},
        ),
        201,
    )
    assert t["effective_on"] == iso(days_ago(30))
    assert get(api, f"/contacts/{client['id']}")["tenure_days"] == 0


# --- the last agreement ---------------------------------------------------------------------------


def test_the_last_active_agreement_ending_ends_the_relationship(api) -> None:
    client, first = make_client(api, starts_on=days_ago(60))
    second = create_agreement(api, client["id"], title="Second", starts_on=iso(days_ago(40)))
    confirm(api, second["id"])
    ok(api.post(f"/agreements/{first['id']}/end", json={"reason": "completed"}))
    # another agreement still holds it
    assert get(api, f"/contacts/{client['id']}")["stage"] == "client"
    assert len(transitions(api, client["id"])) == 1
    ended = ok(
        api.post(
            f"/agreements/{second['id']}/end",
            json={"reason": "price", "ended_on": iso(days_ago(10)), "note": "too dear"},
        )
    )
    assert ended["status"] == "ended"
    assert ended["ended_on"] == iso(days_ago(10))
    assert ended["end_reason"] == "price" and ended["end_note"] == "too dear"
    body = get(api, f"/contacts/{client['id']}")
    assert body["stage"] == "former_client"
    assert body["tenure_days"] == 50
    last = transitions(api, client["id"])[-1]
    assert last["reason"] == "agreement_ended"
    assert last["effective_on"] == iso(days_ago(10))
    assert last["to_stage"] == "former_client"


def test_ending_cancels_the_agreements_that_had_not_started_and_ends_the_rest(api) -> None:
    """An agreement that starts after the relationship's end never ran: it is cancelled (why is
    on the timeline), never ended before its start. One that starts on the end date ends."""
    end_on = days_ago(5)
    client, running = make_client(api, starts_on=days_ago(100))
    starts_that_day, after_the_end, in_the_future = (
        confirm(api, create_agreement(api, client["id"], title=title, starts_on=iso(start))["id"])
        for title, start in (
            ("Same day", end_on),
            ("After the end", days_ago(3)),
            ("Next month", today() + timedelta(days=30)),
        )
    )
    ok(
        api.post(
            f"/contacts/{client['id']}/end",
            json={"reason": "competitor", "effective_on": iso(end_on)},
        ),
        201,
    )
    for a in (running, starts_that_day):
        ended = get(api, f"/agreements/{a['id']}")
        assert (ended["status"], ended["ended_on"], ended["end_reason"]) == (
            "ended",
            iso(end_on),
            "competitor",
        )
    for a in (after_the_end, in_the_future):
        never_ran = get(api, f"/agreements/{a['id']}")
        assert never_ran["status"] == "cancelled"
        assert never_ran["ended_on"] is None and never_ran["end_reason"] is None
        assert never_ran["starts_on"] == a["starts_on"]
        assert "competitor" in never_ran["end_note"]
    cancelled = get(api, f"/contacts/{client['id']}/timeline", type="agreement.cancelled")["items"]
    assert sorted(e["subject_id"] for e in cancelled) == sorted(
        [after_the_end["id"], in_the_future["id"]]
    )
    for e in cancelled:
        assert e["data"]["reason"] == "competitor"
        assert e["data"]["relationship_ended_on"] == iso(end_on)
        assert e["occurred_at"].startswith(iso(end_on))
        assert "before its start" in e["summary"]
    assert timeline_types(api, client["id"]).count("agreement.ended") == 2
    body = get(api, f"/contacts/{client['id']}")
    assert body["stage"] == "former_client" and body["tenure_days"] == 95


def test_a_user_still_cannot_cancel_an_active_agreement(api) -> None:
    _, active = make_client(api, starts_on=today() + timedelta(days=10))
    problem(api.post(f"/agreements/{active['id']}/cancel"), 409, "invalid-transition")
    assert get(api, f"/agreements/{active['id']}")["status"] == "active"


# --- reactivation ---------------------------------------------------------------------------------


def test_confirming_for_a_former_client_reactivates_and_tenure_sums_the_spells(api) -> None:
    client, first = make_client(api, starts_on=days_ago(100))
    ok(
        api.post(
            f"/contacts/{client['id']}/end",
            json={"reason": "price", "effective_on": iso(days_ago(60))},
        ),
        201,
    )
    assert get(api, f"/contacts/{client['id']}")["tenure_days"] == 40
    again = create_agreement(api, client["id"], title="Back", starts_on=iso(days_ago(30)))
    confirm(api, again["id"])
    body = get(api, f"/contacts/{client['id']}")
    assert body["stage"] == "client"
    assert body["client_since"] == iso(days_ago(30))
    assert body["tenure_days"] == 40 + 30
    history = transitions(api, client["id"])
    assert [(t["from_stage"], t["to_stage"]) for t in history] == [
        ("contact", "client"),
        ("client", "former_client"),
        ("former_client", "client"),
    ]
    assert history[-1]["evidence_id"] == again["id"]
    types = timeline_types(api, client["id"])
    assert "contact.reactivated" in types
    assert types.count("contact.converted") == 1
    event = get(api, f"/contacts/{client['id']}/timeline", type="contact.reactivated")["items"][0]
    assert event["data"]["from_stage"] == "former_client"
    # the first spell's agreement stays ended
    assert get(api, f"/agreements/{first['id']}")["status"] == "ended"


def test_reactivation_is_never_before_the_end(api) -> None:
    client, _ = make_client(api, starts_on=days_ago(100))
    ok(
        api.post(
            f"/contacts/{client['id']}/end",
            json={"reason": "price", "effective_on": iso(days_ago(60))},
        ),
        201,
    )
    # the new agreement started before the relationship ended: the spell starts at the end
    again = create_agreement(api, client["id"], starts_on=iso(days_ago(80)))
    confirm(api, again["id"])
    body = get(api, f"/contacts/{client['id']}")
    assert body["client_since"] == iso(days_ago(60))
    assert body["tenure_days"] == 40 + 60
    dates = [t["effective_on"] for t in transitions(api, client["id"])]
    assert dates == sorted(dates)


def test_transitions_of_a_missing_contact_is_404(api) -> None:
    problem(api.get("/contacts/424242/transitions"), 404, "not-found")
    c = create_contact(api)
    assert get(api, f"/contacts/{c['id']}/transitions") == {"items": []}


# --- deliveries ---------------------------------------------------------------------------------


def delivered(api, contact_id: int, days_back: int) -> dict:
    """A delivery that took place ``days_back`` days ago (scheduling it converts the contact)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days_back)
    delivery = ok(
        api.post(
            "/deliveries",
            json={"contact_id": contact_id, "title": "Visit", "scheduled_start": start.isoformat()},
        ),
        201,
    )
    return ok(api.post(f"/deliveries/{delivery['id']}/deliver"))


def test_explicit_convert_reactivates_with_a_delivery_as_evidence(api) -> None:
    c = create_contact(api, display_name="Serviced")
    visit = delivered(api, c["id"], days_back=10)
    assert get(api, f"/contacts/{c['id']}")["client_since"] == iso(days_ago(10))
    ok(
        api.post(
            f"/contacts/{c['id']}/end", json={"reason": "moved", "effective_on": iso(days_ago(5))}
        ),
        201,
    )
    path = f"/contacts/{c['id']}/convert"
    evidence = {"kind": "delivery", "id": visit["id"]}
    # never in the future, never before the previous transition
    for bad in (today() + timedelta(days=1), days_ago(6)):
        r = api.post(path, json={"evidence": evidence, "effective_on": iso(bad)})
        problem(r, 409, "invalid-effective-date")
    assert get(api, f"/contacts/{c['id']}")["stage"] == "former_client"
    # another contact cannot use it
    other = create_contact(api, display_name="Other")
    problem(
        api.post(f"/contacts/{other['id']}/convert", json={"evidence": evidence}),
        409,
        "invalid-evidence",
    )
    # the default effective date is the delivery's, pulled up to the end of the last spell
    t = ok(api.post(path, json={"evidence": evidence, "note": "back again"}), 201)
    assert (t["from_stage"], t["to_stage"]) == ("former_client", "client")
    assert t["effective_on"] == iso(days_ago(5))
    assert (t["evidence_kind"], t["evidence_id"]) == ("delivery", visit["id"])
    assert t["note"] == "back again"
    body = get(api, f"/contacts/{c['id']}")
    assert body["stage"] == "client"
    assert body["client_since"] == iso(days_ago(5))
    assert body["tenure_days"] == 5 + 5
    assert "contact.reactivated" in timeline_types(api, c["id"])
    # a client cannot convert again
    problem(api.post(path, json={"evidence": evidence}), 409, "invalid-transition")


def test_explicit_convert_with_a_chosen_back_date(api) -> None:
    c = create_contact(api, display_name="Back-dated")
    visit = delivered(api, c["id"], days_back=20)
    ok(
        api.post(
            f"/contacts/{c['id']}/end", json={"reason": "price", "effective_on": iso(days_ago(15))}
        ),
        201,
    )
    r = api.post(
        f"/contacts/{c['id']}/convert",
        json={
            "evidence": {"kind": "delivery", "id": visit["id"]},
            "effective_on": iso(days_ago(15)),
        },
    )
    assert ok(r, 201)["effective_on"] == iso(days_ago(15))
    assert get(api, f"/contacts/{c['id']}")["tenure_days"] == 5 + 15


def test_an_upcoming_scheduled_delivery_holds_the_relationship(api) -> None:
    client, agreement = make_client(api, starts_on=days_ago(30))
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    ok(
        api.post(
            "/deliveries",
            json={
                "contact_id": client["id"],
                "title": "Visit",
                "scheduled_start": start.isoformat(),
            },
        ),
        201,
    )
    ok(api.post(f"/agreements/{agreement['id']}/end", json={"reason": "completed"}))
    body = get(api, f"/contacts/{client['id']}")
    assert body["stage"] == "client"
    assert len(transitions(api, client["id"])) == 1
