"""Email over HTTP: settings (admins, password never returned), templates with ETags and
field-named template errors, one-off sends and the email log, the test message, and the
inbound route (content types, status codes, limits, roles, workspace isolation)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.services import email
from tenure.worker.registry import load_handlers
from tenure.worker.runner import Worker, WorkerConfig
from tests.conftest import client_for
from tests.fixtures.email.sink import SmtpSink, fixture

from .helpers import create_contact, invalid, ok, problem, workspace_rows

RFC822 = {"Content-Type": "message/rfc822"}


@pytest.fixture
def sink():
    with SmtpSink() as running:
        yield running


def settings_body(port: int, **overrides: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": "hello@brightbooks.example",
        "from_name": "Bright Books",
        **overrides,
    }


def run_worker(server) -> int:
    return Worker(
        server.engine, WorkerConfig(worker_id="api-test"), handlers=load_handlers()
    ).run_until_idle()


# --- settings ----------------------------------------------------------------------------------


def test_settings_are_for_admins_and_never_return_the_password(api, server, tenant) -> None:
    assert ok(api.get("/settings/email")) == {
        "configured": False,
        "host": None,
        "port": None,
        "security": None,
        "username": None,
        "password_set": False,
        "from_address": None,
        "from_name": None,
    }
    body = settings_body(2525, username="mailer", password="hunter2-secret")
    saved = ok(api.put("/settings/email", json=body))
    assert saved["password_set"] is True and "password" not in saved
    read = api.get("/settings/email")
    assert "hunter2-secret" not in read.text and ok(read)["username"] == "mailer"
    # Omitting the password keeps it; "" clears it; the port defaults from the security.
    kept = ok(api.put("/settings/email", json=settings_body(2525, username="mailer")))
    assert kept["password_set"] is True
    with unit_of_work(session_factory(server.engine)) as session:
        # Stored exactly as given (spaces are part of a password), for the worker to log in.
        assert email.read_smtp(tenant.ctx(session)).password == "hunter2-secret"
    ok(api.put("/settings/email", json=settings_body(2525, password="  spaced out  ")))
    with unit_of_work(session_factory(server.engine)) as session:
        assert email.read_smtp(tenant.ctx(session)).password == "  spaced out  "
    default_port = {k: v for k, v in settings_body(0).items() if k != "port"}
    cleared = ok(api.put("/settings/email", json={**default_port, "password": ""}))
    assert cleared["password_set"] is False and cleared["port"] == 25
    # The workspace's other settings can change without losing the mail server.
    ok(api.patch("/settings", json={"default_cadence_days": 14}))
    assert ok(api.get("/settings/email"))["configured"] is True

    for role in (Role.MEMBER, Role.VIEWER):
        with client_for(server, tenant.member(role).token) as other:
            problem(other.get("/settings/email"), 403, "forbidden")
            problem(other.put("/settings/email", json=body), 403, "forbidden")
            problem(other.post("/email/test"), 403, "forbidden")
    with client_for(server, tenant.member(Role.ADMIN).token) as admin:
        assert ok(admin.get("/settings/email"))["configured"] is True


def test_bad_settings_name_each_field(api) -> None:
    fields = invalid(
        api.put(
            "/settings/email",
            json=settings_body(
                2525, host="smtp example.com", from_address="nobody", from_name="a\nb"
            ),
        )
    )
    assert fields == {"host": "hostname", "from_address": "email", "from_name": "single-line"}
    assert set(invalid(api.put("/settings/email", json=settings_body(0)))) == {"port"}
    assert set(invalid(api.put("/settings/email", json={**settings_body(25), "security": "tls"})))
    assert ok(api.get("/settings/email"))["configured"] is False


def test_the_test_message_goes_to_the_admin(api, server, tenant, sink) -> None:
    problem(api.post("/email/test"), 409)  # not configured yet
    ok(api.put("/settings/email", json=settings_body(sink.port)))
    queued = ok(api.post("/email/test"), 202)
    assert queued["status"] == "queued" and queued["contact_id"] is None
    run_worker(server)
    assert sink.received[0].rcpt_tos == [tenant.owner.email]
    assert sink.received[0].message_id == queued["message_id"]
    assert ok(api.get(f"/emails/{queued['id']}"))["status"] == "sent"


# --- templates ---------------------------------------------------------------------------------


TEMPLATE = {
    "name": "Welcome",
    "subject": "Welcome, {{ contact.first_name }}",
    "text_body": "Hi {{ contact.given_name }}, stage {{ brief.relationship.stage }}.",
    "html_body": "<p>Hi {{ contact.display_name }}</p>",
}


def test_template_crud_with_etags(api) -> None:
    r = api.post("/email-templates", json=TEMPLATE)
    created = ok(r, 201)
    path = r.headers["location"].removeprefix("/api/v1")
    assert r.headers["etag"] == '"1"' and path == f"/email-templates/{created['id']}"
    problem(api.post("/email-templates", json=TEMPLATE), 409, "duplicate-value")
    assert [t["name"] for t in ok(api.get("/email-templates"))["items"]] == ["Welcome"]
    problem(api.patch(path, json={"subject": "New"}), 428, "version-required")
    changed = api.patch(
        path, json={"subject": "Hello {{ contact.name }}"}, headers={"If-Match": '"1"'}
    )
    assert ok(changed)["subject"] == "Hello {{ contact.name }}" and changed.headers["etag"] == '"2"'
    problem(api.patch(path, json={"subject": "x"}, headers={"If-Match": '"1"'}), 412)
    problem(api.delete(path, headers={"If-Match": '"1"'}), 412)
    assert api.delete(path, headers={"If-Match": '"2"'}).status_code == 204
    problem(api.get(path), 404, "not-found")


def test_template_errors_are_422_naming_the_field(api) -> None:
    fields = invalid(
        api.post(
            "/email-templates",
            json={**TEMPLATE, "subject": "{{ contact.name ", "text_body": "{{ contact.nick }}"},
        )
    )
    assert fields == {"subject": "template-syntax", "text_body": "template-undefined"}
    escape = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    assert invalid(api.post("/email-templates", json={**TEMPLATE, "html_body": escape})) == {
        "html_body": "template-unsafe"
    }
    created = ok(api.post("/email-templates", json=TEMPLATE), 201)
    r = api.patch(
        f"/email-templates/{created['id']}",
        json={"text_body": "{{ brief.secret }}"},
        headers={"If-Match": '"1"'},
    )
    assert invalid(r) == {"text_body": "template-undefined"}
    assert ok(api.get(f"/email-templates/{created['id']}"))["version"] == 1


def test_preview_renders_for_a_contact_and_changes_nothing(api, server, tenant) -> None:
    person = create_contact(api, given_name="Ada", family_name="<Lovelace>")
    created = ok(api.post("/email-templates", json=TEMPLATE), 201)
    before = workspace_rows(server.engine, tenant.workspace_id)
    shown = ok(
        api.post(f"/email-templates/{created['id']}/preview", json={"contact_id": person["id"]})
    )
    assert shown == {
        "subject": "Welcome, Ada",
        "text": "Hi Ada, stage contact.",
        "html": "<p>Hi Ada &lt;Lovelace&gt;</p>",
    }
    assert workspace_rows(server.engine, tenant.workspace_id) == before


# --- sending and the log -----------------------------------------------------------------------


def test_a_one_off_email_is_queued_sent_and_logged(api, server, tenant, sink) -> None:
    ok(api.put("/settings/email", json=settings_body(sink.port)))
    person = create_contact(api, given_name="Ada", emails=[{"email": "ada@example.com"}])
    template = ok(api.post("/email-templates", json=TEMPLATE), 201)
    with client_for(server, tenant.member(Role.MEMBER).token) as member:
        r = member.post(
            f"/contacts/{person['id']}/emails",
            json={"subject": "Notes", "text": "As discussed.", "html": "<p>As discussed.</p>"},
        )
        queued = ok(r, 202)
        assert r.headers["location"] == f"/api/v1/emails/{queued['id']}"
        by_template = ok(
            member.post(f"/contacts/{person['id']}/emails", json={"template_id": template["id"]}),
            202,
        )
    assert queued["status"] == "queued" and queued["recipients"] == ["ada@example.com"]
    assert by_template["subject"] == "Welcome, Ada" and by_template["template_id"] == template["id"]
    run_worker(server)
    assert sorted(sink.message_ids()) == sorted([queued["message_id"], by_template["message_id"]])
    log = ok(api.get(f"/contacts/{person['id']}/emails"))
    assert [e["id"] for e in log["items"]] == [by_template["id"], queued["id"]]
    assert {e["status"] for e in log["items"]} == {"sent"}
    assert all(e["interaction_id"] for e in log["items"])
    timeline = ok(
        api.get(f"/contacts/{person['id']}/timeline", params={"type": "interaction.logged"})
    )
    assert {e["data"]["subject"] for e in timeline["items"]} == {"Notes", "Welcome, Ada"}
    # Pages.
    first = ok(api.get(f"/contacts/{person['id']}/emails", params={"limit": 1}))
    second = ok(
        api.get(
            f"/contacts/{person['id']}/emails", params={"limit": 1, "cursor": first["next_cursor"]}
        )
    )
    assert [first["items"][0]["id"], second["items"][0]["id"]] == [by_template["id"], queued["id"]]
    assert second["next_cursor"] is None


def test_sends_that_cannot_happen_are_409_with_the_reason(api, sink) -> None:
    ok(api.put("/settings/email", json=settings_body(sink.port)))
    quiet = create_contact(
        api, display_name="Quiet", emails=[{"email": "q@example.com"}], do_not_email=True
    )
    nowhere = create_contact(api, display_name="Nowhere")
    body = {"subject": "Hi", "text": "x"}
    assert problem(api.post(f"/contacts/{quiet['id']}/emails", json=body), 409)["details"] == {
        "reason": "do_not_email"
    }
    assert problem(api.post(f"/contacts/{nowhere['id']}/emails", json=body), 409)["details"] == {
        "reason": "no_email_address"
    }
    assert set(invalid(api.post(f"/contacts/{nowhere['id']}/emails", json={"text": "x"})))
    assert set(
        invalid(
            api.post(f"/contacts/{quiet['id']}/emails", json={"template_id": 1, "subject": "x"})
        )
    )
    assert ok(api.get(f"/contacts/{quiet['id']}/emails"))["items"] == []


def test_viewers_read_the_log_and_templates_but_write_nothing(api, server, tenant, sink) -> None:
    ok(api.put("/settings/email", json=settings_body(sink.port)))
    person = create_contact(api, display_name="Ada", emails=[{"email": "ada@example.com"}])
    template = ok(api.post("/email-templates", json=TEMPLATE), 201)
    with client_for(server, tenant.member(Role.VIEWER).token) as viewer:
        before = workspace_rows(server.engine, tenant.workspace_id)
        ok(viewer.get(f"/contacts/{person['id']}/emails"))
        ok(viewer.get("/email-templates"))
        ok(viewer.get(f"/email-templates/{template['id']}"))
        writes = [
            viewer.post(f"/contacts/{person['id']}/emails", json={"subject": "s", "text": "t"}),
            viewer.post("/email-templates", json={**TEMPLATE, "name": "Other"}),
            viewer.patch(
                f"/email-templates/{template['id']}",
                json={"name": "X"},
                headers={"If-Match": '"1"'},
            ),
            viewer.delete(f"/email-templates/{template['id']}", headers={"If-Match": '"1"'}),
            viewer.post("/inbound/email", content=fixture("01-plain.eml"), headers=RFC822),
        ]
        for r in writes:
            assert problem(r, 403, "forbidden")["details"]["permission"] == "write"
    assert workspace_rows(server.engine, tenant.workspace_id) == before


# --- inbound -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["message/rfc822", "text/plain; charset=utf-8", "application/octet-stream"]
)
def test_inbound_accepts_raw_messages(api, content_type) -> None:
    margaret = create_contact(
        api, display_name="Margaret", emails=[{"email": "margaret@okafordental.example"}]
    )
    r = api.post(
        "/inbound/email", content=fixture("01-plain.eml"), headers={"Content-Type": content_type}
    )
    body = ok(r, 201)
    assert body["duplicate"] is False and body["thread_id"] == body["message_id"]
    assert [m["contact_id"] for m in body["matched"]] == [margaret["id"]]
    again = ok(api.post("/inbound/email", content=fixture("01-plain.eml"), headers=RFC822), 200)
    assert again["duplicate"] is True and again["matched"] == []
    reply = ok(
        api.post("/inbound/email", content=fixture("03-reply-thread.eml"), headers=RFC822), 201
    )
    assert reply["thread_id"] == "<CAF1234abcd@mail.okafordental.example>"
    log = ok(api.get(f"/contacts/{margaret['id']}/emails"))["items"]
    assert [(e["direction"], e["status"]) for e in log] == [("inbound", "received")] * 2
    types = [e["type"] for e in ok(api.get(f"/contacts/{margaret['id']}/timeline"))["items"]]
    assert types.count("interaction.logged") == 2


def test_inbound_unmatched_is_202_and_writes_nothing(api, server, tenant) -> None:
    before = workspace_rows(server.engine, tenant.workspace_id)
    body = ok(
        api.post("/inbound/email", content=fixture("02-multipart-utf8.eml"), headers=RFC822), 202
    )
    assert body["matched"] == [] and body["duplicate"] is False
    assert workspace_rows(server.engine, tenant.workspace_id) == before


def test_inbound_refuses_bad_input_with_problems_never_500(api, server, tenant) -> None:
    create_contact(
        api, display_name="Margaret", emails=[{"email": "margaret@okafordental.example"}]
    )
    before = workspace_rows(server.engine, tenant.workspace_id)
    assert invalid(api.post("/inbound/email", content=b"", headers=RFC822)) == {
        "message": "required"
    }
    assert invalid(api.post("/inbound/email", content=b"\x00\xff\xfe", headers=RFC822)) == {
        "message": "rfc5322"
    }
    assert invalid(
        api.post("/inbound/email", content=b"Subject: x\r\n\r\nbody", headers=RFC822)
    ) == {"from": "required"}
    problem(
        api.post("/inbound/email", json={"raw": fixture("01-plain.eml").decode()}),
        415,
        "unsupported-media-type",
    )
    huge = fixture("01-plain.eml") + b"x" * (25 * 1024 * 1024)
    problem(api.post("/inbound/email", content=huge, headers=RFC822), 413, "too-large")

    def chunks():  # no Content-Length: the limit holds while streaming
        yield fixture("01-plain.eml")
        for _ in range(26):
            yield b"y" * (1024 * 1024)

    problem(api.post("/inbound/email", content=chunks(), headers=RFC822), 413, "too-large")
    assert workspace_rows(server.engine, tenant.workspace_id) == before


def test_inbound_needs_a_token_and_stays_in_its_workspace(
    api, server, tenant, other_tenant
) -> None:
    with client_for(server, None) as anonymous:
        problem(
            anonymous.post("/inbound/email", content=fixture("01-plain.eml"), headers=RFC822), 401
        )
    mine = create_contact(
        api, display_name="Margaret", emails=[{"email": "margaret@okafordental.example"}]
    )
    with client_for(server, other_tenant.owner.token) as other:
        theirs = create_contact(
            other, display_name="Margaret too", emails=[{"email": "margaret@okafordental.example"}]
        )
        before = workspace_rows(server.engine, tenant.workspace_id)
        # Their contact with the same address gets their copy; mine is untouched.
        body = ok(
            other.post("/inbound/email", content=fixture("01-plain.eml"), headers=RFC822), 201
        )
        assert [m["contact_id"] for m in body["matched"]] == [theirs["id"]]
        assert workspace_rows(server.engine, tenant.workspace_id) == before
        # Mine is not a duplicate of theirs: each workspace logs its own.
        mine_body = ok(
            api.post("/inbound/email", content=fixture("01-plain.eml"), headers=RFC822), 201
        )
        assert [m["contact_id"] for m in mine_body["matched"]] == [mine["id"]]
        # Another workspace's ids answer like missing ones.
        problem(other.get(f"/contacts/{mine['id']}/emails"), 404, "not-found")
        problem(other.get(f"/emails/{mine_body['email_id']}"), 404, "not-found")
        template = ok(api.post("/email-templates", json=TEMPLATE), 201)
        problem(other.get(f"/email-templates/{template['id']}"), 404, "not-found")
        problem(
            other.patch(
                f"/email-templates/{template['id']}",
                json={"name": "x"},
                headers={"If-Match": '"1"'},
            ),
            404,
        )
        problem(
            other.post(
                f"/email-templates/{template['id']}/preview", json={"contact_id": theirs["id"]}
            ),
            404,
        )
        problem(
            other.post(f"/contacts/{mine['id']}/emails", json={"subject": "s", "text": "t"}), 404
        )


def test_the_inbound_route_is_documented_as_raw_message(server) -> None:
    spec = httpx.get(server.base_url + "/api/v1/openapi.json").json()
    content = spec["paths"]["/api/v1/inbound/email"]["post"]["requestBody"]["content"]
    assert set(content) == {"message/rfc822", "text/plain", "application/octet-stream"}
