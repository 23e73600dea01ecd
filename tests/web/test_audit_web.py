"""The audit log page and the client page's personal-data actions over HTTP: admins only,
keyset "load more", the action filter, escaping, CSRF and the erasure's confirmation."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from tenure.db.models import AuditEntry, Contact
from tenure.domain.access import Role
from tenure.services import audit
from tests.web.conftest import login, set_password
from tests.web.helpers import XSS, assert_escaped, new_contact, services


def rows(html: str) -> list[str]:
    """The actions listed in the audit table, in order."""
    return re.findall(r"<td data-label=\"Action\"><a [^>]*><code>([^<]+)</code>", html)


def next_link(html: str) -> str | None:
    found = re.search(r'<a class="button" rel="next" href="([^"]+)">Load more</a>', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_admins_read_the_log_with_load_more_and_a_filter(browser, db, tenant) -> None:  # type: ignore[no-untyped-def]
    with services(db, tenant) as ctx:
        for n in range(55):
            audit.log(ctx, "test.event", n=n)
        audit.log(ctx, "other.event", note=XSS)
    first = browser.get("/settings/audit")
    assert first.status_code == 200
    assert_escaped(first.text)
    assert rows(first.text)[0] == "other.event" and len(rows(first.text)) == 50
    assert "login.succeeded" not in rows(first.text)  # older than the first page
    seen = rows(first.text)
    link = next_link(first.text)
    assert link is not None
    second = browser.get(link)
    seen += rows(second.text)
    assert next_link(second.text) is None and "login.succeeded" in seen
    assert len(seen) == 57  # 55 + 1 + the owner's login, each once
    filtered = browser.get("/settings/audit", params={"action": "test.event"})
    assert set(rows(filtered.text)) == {"test.event"} and len(rows(filtered.text)) == 50
    more = next_link(filtered.text)
    assert more is not None and "action=test.event" in more
    assert rows(browser.get(more).text) == ["test.event"] * 5
    bad = browser.get("/settings/audit", params={"action": "<script>"})
    assert bad.status_code == 422 and "<script>" not in bad.text
    assert browser.get("/settings/audit", params={"cursor": "garbage"}).status_code in (400, 422)


def test_the_login_is_in_the_log_with_its_ip(browser) -> None:  # type: ignore[no-untyped-def]
    html = browser.get("/settings/audit", params={"action": "login.succeeded"}).text
    assert rows(html) == ["login.succeeded"]
    assert "127.0.0.1" in html and "owner@acme.example" in html


def test_members_and_viewers_get_403(server, db, tenant) -> None:  # type: ignore[no-untyped-def]
    for role in (Role.MEMBER, Role.VIEWER):
        member = tenant.member(role)
        set_password(db, member.email)
        b = login(server, member.email)
        assert b.get("/settings/audit").status_code == 403
        assert b.get("/settings/audit", params={"action": "<x>"}).status_code == 403
        person = new_contact(db, tenant)
        page = b.get(f"/contacts/{person}").text
        assert "Erase personal data" not in page and "Download personal data" not in page
        assert b.get(f"/contacts/{person}/privacy/erase").status_code == 403
        assert b.get(f"/contacts/{person}/privacy/personal-data.json").status_code == 403
        r = b.post(f"/contacts/{person}/privacy/erase", data={"confirm": "yes"})
        assert r.status_code == 403
        with db.session() as s:
            assert s.get_one(Contact, person).erased_at is None
        b.client.close()


def test_erasing_from_the_client_page(browser, db, tenant) -> None:  # type: ignore[no-untyped-def]
    person = new_contact(db, tenant, name=f"Zdeněk {XSS}")
    page = browser.get(f"/contacts/{person}")
    assert f'href="/contacts/{person}/privacy/erase"' in page.text
    confirm = browser.get(f"/contacts/{person}/privacy/erase")
    assert confirm.status_code == 200 and 'name="confirm"' in confirm.text
    assert_escaped(confirm.text)
    download = browser.get(f"/contacts/{person}/privacy/personal-data.json")
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["cache-control"] == "no-store"
    assert json.loads(download.text)["contact"]["display_name"] == f"Zdeněk {XSS}"
    # Without the tick: the form again, with the error next to the box; nothing erased.
    unticked = browser.post(f"/contacts/{person}/privacy/erase")
    assert unticked.status_code == 422 and 'id="erase-confirm-err"' in unticked.text
    # Without the CSRF token: refused.
    forged = browser.client.post(f"/contacts/{person}/privacy/erase", data={"confirm": "yes"})
    assert forged.status_code == 403
    with db.session() as s:
        assert s.get_one(Contact, person).erased_at is None
    done = browser.post(f"/contacts/{person}/privacy/erase", data={"confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == f"/contacts/{person}"
    after = browser.get(f"/contacts/{person}").text
    assert "Erased contact" in after and "Zdeněk" not in after
    assert "Erase personal data…" not in after
    again = browser.post(f"/contacts/{person}/privacy/erase", data={"confirm": "yes"})
    assert again.status_code == 409
    with db.session() as s:
        [entry] = s.scalars(select(AuditEntry).where(AuditEntry.action == "contact.erased"))
        assert entry.source == "ui" and entry.ip == "127.0.0.1"
        assert entry.details == {"contact_id": person}


def test_another_workspace_gets_404(server, db, tenant, other_tenant) -> None:  # type: ignore[no-untyped-def]
    theirs = new_contact(db, other_tenant, name="Their client")
    set_password(db, tenant.owner.email)
    b = login(server, tenant.owner.email)
    assert b.get(f"/contacts/{theirs}/privacy/erase").status_code == 404
    assert b.get(f"/contacts/{theirs}/privacy/personal-data.json").status_code == 404
    assert b.post(f"/contacts/{theirs}/privacy/erase", data={"confirm": "yes"}).status_code == 404
    b.client.close()
