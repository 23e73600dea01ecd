"""Issue 4's "done means" for one client: the brief tells a newcomer what they need."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def test_brief_of_a_rich_client(api) -> None:
    org = api.post("/contacts", json={"display_name": "Leeds Bakery", "kind": "organization"})
    person = api.post(
        "/contacts",
        json={
            "given_name": "Priya",
            "family_name": "Shah",
            "timezone": "Europe/London",
            "emails": [{"email": "priya@leedsbakery.example"}],
            "organizations": [{"organization_id": org.json()["id"], "title": "Owner"}],
            "tags": ["vip"],
        },
    ).json()
    cid = person["id"]
    agreement = api.post(
        f"/contacts/{cid}/agreements",
        json={
            "title": "Monthly bookkeeping",
            "kind": "subscription",
            "starts_on": (datetime.now(UTC) - timedelta(days=400)).date().isoformat(),
            "renews_on": (datetime.now(UTC) + timedelta(days=20)).date().isoformat(),
            "value_minor": 30000,
            "currency": "GBP",
            "billing_period": "monthly",
        },
    ).json()
    api.post(f"/agreements/{agreement['id']}/confirm")
    old_call = (datetime.now(UTC) - timedelta(days=50)).isoformat()
    call = api.post(
        f"/contacts/{cid}/interactions",
        json={
            "channel": "call",
            "direction": "outbound",
            "occurred_at": old_call,
            "subject": "Year-end planning",
        },
    ).json()
    pref = api.post(
        f"/contacts/{cid}/knowledge",
        json={
            "kind": "preference",
            "key": "preferred_channel",
            "text": "WhatsApp, not email",
            "source_interaction_id": call["id"],
            "pinned": True,
        },
    )
    assert pref.status_code == 201, pref.text
    api.post(f"/contacts/{cid}/knowledge", json={"kind": "do_not", "text": "Never call before 10"})
    promise = api.post(
        f"/contacts/{cid}/commitments",
        json={
            "text": "Send the VAT summary",
            "promised_to": "Priya",
            "due_on": (datetime.now(UTC) - timedelta(days=2)).date().isoformat(),
            "interaction_id": call["id"],
        },
    )
    assert promise.status_code == 201, promise.text
    assert promise.json()["overdue"] is True
    api.post(
        "/cases", json={"contact_id": cid, "subject": "Payroll import failed", "priority": "urgent"}
    )

    brief = api.get(f"/contacts/{cid}/brief")
    assert brief.status_code == 200, brief.text
    b = brief.json()
    assert b["who"]["preferred_channel"] == "WhatsApp, not email"
    assert b["who"]["organizations"] == ["Leeds Bakery (Owner)"]
    assert b["relationship"]["stage"] == "client"
    assert b["relationship"]["active_agreements"][0]["renews_on"] is not None
    assert next(k["kind"] for k in b["knowledge"]) == "preference"  # pinned first
    kinds = {i["kind"] for i in b["open_items"]}
    assert {"commitment", "case"} <= kinds
    assert any(i["overdue"] for i in b["open_items"] if i["kind"] == "commitment")
    since = [e["type"] for e in b["since_last_time"]]
    assert "case.opened" in since and "knowledge.changed" in since
    assert b["health"]["score"] is not None and b["health"]["score"] < 100
    reasons = " ".join(b["health"]["reasons"])
    assert "overdue commitment" in reasons and "open case" in reasons
    assert b["cadence"]["overdue_days"] > 0  # 50 days without a touch, vip default 30

    md = api.get(f"/contacts/{cid}/brief", headers={"Accept": "text/markdown"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert "# Priya Shah" in md.text and "Send the VAT summary" in md.text

    health = api.get(f"/contacts/{cid}/health").json()
    assert health["score"] == b["health"]["score"]
    assert health["history"][-1]["score"] == health["score"]

    # A touch resets the cadence; keeping the promise lifts the score.
    api.post(f"/contacts/{cid}/interactions", json={"channel": "message", "subject": "Hi"})
    api.post(f"/commitments/{promise.json()['id']}/keep")
    after = api.get(f"/contacts/{cid}/brief").json()
    assert after["cadence"]["overdue_days"] == 0
    assert after["health"]["score"] > b["health"]["score"]

    # Knowledge is versioned: an edit keeps the old text for "as of".
    before_edit = datetime.now(UTC).isoformat()
    edited = api.patch(f"/knowledge/{pref.json()['id']}", json={"text": "Signal only"}).json()
    assert edited["supersedes_id"] == pref.json()["id"]
    assert api.patch(f"/knowledge/{pref.json()['id']}", json={"text": "x"}).status_code == 409
    then = api.get(f"/contacts/{cid}/knowledge", params={"as_of": before_edit}).json()
    assert "WhatsApp, not email" in [k["text"] for k in then["items"]]
    now = api.get(f"/contacts/{cid}/knowledge").json()
    assert "Signal only" in [k["text"] for k in now["items"]]
    assert "WhatsApp, not email" not in [k["text"] for k in now["items"]]
    versions = api.get(f"/knowledge/{edited['id']}/versions").json()["items"]
    assert [v["text"] for v in versions] == ["WhatsApp, not email", "Signal only"]
