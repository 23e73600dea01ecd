"""A first walk through the main flow over HTTP."""

from __future__ import annotations


def test_health_needs_no_token(server) -> None:
    import httpx

    r = httpx.get(server.base_url + "/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_contact_becomes_client_with_agreement(api) -> None:
    r = api.post(
        "/contacts",
        json={
            "given_name": "Ada",
            "family_name": "Lovelace",
            "emails": [{"email": "Ada@Example.com"}],
            "phones": [{"number": "+44 20 7946 0018"}],
        },
    )
    assert r.status_code == 201, r.text
    contact = r.json()
    assert contact["display_name"] == "Ada Lovelace"
    assert contact["emails"][0] == {"email": "ada@example.com", "label": None, "primary": True}
    assert contact["phones"][0]["number"] == "+442079460018"
    assert contact["stage"] == "contact"

    r = api.post(
        f"/contacts/{contact['id']}/convert", json={"evidence": {"kind": "agreement", "id": 999}}
    )
    assert r.status_code == 404

    r = api.post(
        f"/contacts/{contact['id']}/agreements",
        json={
            "title": "Bookkeeping",
            "kind": "subscription",
            "starts_on": "2026-01-01",
            "value_minor": 15000,
            "currency": "gbp",
            "billing_period": "monthly",
        },
    )
    assert r.status_code == 201, r.text
    agreement = r.json()
    assert agreement["status"] == "draft"
    assert agreement["currency"] == "GBP"

    r = api.post(
        f"/contacts/{contact['id']}/convert",
        json={"evidence": {"kind": "agreement", "id": agreement["id"]}},
    )
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid-evidence"

    r = api.post(f"/agreements/{agreement['id']}/confirm")
    assert r.status_code == 200, r.text
    r = api.get(f"/contacts/{contact['id']}")
    body = r.json()
    assert body["stage"] == "client"
    assert body["client_since"] == "2026-01-01"
    assert body["tenure_days"] > 300

    r = api.post(f"/contacts/{contact['id']}/end", json={"reason": "price", "note": "too dear"})
    assert r.status_code == 201, r.text
    assert api.get(f"/agreements/{agreement['id']}").json()["status"] == "ended"
    timeline = api.get(f"/contacts/{contact['id']}/timeline").json()["items"]
    types = [e["type"] for e in timeline]
    assert types == [
        "agreement.ended",
        "relationship.ended",
        "agreement.confirmed",
        "agreement.created",
        "contact.created",
        # back-dated: the conversion sits at the agreement's start, before the record existed
        "contact.converted",
    ]
