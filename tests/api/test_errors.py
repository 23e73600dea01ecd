"""Authentication, the meta routes, and errors: every error is an RFC 9457 problem document,
and no input, however malformed, produces a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tenure.db.models import ApiToken
from tenure.db.uow import session_factory, unit_of_work
from tenure.services import access
from tests.conftest import client_for

from .helpers import (
    PROBLEM_JSON,
    create_agreement,
    create_contact,
    get,
    invalid,
    make_client,
    ok,
    problem,
)

# --- authentication -------------------------------------------------------------------------------

#: Every authenticated route (ids need not exist: authentication comes first).
PROTECTED: list[tuple[str, str]] = [
    ("GET", "/me"),
    ("GET", "/contacts"),
    ("POST", "/contacts"),
    ("GET", "/contacts/1"),
    ("PATCH", "/contacts/1"),
    ("POST", "/contacts/1/convert"),
    ("POST", "/contacts/1/end"),
    ("GET", "/contacts/1/transitions"),
    ("GET", "/contacts/1/agreements"),
    ("POST", "/contacts/1/agreements"),
    ("GET", "/agreements/1"),
    ("PATCH", "/agreements/1"),
    ("POST", "/agreements/1/confirm"),
    ("POST", "/agreements/1/end"),
    ("POST", "/agreements/1/cancel"),
    ("POST", "/contacts/1/interactions"),
    ("GET", "/interactions/1"),
    ("GET", "/contacts/1/timeline"),
]

BAD_CREDENTIALS = [
    None,
    "Basic dXNlcjpwYXNz",
    "Bearer",
    "Bearer tnr_a tnr_b",
    "Bearer not-a-tenure-token",
    "Bearer tnr_" + "x" * 43,
    "Token tnr_abc",
    "bearer",
]


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_protected_routes_need_a_valid_token(server, method, path) -> None:
    with httpx.Client(base_url=server.base_url + "/api/v1", timeout=30) as anonymous:
        for authorization in BAD_CREDENTIALS:
            headers = {"If-Match": '"1"'}
            if authorization is not None:
                headers["Authorization"] = authorization
            r = anonymous.request(method, path, headers=headers, json={"reason": "price"})
            problem(r, 401, "not-authenticated")
            assert r.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_token_stops_working_at_once(server, tenant) -> None:
    sessions = session_factory(server.engine)
    with unit_of_work(sessions) as session:
        new = access.create_token(
            session, workspace_id=tenant.workspace_id, user_id=tenant.owner.user_id, name="temp"
        )
        token_id, secret = new.token.id, new.secret
    with client_for(server, secret) as temp:
        assert get(temp, "/me")["user_id"] == tenant.owner.user_id
        with sessions() as session:
            used = session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))
        assert used is not None
        with unit_of_work(sessions) as session:
            access.revoke_token(tenant.ctx(session), token_id)
        problem(temp.get("/me"), 401, "not-authenticated")
        problem(temp.post("/contacts", json={"display_name": "X"}), 401)
    # other tokens keep working
    with client_for(server, tenant.owner.token) as owner:
        assert get(owner, "/contacts")["items"] == []


def test_tokens_are_stored_hashed(server, tenant) -> None:
    with session_factory(server.engine)() as session:
        rows = session.scalars(select(ApiToken)).all()
    assert rows
    for row in rows:
        assert row.token_hash != tenant.owner.token
        assert tenant.owner.token not in (row.token_hash, row.prefix)


# --- meta routes ----------------------------------------------------------------------------------


def test_health_needs_no_token_and_names_the_database(server, database) -> None:
    r = httpx.get(server.base_url + "/api/v1/health")
    body = ok(r)
    assert body["status"] == "ok"
    assert body["database"] == database.backend
    assert body["version"]


def test_me(api, tenant) -> None:
    assert get(api, "/me") == {
        "user_id": tenant.owner.user_id,
        "workspace_id": tenant.workspace_id,
        "role": "owner",
        "timezone": "UTC",
    }


def test_every_problem_type_is_documented(api) -> None:
    listed = get(api, "/problems")
    codes = [p["code"] for p in listed]
    assert codes == sorted(codes) and len(codes) == len(set(codes))
    for p in listed:
        assert p["title"]
        assert get(api, f"/problems/{p['code']}") == p
    # every code this suite meets is listed
    seen = {
        problem(api.get("/contacts/424242"), 404)["code"],
        problem(api.post("/contacts", json={}), 422)["code"],
        problem(api.patch("/contacts/1", json={}), 428)["code"],
        problem(api.post("/contacts/1/end", json={"reason": "price"}), 404)["code"],
        problem(
            api.post(
                "/contacts", content=b"[" * 100_000, headers={"content-type": "application/json"}
            ),
            400,
        )["code"],
        problem(api.delete("/contacts"), 405)["code"],
        problem(api.get("/nowhere"), 404)["code"],
        "not-authenticated",
        "forbidden",
        "stale-version",
        "invalid-transition",
        "evidence-required",
        "invalid-evidence",
        "invalid-effective-date",
        "duplicate-value",
        "busy",
        "internal-error",
    }
    assert seen <= set(codes), seen - set(codes)
    problem(api.get("/problems/no-such-problem"), 404, "not-found")


def test_openapi_and_docs(server) -> None:
    spec = ok(httpx.get(server.base_url + "/api/v1/openapi.json"))
    assert spec["openapi"].startswith("3.1")
    expected = {
        "/health": {"get"},
        "/me": {"get"},
        "/problems": {"get"},
        "/problems/{code}": {"get"},
        "/contacts": {"get", "post"},
        "/contacts/{contact_id}": {"get", "patch"},
        "/contacts/{contact_id}/convert": {"post"},
        "/contacts/{contact_id}/end": {"post"},
        "/contacts/{contact_id}/transitions": {"get"},
        "/contacts/{contact_id}/agreements": {"get", "post"},
        "/agreements/{agreement_id}": {"get", "patch"},
        "/agreements/{agreement_id}/confirm": {"post"},
        "/agreements/{agreement_id}/end": {"post"},
        "/agreements/{agreement_id}/cancel": {"post"},
        "/contacts/{contact_id}/interactions": {"post"},
        "/interactions/{interaction_id}": {"get"},
        "/contacts/{contact_id}/timeline": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(spec["paths"]["/api/v1" + path]), path
    assert len(PROTECTED) == sum(len(m) for m in expected.values()) - 3  # all but the public ones
    docs = httpx.get(server.base_url + "/api/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]


def test_unknown_routes_and_methods_are_problems(api) -> None:
    problem(api.get("/nowhere"), 404, "not-found")
    problem(api.delete("/contacts/1"), 405, "method-not-allowed")
    problem(api.put("/agreements/1"), 405)
    r = httpx.get(api.base_url.copy_with(path="/api/v2/contacts"))
    problem(r, 404)


# --- malformed input never produces a 500 -------------------------------------------------------


@pytest.fixture
def targets(api) -> dict[str, int]:
    person = create_contact(api, display_name="Target")
    org = create_contact(api, kind="organization", display_name="Target Org")
    client, active = make_client(api, display_name="Client target")
    draft = create_agreement(api, person["id"], title="Draft target")
    return {
        "person": person["id"],
        "org": org["id"],
        "client": client["id"],
        "draft": draft["id"],
        "active": active["id"],
    }


#: Every write route with a valid body: each field is then replaced by garbage in turn.
WRITE_ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/contacts", {
        "kind": "person", "display_name": "A", "given_name": "B", "family_name": "C",
        "emails": [{"email": "a@example.com", "label": "w", "primary": True}],
        "phones": [{"number": "+442079460018", "label": "m", "primary": True}],
        "address": {"street": "s", "locality": "l", "region": "r", "postal_code": "p",
                    "country": "c"},
        "timezone": "UTC", "tags": ["t"], "owner_id": 1,
        "organizations": [{"organization_id": "{org}", "title": "t"}], "notes": "n",
    }),
    ("PATCH", "/contacts/{person}", {
        "display_name": "A", "given_name": "B", "family_name": "C",
        "emails": [{"email": "b@example.com"}], "phones": [{"number": "+442079460019"}],
        "address": {"street": "s"}, "timezone": "UTC", "tags": ["t"], "owner_id": 1,
        "organizations": [{"organization_id": "{org}"}], "notes": "n",
    }),
    ("POST", "/contacts/{person}/convert", {
        "evidence": {"kind": "agreement", "id": "{draft}"}, "effective_on": "2026-01-01",
        "note": "n",
    }),
    ("POST", "/contacts/{client}/end", {"reason": "price", "note": "n",
                                         "effective_on": "2026-01-01"}),
    ("POST", "/contacts/{person}/agreements", {
        "title": "T", "kind": "contract", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
        "renews_on": "2026-12-01", "value_minor": 100, "currency": "EUR",
        "billing_period": "monthly", "terms": "t",
    }),
    ("PATCH", "/agreements/{draft}", {
        "title": "T", "kind": "contract", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
        "renews_on": "2026-12-01", "value_minor": 100, "currency": "EUR",
        "billing_period": "monthly", "terms": "t",
    }),
    ("POST", "/agreements/{draft}/confirm", {"starts_on": "2026-01-01"}),
    ("POST", "/agreements/{active}/end", {"reason": "price", "ended_on": "2026-01-01",
                                           "note": "n"}),
    ("POST", "/agreements/{draft}/cancel", {"note": "n"}),
    ("POST", "/contacts/{person}/interactions", {
        "channel": "call", "direction": "inbound", "occurred_at": "2026-01-01T09:00:00+01:00",
        "subject": "s", "body": "b", "participants": ["p"],
    }),
]  # fmt: skip

HUGE = 10**30
GARBAGE: list[Any] = [
    HUGE, -HUGE, 2**63, -(2**63) - 1, 0, -1, 1e308, 0.5, True, None, "", " ", [], {},
    [1, "a", None], {"$gt": ""}, "a\x00b", "\x00", "\ud800", "x" * 200_000, "🚀", "İ" * 300,
    "9999-12-31", "0001-01-01", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
    "2026-02-30", "NaN", "null", "<script>", "' OR 1=1 --",
]  # fmt: skip

RAW_BODIES: list[tuple[str, bytes, str]] = [
    ("not json", b"hello", "application/json"),
    ("truncated", b'{"display_name": "x"', "application/json"),
    ("empty", b"", "application/json"),
    ("array", b"[]", "application/json"),
    ("null", b"null", "application/json"),
    ("string", b'"x"', "application/json"),
    ("number", b"12", "application/json"),
    ("deep", b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "application/json"),
    ("nan", b'{"value_minor": NaN, "display_name": NaN}', "application/json"),
    ("huge literal", b'{"value_minor": 1' + b"0" * 5000 + b"}", "application/json"),
    ("bad utf-8", b'{"display_name": "\xff\xfe"}', "application/json"),
    ("text plain", b"display_name=x", "text/plain"),
    ("form", b"display_name=x&title=y", "application/x-www-form-urlencoded"),
    ("no content type", b'{"display_name": "x"}', ""),
]  # fmt: skip


def _no_500(r: httpx.Response) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers
        body = r.json()
        assert body["status"] == r.status_code and body["code"]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    """The base bodies name records as "{person}"; put their ids in."""
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _variants(base: dict[str, Any]):
    """The base body with one field (or one nested field) replaced by each garbage value."""
    for field, value in base.items():
        for junk in GARBAGE:
            yield {**base, field: junk}
            if isinstance(value, dict):
                for inner in value:
                    yield {**base, field: {**value, inner: junk}}
            if isinstance(value, list) and value and isinstance(value[0], dict):
                for inner in value[0]:
                    yield {**base, field: [{**value[0], inner: junk}]}
                yield {**base, field: [junk]}


@pytest.mark.parametrize(
    ("method", "path", "base"), WRITE_ROUTES, ids=[f"{m} {p}" for m, p, _ in WRITE_ROUTES]
)
def test_malformed_bodies_never_produce_a_500(api, targets, method, path, base) -> None:
    url = path.format(**targets)
    version = api.get(url).headers.get("etag", '"1"') if method == "PATCH" else '"1"'
    for name, raw, content_type in RAW_BODIES:
        headers = {"If-Match": version}
        if content_type:
            headers["content-type"] = content_type
        r = api.request(method, url, content=raw, headers=headers)
        _no_500(r)
        if name in ("not json", "truncated", "array", "string", "number", "nan", "bad utf-8"):
            assert r.status_code in (400, 422), (name, r.text)
    statuses = set()
    for body in _variants(_fill(base, targets)):
        # json.dumps escapes what httpx would refuse to encode (lone surrogates)
        r = api.request(
            method,
            url,
            content=json.dumps(body).encode(),
            headers={"If-Match": version, "content-type": "application/json"},
        )
        _no_500(r)
        statuses.add(r.status_code)
        if r.status_code < 300 and method == "PATCH":
            version = r.headers["etag"]
    assert 422 in statuses
    # and the API still answers normally afterwards
    assert get(api, f"/contacts/{targets['person']}")["id"] == targets["person"]


def test_unicode_is_kept(api) -> None:
    name = "Zoë Ångström-Łukasiewicz 山田 🚀"
    c = create_contact(
        api,
        display_name=name,
        emails=[{"email": "zoë@exämple.com"}],
        tags=["Café", "ÉTÉ"],
        notes="\u210c\U0001d522\U0001d529\U0001d529\U0001d52c \u202e RTL",
    )
    again = get(api, f"/contacts/{c['id']}")
    assert again["display_name"] == name
    assert again["tags"] == ["café", "été"]
    assert again["notes"] == "\u210c\U0001d522\U0001d529\U0001d529\U0001d52c \u202e RTL"
    assert [x["id"] for x in get(api, "/contacts", q="山田")["items"]] == [c["id"]]
    assert [x["id"] for x in get(api, "/contacts", q="ZOË")["items"]] == [c["id"]]
    # lower-casing can lengthen a name; it still fits
    long = create_contact(api, display_name="İ" * 300)
    assert get(api, f"/contacts/{long['id']}")["display_name"] == "İ" * 300


PATHS = ["/contacts/{}", "/contacts/{}/timeline", "/contacts/{}/transitions",
         "/contacts/{}/agreements", "/agreements/{}", "/interactions/{}"]  # fmt: skip
IDS = [
    str(HUGE),
    str(2**63),
    str(2**63 - 1),
    "-1",
    "0",
    "1e3",
    "abc",
    "1.5",
    "٣",
    "9" * 5000,
    "%00",
]


@pytest.mark.parametrize("path", PATHS)
def test_malformed_ids_are_404_or_422(api, path) -> None:
    for id_ in IDS:
        r = api.get(path.format(id_))
        _no_500(r)
        assert r.status_code in (404, 422), (id_, r.text)
    r = api.get(path.format(2**63))
    problem(r, 404, "not-found")


QUERIES: list[dict[str, Any]] = [
    {"limit": HUGE},
    {"limit": "9" * 5000},
    {"owner_id": HUGE},
    {"owner_id": -HUGE},
    {"q": "\x00"},
    {"tag": "\x00"},
    {"q": "%_\\'\";--"},
    {"q": "🚀" * 200},
    {"cursor": "\x00"},
    {"cursor": "=" * 10},
    {"cursor": json.dumps([1, 2])},
    {"stage": "\x00"},
    {"sort": ["name", "-name"]},
    {"type": "\x00"},
]


@pytest.mark.parametrize(
    "path", ["/contacts", "/contacts/{id}/timeline", "/contacts/{id}/agreements"]
)
def test_malformed_queries_never_produce_a_500(api, path) -> None:
    c = create_contact(api)
    for params in QUERIES:
        r = api.get(path.format(id=c["id"]), params=params)
        _no_500(r)


def test_tampered_cursors_are_422(api) -> None:
    from .helpers import cursor_of

    c = create_contact(api, display_name="Anyone")
    create_agreement(api, c["id"])
    for values in ([{"a": 1}, 1], [None, None], ["a", 2**63], ["a\x00", 1], [1.5, 1], [True, 1],
                   ["a", "b"], [1], [1, 2, 3], "text", 7):  # fmt: skip
        cursor = cursor_of(values)
        assert invalid(api.get("/contacts", params={"cursor": cursor})) == {"cursor": "cursor"}
        r = api.get("/contacts", params={"cursor": cursor, "sort": "created"})
        assert invalid(r) == {"cursor": "cursor"}
        r = api.get(f"/contacts/{c['id']}/agreements", params={"cursor": cursor})
        assert invalid(r) == {"cursor": "cursor"}
        r = api.get(f"/contacts/{c['id']}/timeline", params={"cursor": cursor})
        assert invalid(r) == {"cursor": "cursor"}


def test_if_match_oddities(api) -> None:
    c = create_contact(api)
    path = f"/contacts/{c['id']}"
    for value in ("", "W/", '""', "1, 2", "9" * 5000, '"-1"', "\u00b2".encode("latin-1")):
        r = api.patch(path, json={"notes": "x"}, headers={"If-Match": value})
        _no_500(r)
        assert r.status_code in (412, 428), (value, r.text)
    assert get(api, path)["version"] == 1
