"""Small helpers for the API tests: building records over HTTP and checking problem documents."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, MetaData, select

PROBLEM_JSON = "application/problem+json"


def today() -> date:
    """Today in the test workspaces' zone (UTC): the API's idea of 'today'."""
    return datetime.now(UTC).date()


def days_ago(n: int) -> date:
    return today() - timedelta(days=n)


def iso(day: date) -> str:
    return day.isoformat()


def problem(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem document with this status (and code), and return it."""
    assert r.status_code == status, f"{r.status_code} != {status}: {r.text}"
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str)
    assert body["type"] == f"/api/v1/problems/{body['code']}"
    if code is not None:
        assert body["code"] == code, body
    return body


def invalid(r: httpx.Response) -> dict[str, str]:
    """A 422 problem's bad fields, as {field: rule}."""
    body = problem(r, 422, "invalid-input")
    assert body["errors"], body
    for error in body["errors"]:
        assert error["field"] and error["rule"] and error["message"], error
    return {e["field"]: e["rule"] for e in body["errors"]}


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.status_code} != {status}: {r.text}"
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def create_contact(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    if not {"given_name", "family_name", "display_name"} & set(fields):
        fields["display_name"] = "Someone"
    return ok(api.post("/contacts", json=fields), 201)


def create_agreement(api: httpx.Client, contact_id: int, **fields: Any) -> dict[str, Any]:
    fields.setdefault("title", "Retainer")
    return ok(api.post(f"/contacts/{contact_id}/agreements", json=fields), 201)


def confirm(api: httpx.Client, agreement_id: int, **body: Any) -> dict[str, Any]:
    r = api.post(f"/agreements/{agreement_id}/confirm", json=body or None)
    return ok(r)


def make_client(
    api: httpx.Client, *, starts_on: date | None = None, **contact: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A contact that became a client by confirming an agreement (start ``starts_on``)."""
    person = create_contact(api, **contact)
    agreement = create_agreement(
        api, person["id"], starts_on=iso(starts_on or days_ago(30)), kind="subscription"
    )
    active = confirm(api, agreement["id"])
    return get(api, f"/contacts/{person['id']}"), active


def get(api: httpx.Client, path: str, **params: Any) -> Any:
    return ok(api.get(path, params=params or None))


def etag(api: httpx.Client, path: str) -> str:
    r = api.get(path)
    assert r.status_code == 200, r.text
    return r.headers["etag"]


def patch(
    api: httpx.Client, path: str, body: Any, *, if_match: str | None = None
) -> httpx.Response:
    """PATCH with the current ETag (or the one given)."""
    return api.patch(path, json=body, headers={"If-Match": if_match or etag(api, path)})


def timeline_types(api: httpx.Client, contact_id: int) -> list[str]:
    items = get(api, f"/contacts/{contact_id}/timeline", limit=200)["items"]
    return [e["type"] for e in items]


def walk(api: httpx.Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Follow next_cursor to the end; the items and the number of pages."""
    items: list[dict[str, Any]] = []
    pages = 0
    cursor = None
    while True:
        query = dict(params)
        if cursor:
            query["cursor"] = cursor
        page = get(api, path, **query)
        pages += 1
        assert len(page["items"]) <= int(params.get("limit", 50))
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages
        assert page["items"], "a page with a next_cursor is never empty"
        assert pages < 1000


def cursor_of(values: Any) -> str:
    """A cursor as the API spells them (for tampering tests)."""
    raw = json.dumps(values).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def workspace_rows(engine: Engine, workspace_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of one workspace in every table the database has (reflected, so tables other
    features add are included), for 'nothing changed' comparisons."""
    meta = MetaData()
    meta.reflect(engine)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            if "workspace_id" in table.c:
                stmt = select(table).where(table.c.workspace_id == workspace_id)
            elif table.name == "workspaces":
                stmt = select(table).where(table.c.id == workspace_id)
            else:
                continue
            columns = [c for c in table.c if c.name != "last_used_at"]
            rows = conn.execute(stmt.with_only_columns(*columns).order_by(*table.primary_key))
            out[table.name] = [tuple(row) for row in rows]
    return out
