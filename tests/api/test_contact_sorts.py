"""Contact list orders by last touch, next activity, health and client since (NULLs last, in
either direction, across keyset pages), and the renewal-window filter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from tenure.db.models import Contact
from tenure.db.uow import session_factory, unit_of_work


def _seed(db, tenant) -> list[int]:
    from tenure.domain.contacts import ContactKind
    from tenure.services import contacts

    now = datetime.now(UTC)
    values = [
        (70, now - timedelta(days=3), date(2020, 1, 1)),
        (None, None, None),
        (20, now - timedelta(days=40), date(2024, 5, 1)),
        (95, now - timedelta(days=1), date(2022, 3, 1)),
        (None, now - timedelta(days=10), None),
        (20, now - timedelta(days=2), date(2023, 7, 1)),
    ]
    ids = []
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        for i, (health, touch, since) in enumerate(values):
            cid = contacts.create_contact(
                ctx, kind=ContactKind.PERSON, display_name=f"P{i}"
            ).contact.id
            session.execute(
                update(Contact)
                .where(Contact.id == cid)
                .values(health_score=health, last_touch_at=touch, client_since=since)
            )
            ids.append(cid)
    return ids


def _walk(api, sort: str) -> list[int]:
    seen, cursor = [], None
    while True:
        params = {"sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/contacts", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [c["id"] for c in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return seen


@pytest.mark.parametrize(
    ("sort", "field"),
    [
        ("health", "health_score"),
        ("-health", "health_score"),
        ("last_touch", "last_touch_at"),
        ("-last_touch", "last_touch_at"),
        ("client_since", "client_since"),
        ("-client_since", "client_since"),
    ],
)
def test_sorts_put_nulls_last_and_page_without_gaps(api, db, tenant, sort, field) -> None:
    ids = _seed(db, tenant)
    order = _walk(api, sort)
    assert sorted(order) == sorted(ids)  # every contact once, across pages of 2
    rows = {c["id"]: c for c in api.get("/contacts", params={"limit": 50}).json()["items"]}
    values = [rows[i][field] for i in order]
    present = [v for v in values if v is not None]
    assert values[: len(present)] == present  # NULLs last
    assert present == sorted(present, reverse=sort.startswith("-"))


def test_renewal_window_filter(api, db, tenant) -> None:
    soon = (date.today() + timedelta(days=10)).isoformat()
    later = (date.today() + timedelta(days=90)).isoformat()
    made = {}
    for name, renews in (("Soon", soon), ("Later", later)):
        cid = api.post("/contacts", json={"display_name": name}).json()["id"]
        a = api.post(
            f"/contacts/{cid}/agreements",
            json={
                "title": "Plan",
                "kind": "subscription",
                "starts_on": "2025-01-01",
                "renews_on": renews,
            },
        ).json()
        api.post(f"/agreements/{a['id']}/confirm")
        made[name] = cid
    found = api.get("/contacts", params={"renewal_within_days": 30}).json()["items"]
    assert [c["id"] for c in found] == [made["Soon"]]
    assert api.get("/contacts", params={"renewal_within_days": -1}).status_code == 422
    assert api.get("/contacts", params={"sort": "bogus"}).status_code == 422
