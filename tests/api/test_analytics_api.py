"""/api/v1/analytics/*: JSON and CSV, bad ranges, filters, roles and workspace isolation.

The figures themselves are held against the brute force in tests/integration/test_analytics.py;
here a small history made over HTTP (back-dated agreements and ends) checks the wiring.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from tenure.api.routes.analytics import safe_cell
from tenure.db.models import Transition
from tenure.domain.access import Role
from tests.conftest import Server, Tenant, client_for, make_tenant

from .helpers import confirm, create_agreement, create_contact, invalid, ok, problem

RANGE = {"start": "2025-01", "end": "2025-06"}


def _client(
    api: httpx.Client,
    name: str,
    *,
    starts_on: str,
    value: int,
    period: str = "monthly",
    tags: list[str] | None = None,
    owner_id: int | None = None,
) -> dict[str, Any]:
    contact = create_contact(api, display_name=name, tags=tags or [], owner_id=owner_id)
    agreement = create_agreement(
        api,
        contact["id"],
        title=f"{name} plan",
        kind="subscription",
        starts_on=starts_on,
        value_minor=value,
        currency="EUR",
        billing_period=period,
    )
    confirm(api, agreement["id"])
    return contact


def _history(api: httpx.Client, *, owner_id: int | None = None) -> dict[str, dict[str, Any]]:
    """Ann (vip) from 2025-01-15; Ben 2025-02-10 to 2025-03-20 (price); Cat from 2025-04-01,
    owned by ``owner_id``."""
    ann = _client(api, "Ann", starts_on="2025-01-15", value=1000, tags=["VIP"])
    ben = _client(api, "Ben", starts_on="2025-02-10", value=3000, period="quarterly")
    r = api.post(
        f"/contacts/{ben['id']}/end", json={"reason": "price", "effective_on": "2025-03-20"}
    )
    assert r.status_code == 201, r.text
    cat = _client(
        api, "Cat", starts_on="2025-04-01", value=12000, period="yearly", owner_id=owner_id
    )
    return {"ann": ann, "ben": ben, "cat": cat}


def _csv(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(r.text)))


@pytest.fixture
def history(api: httpx.Client, tenant: Tenant) -> dict[str, dict[str, Any]]:
    return _history(api, owner_id=tenant.member(Role.MEMBER).user_id)


def test_retention_json(api: httpx.Client, history: dict[str, Any]) -> None:
    body = ok(api.get("/analytics/retention", params=RANGE))
    assert body["period"] == {"start": "2025-01", "end": "2025-06"}
    assert body["scope"] == {"owner_id": None, "tag": None}
    rows = [
        (m["month"], m["clients_start"], m["new"], m["ended"], m["clients_end"])
        for m in body["months"]
    ]
    assert rows == [
        ("2025-01", 0, 1, 0, 1),
        ("2025-02", 1, 1, 0, 2),
        ("2025-03", 2, 0, 1, 1),
        ("2025-04", 1, 1, 0, 2),
        ("2025-05", 2, 0, 0, 2),
        ("2025-06", 2, 0, 0, 2),
    ]
    march = body["months"][2]
    assert march["ended_by_reason"] == {"price": 1}
    assert march["churn_rate"] == 0.5 and march["retention_rate"] == 0.5
    assert body["months"][0]["churn_rate"] is None


def test_filters(api: httpx.Client, tenant: Tenant, history: dict[str, Any]) -> None:
    vip = ok(api.get("/analytics/retention", params={**RANGE, "tag": " vip "}))
    assert vip["scope"]["tag"] == "vip"
    assert [m["clients_end"] for m in vip["months"]] == [1] * 6
    member = tenant.member(Role.MEMBER).user_id
    owned = ok(api.get("/analytics/retention", params={**RANGE, "owner_id": member}))
    assert [m["new"] for m in owned["months"]] == [0, 0, 0, 1, 0, 0]
    nobody = ok(api.get("/analytics/retention", params={**RANGE, "tag": "nobody"}))
    assert all(m["clients_end"] == 0 for m in nobody["months"])


def test_csv_by_accept_header_or_format(api: httpx.Client, history: dict[str, Any]) -> None:
    by_accept = _csv(api.get("/analytics/retention", params=RANGE, headers={"Accept": "text/csv"}))
    by_format = _csv(api.get("/analytics/retention", params={**RANGE, "format": "csv"}))
    assert by_accept == by_format
    assert [row["month"] for row in by_accept] == [f"2025-0{m}" for m in range(1, 7)]
    march = by_accept[2]
    assert (march["clients_start"], march["ended"], march["ended_price"]) == ("2", "1", "1")
    assert march["churn_rate"] == "0.5" and by_accept[0]["churn_rate"] == ""
    # JSON when asked for, whatever else is accepted; ?format wins over Accept.
    r = api.get(
        "/analytics/retention", params=RANGE, headers={"Accept": "application/json, text/csv;q=0.5"}
    )
    assert r.headers["content-type"].startswith("application/json")
    r = api.get(
        "/analytics/retention", params={**RANGE, "format": "json"}, headers={"Accept": "text/csv"}
    )
    assert r.headers["content-type"].startswith("application/json")
    assert "Accept" in r.headers["vary"]


def test_other_reports(api: httpx.Client, history: dict[str, Any]) -> None:
    cohorts = ok(api.get("/analytics/cohorts", params={**RANGE, "months": 3}))
    assert cohorts["months_after"] == 3
    by_month = {c["cohort"]: c for c in cohorts["cohorts"]}
    assert by_month["2025-02"]["size"] == 1 and by_month["2025-02"]["retained"] == [0, 0, 0]
    assert by_month["2025-01"]["shares"] == [1.0, 1.0, 1.0]
    rows = _csv(api.get("/analytics/cohorts", params={**RANGE, "months": 2, "format": "csv"}))
    assert list(rows[0]) == ["cohort", "size", "retained_1", "retained_2", "share_1", "share_2"]
    assert rows[3] == {
        "cohort": "2025-04",
        "size": "1",
        "retained_1": "1",
        "retained_2": "1",
        "share_1": "1.0",
        "share_2": "1.0",
    }

    reasons = ok(api.get("/analytics/churn-reasons", params=RANGE))
    assert reasons["ended"] == 1
    assert reasons["reasons"] == [{"reason": "price", "ended": 1, "share": 1.0}]

    tenure = ok(api.get("/analytics/tenure", params=RANGE))["tenure"]
    assert tenure["as_of"] == "2025-07-01"
    assert tenure["completed"] == {
        "count": 1,
        "total_days": 38,
        "mean_days": 38.0,
        "median_days": 38.0,
    }
    assert tenure["ongoing"]["count"] == 2
    assert tenure["ongoing"]["total_days"] == 167 + 91  # Ann from Jan 15, Cat from Apr 1
    rows = _csv(api.get("/analytics/tenure", params={**RANGE, "format": "csv"}))
    assert [r["spells"] for r in rows] == ["completed", "ongoing"]

    revenue = ok(api.get("/analytics/revenue", params=RANGE))
    (eur,) = revenue["currencies"]
    assert eur["currency"] == "EUR"
    assert [m["mrr_end"] for m in eur["months"]] == [1000, 2000, 1000, 2000, 2000, 2000]
    march = eur["months"][2]
    assert (march["churned"], march["gross_retention"], march["net_retention"]) == (1000, 0.5, 0.5)
    rows = _csv(api.get("/analytics/revenue", params=RANGE, headers={"Accept": "text/csv"}))
    assert rows[3]["new"] == "1000" and rows[3]["currency"] == "EUR"


def test_defaults_to_the_last_twelve_months(api: httpx.Client) -> None:
    body = ok(api.get("/analytics/retention"))
    assert len(body["months"]) == 12
    assert body["period"]["end"] == datetime.now(UTC).strftime("%Y-%m")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/analytics/retention", {"start": "2025-06", "end": "2025-05"}, "end"),
        ("/analytics/retention", {"start": "2015-06", "end": "2025-06"}, "end"),
        ("/analytics/cohorts", {"start": "2025-13"}, "start"),
        ("/analytics/churn-reasons", {"end": "June"}, "end"),
        ("/analytics/tenure", {"start": "2025-01-01"}, "start"),
        ("/analytics/cohorts", {"months": 0}, "months"),
        ("/analytics/cohorts", {"months": 121}, "months"),
        ("/analytics/revenue", {"owner_id": 0}, "owner_id"),
        ("/analytics/revenue", {"owner_id": 2**64}, "owner_id"),
        ("/analytics/retention", {"tag": "x" * 51}, "tag"),
        ("/analytics/retention", {"format": "xml"}, "format"),
    ],
)
def test_bad_input_names_the_field(
    api: httpx.Client, path: str, params: dict[str, Any], field: str
) -> None:
    assert field in invalid(api.get(path, params=params))


def test_csv_cells_cannot_become_formulas(
    server: Server, api: httpx.Client, tenant: Tenant
) -> None:
    """End reasons of imported history are free text: a reason that a spreadsheet would run is
    quoted."""
    contact = create_contact(api, display_name="Imported")
    rows = [
        ("contact", "client", "2025-01-10", None),
        ("client", "former_client", "2025-02-10", '=HYPERLINK("http://x")'),
        ("former_client", "client", "2025-02-11", None),
        ("client", "former_client", "2025-02-12", "-2+3"),
    ]
    with server.engine.begin() as conn:
        for from_stage, to_stage, day, reason in rows:
            conn.execute(
                insert(Transition).values(
                    workspace_id=tenant.workspace_id,
                    contact_id=contact["id"],
                    from_stage=from_stage,
                    to_stage=to_stage,
                    effective_on=datetime.fromisoformat(day).date(),
                    reason=reason,
                )
            )
    body = _csv(api.get("/analytics/churn-reasons", params={**RANGE, "format": "csv"}))
    assert sorted(r["reason"] for r in body) == ["'-2+3", '\'=HYPERLINK("http://x")']
    header = next(
        csv.reader(
            io.StringIO(api.get("/analytics/retention", params={**RANGE, "format": "csv"}).text)
        )
    )
    assert "ended_-2+3" in header and 'ended_=HYPERLINK("http://x")' in header  # not at a start
    assert ok(api.get("/analytics/churn-reasons", params=RANGE))["ended"] == 2


def test_safe_cell() -> None:
    for text in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"]:
        assert safe_cell(text) == "'" + text
    assert safe_cell("plain") == "plain"
    assert safe_cell(-1) == -1  # numbers we write are data, not text
    assert safe_cell(None) == ""


def test_viewers_read_and_strangers_do_not(
    server: Server, tenant: Tenant, history: dict[str, Any]
) -> None:
    with client_for(server, tenant.member(Role.VIEWER).token) as viewer:
        for path in ["retention", "cohorts", "churn-reasons", "tenure", "revenue"]:
            ok(viewer.get(f"/analytics/{path}", params=RANGE))
    with client_for(server, None) as anonymous:
        problem(anonymous.get("/analytics/retention"), 401)


def test_another_workspace_never_counts(
    server: Server, api: httpx.Client, tenant: Tenant, history: dict[str, Any]
) -> None:
    other = make_tenant(tenant.db, "globex")
    with client_for(server, other.owner.token) as other_api:
        _history(other_api)
        _history(other_api)
        theirs = ok(other_api.get("/analytics/retention", params=RANGE))
        assert theirs["months"][-1]["clients_end"] == 4
        # The other workspace's owner id filters nothing of ours in.
        mine_by_their_owner = ok(
            api.get("/analytics/retention", params={**RANGE, "owner_id": other.owner.user_id})
        )
        assert all(m["clients_end"] == 0 for m in mine_by_their_owner["months"])
    for path, pick in [
        ("retention", lambda b: [m["clients_end"] for m in b["months"]]),
        ("cohorts", lambda b: [c["size"] for c in b["cohorts"]]),
        ("churn-reasons", lambda b: b["ended"]),
        ("tenure", lambda b: b["tenure"]["ongoing"]["count"]),
        ("revenue", lambda b: [m["mrr_end"] for m in b["currencies"][0]["months"]]),
    ]:
        body = ok(api.get(f"/analytics/{path}", params=RANGE))
        assert (
            pick(body)
            == {
                "retention": [1, 2, 1, 2, 2, 2],
                "cohorts": [1, 1, 0, 1, 0, 0],
                "churn-reasons": 1,
                "tenure": 2,
                "revenue": [1000, 2000, 1000, 2000, 2000, 2000],
            }[path]
        ), path
