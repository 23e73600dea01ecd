"""The web app over HTTP: login, pages, actions, CSRF, roles, escaping, headers."""

from __future__ import annotations

import re

import httpx


def test_login_required_and_bad_password_is_one_message(server, tenant, db) -> None:
    from tests.web.conftest import set_password

    r = httpx.get(server.base_url + "/contacts", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/contacts")
    set_password(db, tenant.owner.email)
    r = httpx.post(
        server.base_url + "/login", data={"email": tenant.owner.email, "password": "wrong"}
    )
    assert r.status_code == 401 and "wrong email or password" in r.text
    assert tenant.owner.email in r.text  # what they typed is kept
    r = httpx.post(server.base_url + "/login", data={"email": "nobody@x.example", "password": "x"})
    assert r.status_code == 401 and "wrong email or password" in r.text


def test_security_headers_and_cookie_flags(server, tenant, db) -> None:
    from tests.web.conftest import PASSWORD, set_password

    set_password(db, tenant.owner.email)
    r = httpx.post(
        server.base_url + "/login",
        data={"email": tenant.owner.email, "password": PASSWORD, "next": "//evil"},
    )
    assert r.headers["location"] == "/"  # no open redirect
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = httpx.get(server.base_url + "/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text  # no inline script anywhere


def test_a_day_of_client_work(browser) -> None:
    r = browser.post(
        "/contacts",
        {
            "kind": "person",
            "given_name": "Maya",
            "family_name": "Okafor",
            "email": "maya@example.com",
        },
    )
    assert r.status_code == 303
    url = r.headers["location"]
    page = browser.get(url)
    assert page.status_code == 200 and "Maya Okafor" in page.text

    # Converting without evidence explains what is needed and keeps the page.
    r = browser.post(url + "/convert", {"evidence": ""})
    assert r.status_code == 422
    assert "confirmed agreement or a scheduled delivery" in r.text

    r = browser.post(
        url + "/agreement",
        {
            "title": "Quarterly review",
            "kind": "engagement",
            "billing_period": "quarterly",
            "value": "1200",
            "currency": "GBP",
            "confirm": "1",
        },
    )
    assert r.status_code == 303
    page = browser.get(url)
    assert "stage-client" in page.text and "Quarterly review" in page.text

    r = browser.post(
        url + "/interaction",
        {"channel": "call", "direction": "outbound", "subject": "Kick-off", "body": "Went well"},
    )
    assert r.status_code == 303
    page = browser.get(url)
    assert "Call (outbound): Kick-off" in page.text

    r = browser.post(url + "/end", {"reason": ""})
    assert r.status_code == 422 and "choose why the relationship ends" in r.text
    r = browser.post(url + "/end", {"reason": "moved", "note": "relocating"})
    assert r.status_code == 303
    assert "stage-former_client" in browser.get(url).text


def test_bad_input_is_shown_next_to_the_form_and_kept(browser) -> None:
    r = browser.post("/contacts", {"kind": "person", "given_name": "Zed", "email": "not-an-email"})
    assert r.status_code == 422
    assert 'value="not-an-email"' in r.text and 'aria-invalid="true"' in r.text


def test_csrf_is_required_on_every_form(browser) -> None:
    r = browser.client.post("/contacts", data={"kind": "person", "given_name": "X"})
    assert r.status_code == 403
    r = browser.client.post(
        "/contacts", data={"kind": "person", "given_name": "X", "csrf": "forged"}
    )
    assert r.status_code == 403
    listing = browser.get("/contacts")
    assert ">X<" not in listing.text


def test_user_text_is_escaped(browser) -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = browser.post(
        "/contacts", {"kind": "person", "display_name": payload, "notes": "**bold** " + payload}
    )
    url = r.headers["location"]
    page = browser.get(url).text
    import re as _re

    for found in _re.finditer(r"<script>alert|<img[^>]*onerror", page):
        raise AssertionError(page[max(found.start() - 200, 0) : found.end() + 50])
    assert "&lt;script&gt;" in page
    assert "<strong>bold</strong>" in page  # Markdown allowed, sanitized


def test_viewer_sees_no_write_actions_and_cannot_post(viewer_browser, tenant, db) -> None:
    from tenure.db.uow import session_factory, unit_of_work
    from tenure.domain.contacts import ContactKind
    from tenure.services import contacts

    with unit_of_work(session_factory(db.engine)) as session:
        cid = contacts.create_contact(
            tenant.ctx(session), kind=ContactKind.PERSON, display_name="Read Only"
        ).contact.id
    page = viewer_browser.get(f"/contacts/{cid}").text
    assert "Read Only" in page
    assert 'method="post" action="/contacts/' not in page  # no write form at all
    assert "New agreement" not in page and 'id="h-log"' not in page
    assert 'href="/contacts/new"' not in viewer_browser.get("/").text
    r = viewer_browser.post(f"/contacts/{cid}/interaction", {"channel": "note", "subject": "x"})
    assert r.status_code == 403


def test_lists_and_pages_answer(browser) -> None:
    for path in (
        "/",
        "/contacts",
        "/contacts?stage=client",
        "/contacts/new",
        "/contacts?q=zzz&health=at_risk&touch=overdue",
        "/contacts?sort=-health&renewal=30",
        "/contacts?sort=last_touch&stage=client",
    ):
        r = browser.get(path)
        assert r.status_code == 200, path
    assert browser.get("/contacts/999999").status_code == 404
    assert re.search(r"<h1>Page not found|<h1>Not found", browser.get("/nope").text)


def test_logout_ends_the_session(browser) -> None:
    r = browser.post("/logout")
    assert r.status_code == 303
    assert browser.client.get("/").status_code == 303
