"""The per-request plumbing: a read stays a read (the token's last-used time is written after
it, at most once a minute), the security headers reach every response, and a failing handler
still rolls its transaction back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update

from tenure.db.models import ApiToken, Contact, Workspace
from tenure.db.uow import session_factory, unit_of_work
from tenure.services import access

from .helpers import create_contact, get


def _last_used(db, token_id: int | None = None) -> datetime | None:
    with db.session() as session:
        stmt = select(ApiToken.last_used_at).order_by(ApiToken.id)
        if token_id is not None:
            stmt = stmt.where(ApiToken.id == token_id)
        return session.scalars(stmt).first()


def _set_last_used(db, when: datetime | None) -> None:
    with db.engine.begin() as conn:
        conn.execute(update(ApiToken).values(last_used_at=when))


def test_a_read_records_the_token_use_once_a_minute(server, api, tenant, db) -> None:
    stale = datetime.now(UTC) - timedelta(minutes=5)
    _set_last_used(db, stale)
    get(api, "/me")
    used = _last_used(db)
    assert used is not None and used > stale + timedelta(minutes=4)
    # within the minute, reads leave it alone
    recent = datetime.now(UTC) - timedelta(seconds=20)
    _set_last_used(db, recent)
    get(api, "/contacts")
    assert _last_used(db) == recent


def test_a_write_records_the_token_use_in_its_own_transaction(server, api, db) -> None:
    _set_last_used(db, None)
    create_contact(api, display_name="Written")
    assert _last_used(db) is not None


def test_a_stale_read_snapshot_still_records_the_token_use(database, db, tenant) -> None:
    """The failure seen under load: a read whose snapshot another writer has moved past cannot
    become a write on SQLite ("database is locked"). The last-used time is therefore written
    after the read, in a write transaction of its own."""
    _set_last_used(db, None)
    sessions = session_factory(db.engine)
    with unit_of_work(sessions, write=False) as reader:
        principal = access.authenticate_token(reader, tenant.owner.token)
        # another connection commits a write after the read took its snapshot
        with unit_of_work(sessions) as writer:
            writer.execute(
                update(Workspace)
                .where(Workspace.id == tenant.workspace_id)
                .values(name="Acme Renamed")
            )
        assert principal.token.last_used_at is None  # nothing written inside the read
    assert _last_used(db, principal.token.id) is not None


def test_security_headers_on_api_and_pages(server, api) -> None:
    r = api.get("/me")
    assert r.status_code == 200
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in r.headers  # JSON, no policy needed
    page = httpx.get(server.base_url + "/login")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    # one of each, even on error pages and problem documents
    missing = httpx.get(server.base_url + "/no-such-page")
    assert missing.headers.get_list("x-content-type-options") == ["nosniff"]
    assert "content-security-policy" in missing.headers
    problem = api.get("/contacts/999999999")
    assert problem.status_code == 404
    assert problem.headers.get_list("x-content-type-options") == ["nosniff"]


def test_a_docs_page_keeps_its_own_policy(server) -> None:
    page = httpx.get(server.base_url + "/api/docs")
    policies = page.headers.get_list("content-security-policy")
    assert len(policies) == 1 and "sha256-" in policies[0]


def test_a_rejected_write_leaves_nothing_behind(server, api, db) -> None:
    before = get(api, "/contacts")["items"]
    r = api.post("/contacts", json={"display_name": ""})
    assert r.status_code == 422
    r = api.post("/contacts", json={"display_name": "Ok", "owner_id": 999999})
    assert r.status_code == 422
    assert get(api, "/contacts")["items"] == before
    with db.session() as session:
        assert session.scalars(select(Contact)).all() == []
