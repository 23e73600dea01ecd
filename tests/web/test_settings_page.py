"""/settings over HTTP: workspace and defaults, members and invites, tokens, email, webhooks,
the services catalog; errors next to fields, audit, roles, CSRF, escaping, statement counts."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from tenure.config import get_settings
from tenure.db.models import ApiToken, AuditEntry, Membership, Service, WebSession, Workspace
from tenure.domain.access import Role
from tenure.services import access, catalog, email, webhooks
from tests.web.conftest import PASSWORD, login, set_password
from tests.web.helpers import XSS, assert_escaped, post_forms, services, statements_of

PAGES = (
    "/settings",
    "/settings/members",
    "/settings/tokens",
    "/settings/email",
    "/settings/webhooks",
    "/settings/services",
)


@pytest.fixture(autouse=True)
def allow_private(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Webhook addresses here are examples that do not resolve: skip the address check."""
    monkeypatch.setenv("TENURE_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def audit_actions(db) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def workspace(db, tenant) -> Workspace:
    with db.session() as s:
        return s.get(Workspace, tenant.workspace_id)


def field_error(html: str, field_id: str) -> str:
    """The error shown right under the field with this id (the page links them)."""
    found = re.search(rf'<p class="field-error" id="{field_id}-err">([^<]*)</p>', html)
    assert found, f"no error next to {field_id}"
    assert re.search(rf'id="{field_id}"[^>]*aria-invalid="true"', html), field_id
    return found.group(1)


# --- workspace and defaults --------------------------------------------------------------------


def test_every_settings_page_renders(browser) -> None:
    for path in PAGES:
        r = browser.get(path)
        assert r.status_code == 200, path
        assert 'aria-current="page">' in r.text


def test_the_workspace_name_and_time_zone_are_saved_and_audited(browser, db, tenant) -> None:
    r = browser.post("/settings/workspace", {"name": "Acme Care", "timezone": "Europe/London"})
    assert r.status_code == 303
    ws = workspace(db, tenant)
    assert (ws.name, ws.timezone) == ("Acme Care", "Europe/London")
    assert "workspace.updated" in audit_actions(db)
    page = browser.get(r.headers["location"]).text
    assert "Saved." in page and 'value="Acme Care"' in page


def test_a_bad_time_zone_is_shown_next_to_it_and_the_input_kept(browser, db, tenant) -> None:
    r = browser.post("/settings/workspace", {"name": "", "timezone": "Mars/Olympus"})
    assert r.status_code == 422
    assert "is not an IANA time zone" in field_error(r.text, "ws-timezone")
    assert "needs a name" in field_error(r.text, "ws-name")
    assert 'value="Mars/Olympus"' in r.text
    assert workspace(db, tenant).name == "Acme"


def test_defaults_are_saved_and_keep_other_settings(browser, db, tenant) -> None:
    with services(db, tenant) as ctx:
        email.set_smtp_settings(ctx, host="smtp.example.com", from_address="hi@example.com")
    data = {
        "default_cadence_days": "21",
        "stale_knowledge_days": "120",
        "schedule_horizon_days": "60",
        "cadence_by_tag": "vip = 7\nquarterly: 90\n",
        **{f"health_weights.{k}": "10" for k in ("touch", "cases")},
        **{
            f"health_weights.{k}": "5"
            for k in ("commitments", "tasks", "service", "renewal", "outcomes")
        },
    }
    r = browser.post("/settings/defaults", data)
    assert r.status_code == 303
    stored = workspace(db, tenant).settings
    assert stored["default_cadence_days"] == 21
    assert stored["cadence_by_tag"] == {"vip": 7, "quarterly": 90}
    assert stored["health_weights"]["touch"] == 10
    assert stored["smtp"]["host"] == "smtp.example.com"  # the mail server stays
    assert "settings.updated" in audit_actions(db)
    page = browser.get("/settings").text
    assert "vip = 7" in page and 'value="21"' in page


def test_bad_defaults_are_shown_next_to_each_field_with_the_input_kept(browser, db, tenant) -> None:
    data = {
        "default_cadence_days": "0",
        "stale_knowledge_days": "lots",
        "schedule_horizon_days": "60",
        "cadence_by_tag": "vip 7",
        "health_weights.touch": "500",
        **{
            f"health_weights.{k}": "5"
            for k in ("commitments", "tasks", "cases", "service", "renewal", "outcomes")
        },
    }
    r = browser.post("/settings/defaults", data)
    assert r.status_code == 422
    assert "not a whole number" in field_error(r.text, "d-stale-knowledge-days")
    assert "write it as" in r.text and 'id="d-cadence-by-tag-err"' in r.text
    assert ">vip 7</textarea>" in r.text and 'value="lots"' in r.text
    # once the form parses, the service's own rules name their fields
    data.update({"stale_knowledge_days": "100", "cadence_by_tag": "vip = 7"})
    r = browser.post("/settings/defaults", data)
    assert r.status_code == 422
    assert "between" in field_error(r.text, "d-default-cadence-days")
    assert "between 0 and 100" in field_error(r.text, "d-health-weights-touch")
    assert 'value="500"' in r.text
    assert "default_cadence_days" not in (workspace(db, tenant).settings or {})


# --- members, roles and invites ------------------------------------------------------------------


def test_adding_a_member_with_a_password(browser, db, tenant, server) -> None:
    r = browser.post(
        "/settings/members",
        {"email": "sam@acme.example", "name": "Sam", "role": "member", "password": PASSWORD},
    )
    assert r.status_code == 303
    assert "Sam" in browser.get("/settings/members").text
    assert "member.added" in audit_actions(db)
    sam = login(server, "sam@acme.example")
    assert sam.get("/settings/members").status_code == 200


def test_invite_link_sets_a_password_once_and_logs_in(browser, db, server) -> None:
    r = browser.post("/settings/members", {"email": "new@acme.example", "role": "viewer"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    link = re.search(r'value="(http[^"]+/invite/inv_[^"]+)"', r.text).group(1)
    page = browser.get("/settings/members").text
    assert link not in page and "invited, link valid until" in page
    guest = httpx.Client(follow_redirects=False)
    form = guest.get(link)
    assert form.status_code == 200 and "new@acme.example" in form.text
    r = guest.post(link, data={"password": "long enough 1", "password_confirm": "different"})
    assert r.status_code == 422 and "the two passwords differ" in r.text
    r = guest.post(link, data={"password": "short", "password_confirm": "short"})
    assert r.status_code == 422 and "at least 8 characters" in field_error(r.text, "inv-password")
    r = guest.post(link, data={"password": "long enough 1", "password_confirm": "long enough 1"})
    assert r.status_code == 303 and "tenure_session" in r.headers["set-cookie"]
    guest.cookies.update(r.cookies)
    home = guest.get(server.base_url + "/")
    assert home.status_code == 200 and "new@acme.example" in home.text
    # used up
    assert guest.get(link).status_code == 404
    assert (
        guest.post(
            link, data={"password": "another one 2", "password_confirm": "another one 2"}
        ).status_code
        == 404
    )
    assert {"invite.created", "invite.accepted"} <= set(audit_actions(db))
    # a forged or mangled link is refused the same way
    assert guest.get(link[:-3] + "abc").status_code == 404
    assert guest.get(server.base_url + "/invite/inv_999_x").status_code == 404
    guest.close()


def test_a_new_invite_link_replaces_the_old_one(browser, db) -> None:
    r = browser.post("/settings/members", {"email": "late@acme.example", "role": "member"})
    first = re.search(r'value="(http[^"]+/invite/inv_[^"]+)"', r.text).group(1)
    user_id = re.search(r'action="/settings/members/(\d+)/invite"', r.text).group(1)
    r = browser.post(f"/settings/members/{user_id}/invite")
    second = re.search(r'value="(http[^"]+/invite/inv_[^"]+)"', r.text).group(1)
    assert first != second
    assert httpx.get(first).status_code == 404 and httpx.get(second).status_code == 200


def test_changing_roles_and_the_rules_about_owners(browser, db, tenant, server) -> None:
    admin = tenant.member(Role.ADMIN)
    member = tenant.member(Role.MEMBER)
    r = browser.post(f"/settings/members/{member.user_id}/role", {"role": "viewer"})
    assert r.status_code == 303
    with db.session() as s:
        role = s.scalars(select(Membership.role).where(Membership.user_id == member.user_id)).one()
    assert role == "viewer" and "member.role_changed" in audit_actions(db)
    # the last owner cannot step down
    r = browser.post(f"/settings/members/{tenant.owner.user_id}/role", {"role": "admin"})
    assert r.status_code == 409
    row = re.search(rf'<tr id="member-{tenant.owner.user_id}">(.*?)</tr>', r.text, re.S).group(1)
    assert "at least one owner" in row
    # an admin cannot make owners nor change one
    set_password(db, admin.email)
    as_admin = login(server, admin.email)
    page = as_admin.get("/settings/members").text
    assert '<option value="owner"' not in page
    assert (
        as_admin.post(f"/settings/members/{member.user_id}/role", {"role": "owner"}).status_code
        == 403
    )
    assert as_admin.post(f"/settings/members/{tenant.owner.user_id}/remove").status_code == 403
    assert (
        as_admin.post(f"/settings/members/{member.user_id}/role", {"role": "member"}).status_code
        == 303
    )


def test_removing_a_member_ends_their_access(browser, db, tenant, server) -> None:
    member = tenant.member(Role.MEMBER)
    set_password(db, member.email)
    theirs = login(server, member.email)
    assert theirs.get("/").status_code == 200
    r = browser.post(f"/settings/members/{member.user_id}/remove")
    assert r.status_code == 303
    assert theirs.client.get("/").status_code == 303  # back to the login page
    with db.session() as s:
        tokens = s.scalars(select(ApiToken).where(ApiToken.user_id == member.user_id)).all()
        assert tokens and all(t.revoked_at is not None for t in tokens)
        assert not s.scalars(select(WebSession).where(WebSession.user_id == member.user_id)).all()
    assert member.email not in browser.get("/settings/members").text
    assert "member.removed" in audit_actions(db)


def test_bad_member_input_is_shown_next_to_the_field(browser) -> None:
    r = browser.post(
        "/settings/members", {"email": "not-an-email", "name": "Kept", "role": "member"}
    )
    assert r.status_code == 422
    assert field_error(r.text, "add-email")
    assert 'value="not-an-email"' in r.text and 'value="Kept"' in r.text
    r = browser.post("/settings/members", {"email": "owner@acme.example", "role": "member"})
    assert r.status_code == 409 and "already a member" in field_error(r.text, "add-email")
    r = browser.post(
        "/settings/members", {"email": "x@acme.example", "role": "member", "password": "short"}
    )
    assert r.status_code == 422 and "at least 8" in field_error(r.text, "add-password")
    assert 'value="short"' not in r.text  # a password is never sent back


# --- API tokens --------------------------------------------------------------------------------


def test_tokens_are_shown_once_work_and_can_be_revoked(browser, db, server) -> None:
    r = browser.post("/settings/tokens", {"name": "Accounting sync"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    secret = re.search(r'value="(tnr_[^"]+)"', r.text).group(1)
    api = httpx.Client(
        base_url=server.base_url + "/api/v1", headers={"Authorization": f"Bearer {secret}"}
    )
    assert api.get("/contacts").status_code == 200
    page = browser.get("/settings/tokens").text
    assert secret not in page and "Accounting sync" in page
    token_id = re.findall(r'action="/settings/tokens/(\d+)/revoke"', page)[-1]
    assert browser.post(f"/settings/tokens/{token_id}/revoke").status_code == 303
    assert api.get("/contacts").status_code == 401
    assert {"token.created", "token.revoked"} <= set(audit_actions(db))
    api.close()
    r = browser.post("/settings/tokens", {"name": "x" * 201})
    assert r.status_code == 422 and "at most 200" in field_error(r.text, "tok-name")


def test_a_member_sees_only_their_tokens(db, tenant, server) -> None:
    member = tenant.member(Role.MEMBER)
    set_password(db, member.email)
    theirs = login(server, member.email)
    page = theirs.get("/settings/tokens").text
    assert "Your API tokens" in page
    assert page.count('action="/settings/tokens/') == 1  # their own "test" token only
    with db.session() as s:
        owners = s.scalars(select(ApiToken.id).where(ApiToken.user_id == tenant.owner.user_id))
        owner_token = owners.first()
    assert theirs.post(f"/settings/tokens/{owner_token}/revoke").status_code == 403


# --- email ---------------------------------------------------------------------------------------


def test_smtp_settings_are_saved_and_the_password_never_shown(browser, db, tenant) -> None:
    data = {
        "host": "smtp.example.com",
        "port": "587",
        "security": "starttls",
        "username": "mailer",
        "password": "s3cret-pass-word",
        "from_address": "team@acme.example",
        "from_name": "Acme",
    }
    assert browser.post("/settings/email/smtp", data).status_code == 303
    page = browser.get("/settings/email").text
    assert "s3cret-pass-word" not in page and 'value="smtp.example.com"' in page
    assert "A password is stored" in page
    # saving again without the password keeps it
    assert browser.post("/settings/email/smtp", {**data, "password": ""}).status_code == 303
    assert workspace(db, tenant).settings["smtp"]["password"] == "s3cret-pass-word"
    r = browser.post("/settings/email/test")
    assert r.status_code == 200 and "A test email is queued to owner@acme.example" in r.text
    bad = {**data, "host": "bad host", "port": "99999", "from_address": "nope"}
    r = browser.post("/settings/email/smtp", bad)
    assert r.status_code == 422
    assert field_error(r.text, "smtp-host") and field_error(r.text, "smtp-port")
    assert field_error(r.text, "smtp-from-address")
    assert 'value="bad host"' in r.text and "s3cret-pass-word" not in r.text


def test_email_templates_are_created_and_edited_with_errors_in_place(browser, db, tenant) -> None:
    r = browser.post(
        "/settings/email/templates",
        {"name": "Welcome", "subject": "Hello {{ contact.first_name }}", "text_body": "Hi"},
    )
    assert r.status_code == 303
    url = r.headers["location"].split("?")[0]
    page = browser.get(url).text
    assert "Hello {{ contact.first_name }}" in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = browser.post(
        url,
        {
            "version": version,
            "name": "Welcome",
            "subject": "Hi {{ contact.nme }}",
            "text_body": "{% if %}",
        },
    )
    assert r.status_code == 422
    assert field_error(r.text, "tpl-subject") and field_error(r.text, "tpl-text-body")
    assert "{% if %}</textarea>" in r.text
    r = browser.post(
        url,
        {
            "version": version,
            "name": "Welcome",
            "subject": "Dear {{ contact.name }}",
            "text_body": "Hello",
        },
    )
    assert r.status_code == 303
    assert "Dear {{ contact.name }}" in browser.get("/settings/email").text
    r = browser.post(
        "/settings/email/templates", {"name": "Welcome", "subject": "x", "text_body": "y"}
    )
    assert r.status_code == 409 and field_error(r.text, "tpl-name")


# --- webhooks ------------------------------------------------------------------------------------


def test_webhooks_created_with_a_secret_once_and_deactivated(browser, db) -> None:
    r = browser.post(
        "/settings/webhooks",
        {
            "url": "https://hooks.example.com/tenure",
            "description": "CRM sync",
            "event_types": ["contact.created", "case.opened"],
        },
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    secret = re.search(r'id="webhook-secret" type="text" readonly value="([^"]+)"', r.text).group(1)
    page = browser.get("/settings/webhooks").text
    assert secret not in page and "CRM sync" in page and "case.opened, contact.created" in page
    hook = re.search(r'action="/settings/webhooks/(\d+)/active"', page).group(1)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = browser.post(f"/settings/webhooks/{hook}/active", {"version": version, "active": "0"})
    assert r.status_code == 303
    assert "Activate" in browser.get("/settings/webhooks").text
    assert "webhook.created" in audit_actions(db)
    r = browser.post("/settings/webhooks", {"url": "ftp://nope", "description": "kept"})
    assert r.status_code == 422
    assert field_error(r.text, "hook-url") and 'id="hook-events-err"' in r.text
    assert 'value="ftp://nope"' in r.text and 'value="kept"' in r.text


# --- the services catalog ------------------------------------------------------------------------


def test_services_are_listed_created_and_edited(browser, db, tenant) -> None:
    r = browser.post(
        "/settings/services",
        {
            "name": "Boiler service",
            "default_duration_minutes": "90",
            "price": "120.50",
            "currency": "gbp",
            "active": "1",
        },
    )
    assert r.status_code == 303
    page = browser.get("/settings/services").text
    assert "Boiler service" in page and "120.50 GBP" in page
    with db.session() as s:
        service = s.scalars(select(Service)).one()
    assert service.default_price_minor == 12050
    edit = browser.get(f"/settings/services/{service.id}").text
    version = re.search(r'name="version" value="(\d+)"', edit).group(1)
    r = browser.post(
        f"/settings/services/{service.id}",
        {
            "version": version,
            "name": "Boiler check",
            "default_duration_minutes": "0",
            "price": "1.234",
            "currency": "XXX",
        },
    )
    assert r.status_code == 422
    assert "two decimals" in field_error(r.text, "svc-price")
    assert 'value="Boiler check"' in r.text and 'value="1.234"' in r.text
    r = browser.post(
        f"/settings/services/{service.id}",
        {
            "version": version,
            "name": "Boiler check",
            "default_duration_minutes": "0",
            "price": "-3",
            "currency": "XXX",
        },
    )
    assert r.status_code == 422
    assert field_error(r.text, "svc-default-duration-minutes")
    assert "negative" in field_error(r.text, "svc-price")
    assert "not a currency" in field_error(r.text, "svc-currency")
    r = browser.post(
        f"/settings/services/{service.id}",
        {
            "version": version,
            "name": "Boiler check",
            "default_duration_minutes": "60",
            "price": "",
            "currency": "",
        },
    )
    assert r.status_code == 303
    page = browser.get("/settings/services").text
    assert "Boiler check" in page and "not offered" in page


# --- roles, CSRF, escaping, statements -----------------------------------------------------------

WRITES = [
    ("/settings/workspace", {"name": "X", "timezone": "UTC"}),
    (
        "/settings/defaults",
        {
            "default_cadence_days": "10",
            "stale_knowledge_days": "10",
            "schedule_horizon_days": "10",
            "cadence_by_tag": "",
            **{
                f"health_weights.{k}": "5"
                for k in (
                    "touch",
                    "commitments",
                    "tasks",
                    "cases",
                    "service",
                    "renewal",
                    "outcomes",
                )
            },
        },
    ),
    ("/settings/members", {"email": "z@acme.example", "role": "member"}),
    ("/settings/members/1/role", {"role": "viewer"}),
    ("/settings/members/1/remove", {}),
    ("/settings/members/1/invite", {}),
    ("/settings/tokens", {"name": "mine"}),
    ("/settings/email/smtp", {"host": "h.example", "from_address": "a@b.example"}),
    ("/settings/email/test", {}),
    ("/settings/email/templates", {"name": "T", "subject": "S", "text_body": "B"}),
    ("/settings/webhooks", {"url": "https://x.example", "event_types": ["*"]}),
    ("/settings/webhooks/1/active", {"version": "1", "active": "0"}),
    ("/settings/services", {"name": "S", "default_duration_minutes": "30"}),
    ("/settings/services/1", {"version": "1", "name": "S", "default_duration_minutes": "30"}),
]


def test_a_viewer_sees_settings_without_any_form_and_cannot_post(
    viewer_browser, browser, db, tenant
) -> None:
    with services(db, tenant) as ctx:
        catalog.create_service(ctx, name="Window cleaning")
        template_id = email.create_template(ctx, name="Hello", subject="Hi", text_body="Body").id
        webhooks.create_subscription(ctx, url="https://x.example/h", event_types=["*"])
    for path in PAGES:
        page = viewer_browser.get(path)
        assert page.status_code == 200, path
        assert post_forms(page.text) == [], (path, post_forms(page.text))
    assert "Window cleaning" in viewer_browser.get("/settings/services").text
    template = viewer_browser.get(f"/settings/email/templates/{template_id}").text
    assert "Body" in template and post_forms(template) == []
    for path, data in WRITES:
        r = viewer_browser.post(path, data)
        assert r.status_code == 403, (path, r.status_code)
    assert workspace(db, tenant).name == "Acme"


@pytest.mark.parametrize("path,data", WRITES)
def test_csrf_is_required(browser, path, data) -> None:
    r = browser.client.post(path, data=data)
    assert r.status_code == 403
    r = browser.client.post(path, data={**data, "csrf": "forged"})
    assert r.status_code == 403


def test_user_text_is_escaped(browser, db, tenant) -> None:
    with services(db, tenant) as ctx:
        access.add_member(ctx, email="x@acme.example", role=Role.MEMBER, name=XSS)
        service_id = catalog.create_service(ctx, name=XSS, description=XSS).id
        template_id = email.create_template(ctx, name=XSS, subject=XSS, text_body=XSS).id
        webhooks.create_subscription(
            ctx, url="https://x.example/h", event_types=["*"], description=XSS
        )
    r = browser.post("/settings/tokens", {"name": XSS})
    assert_escaped(r.text)
    r = browser.post("/settings/workspace", {"name": XSS, "timezone": "UTC"})
    for path in (
        *PAGES,
        f"/settings/email/templates/{template_id}",
        f"/settings/services/{service_id}",
    ):
        assert_escaped(browser.get(path).text)
    r = browser.post("/settings/members", {"email": XSS, "role": "member"})
    assert r.status_code == 422
    assert_escaped(r.text)


def test_statements_do_not_grow_with_the_data(server, browser, db, tenant) -> None:
    def add(start: int, end: int) -> None:
        with services(db, tenant) as ctx:
            for i in range(start, end):
                access.invite_member(ctx, email=f"m{i}@acme.example", role=Role.MEMBER)
                catalog.create_service(
                    ctx, name=f"Service {i}", default_price_minor=100, currency="GBP"
                )
                email.create_template(ctx, name=f"T{i}", subject="S", text_body="B")
                webhooks.create_subscription(ctx, url=f"https://x{i}.example/h", event_types=["*"])
                access.create_token(
                    ctx.session,
                    workspace_id=tenant.workspace_id,
                    user_id=tenant.owner.user_id,
                    name=f"t{i}",
                )

    add(0, 5)
    small = {path: statements_of(server, browser, path) for path in PAGES}
    add(5, 60)
    large = {path: statements_of(server, browser, path) for path in PAGES}
    for path in PAGES:
        assert len(small[path]) == len(large[path]), (path, small[path], large[path])
        assert len(large[path]) <= 6, (path, large[path])
    assert browser.get("/settings/members").text.count("invited, link valid until") == 60
