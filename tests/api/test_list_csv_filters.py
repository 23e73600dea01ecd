"""The activity, case and delivery lists and their CSVs take their filters from one dependency
each: the same query string is accepted or refused alike, with the same fields named, and an
accepted one selects the same rows."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from .helpers import create_contact, ok

NAIVE = "2026-01-01T00:00:00"
AWARE = "2026-01-01T00:00:00+00:00"
HUGE = "99999999999999999999"

#: (list, query): each is sent to the list and to its CSV.
QUERIES: list[tuple[str, dict[str, str]]] = [
    ("/activities", {}),
    ("/activities", {"status": "open", "kind": "call"}),
    ("/activities", {"status": "bogus"}),
    ("/activities", {"kind": "dinner"}),
    ("/activities", {"start": AWARE, "end": "2099-01-01T00:00:00Z"}),
    ("/activities", {"start": NAIVE}),
    ("/activities", {"end": "yesterday"}),
    ("/activities", {"assignee_id": "x", "contact_id": "y"}),
    ("/activities", {"contact_id": "424242"}),
    ("/activities", {"contact_id": HUGE}),
    ("/cases", {}),
    ("/cases", {"status": "open", "priority": "high"}),
    ("/cases", {"priority": "whenever"}),
    ("/cases", {"status": "lost"}),
    ("/cases", {"assignee_id": "me"}),
    ("/cases", {"contact_id": "424242"}),
    ("/deliveries", {}),
    ("/deliveries", {"status": "requested"}),
    ("/deliveries", {"status": "lost"}),
    ("/deliveries", {"service_id": "x"}),
    ("/deliveries", {"start": NAIVE, "end": AWARE}),
    ("/deliveries", {"start": AWARE, "end": "not a time"}),
    ("/deliveries", {"contact_id": "424242"}),
]


@pytest.fixture
def records(api) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A contact with one open call, one case and one requested delivery."""
    contact = create_contact(api, display_name="Ada Lovelace")
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {"kind": "call", "title": "Call", "contact_id": contact["id"], "due_at": due}
    ok(api.post("/activities", json=body), 201)
    ok(api.post("/cases", json={"contact_id": contact["id"], "subject": "Printer"}), 201)
    ok(api.post("/deliveries", json={"contact_id": contact["id"], "title": "Visit"}), 201)
    return contact


def _answer(r: httpx.Response) -> tuple[int, Any]:
    """The status and what matters of the body: the fields a 422 names, the problem code of
    another error."""
    if r.status_code == 200:
        return 200, None
    body = r.json()
    if r.status_code == 422:
        return 422, sorted((e["field"], e["rule"]) for e in body["errors"])
    return r.status_code, body["code"]


def _csv_ids(r: httpx.Response) -> list[int]:
    return [int(row["id"]) for row in csv.DictReader(io.StringIO(r.text))]


@pytest.mark.parametrize(("path", "query"), QUERIES, ids=[f"{p}?{'&'.join(q)}" for p, q in QUERIES])
def test_the_csv_and_the_list_accept_and_refuse_alike(api, records, path, query) -> None:  # type: ignore[no-untyped-def]
    listed = api.get(path, params={**query, "limit": 200})
    exported = api.get(f"{path}.csv", params=query)
    assert _answer(exported) == _answer(listed), (exported.text, listed.text)
    if listed.status_code == 200:
        assert exported.headers["content-type"].startswith("text/csv")
        assert _csv_ids(exported) == [item["id"] for item in listed.json()["items"]]
