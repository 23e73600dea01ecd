"""Playbooks in the web UI over HTTP: the editor (errors next to the field, nothing typed lost,
nothing written), starting and cancelling from the client page, per-client progress on the
playbook page, roles, workspaces, escaping, a constant number of statements; and a merged
contact's page leading to its survivor."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from sqlalchemy import func, select

from tenure.db.models import Playbook, PlaybookRun
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.services import duplicates, playbooks
from tests.conftest import Database, Server, Tenant, count_statements
from tests.web.conftest import Browser, login, set_password
from tests.web.helpers import XSS, assert_escaped, new_contact, post_forms, services

STEPS: list[dict[str, Any]] = [
    {
        "day": day,
        "name": name,
        "action": {"type": "create_activity", "kind": "task", "title": f"{name} {{x}}"},
    }
    for day, name in ((1, "Welcome"), (3, "Kickoff"), (30, "Review"))
]
TASK = '{"type": "create_activity", "kind": "task", "title": "Call {contact.display_name}"}'


def _playbook(db: Database, tenant: Tenant, name: str = "Onboard") -> int:
    with services(db, tenant) as ctx:
        return playbooks.create_playbook(ctx, name=name, steps=STEPS).id


def _count(db: Database, model: Any) -> int:
    with unit_of_work(session_factory(db.engine)) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _runs(db: Database) -> list[tuple[int, str]]:
    with unit_of_work(session_factory(db.engine)) as session:
        rows = session.execute(select(PlaybookRun.id, PlaybookRun.status).order_by(PlaybookRun.id))
        return [(int(i), str(s)) for i, s in rows]


def _field_error(html: str, field: str) -> str:
    found = re.search(rf'id="f-{field}-err">([^<]*)<', html)
    assert found, f"no error next to {field}"
    return unescape(found.group(1))


def _input_value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" type="[a-z]+" value="([^"]*)"', html)
    assert found, name
    return unescape(found.group(1))


def test_create_shows_each_error_next_to_its_row_and_keeps_the_input(
    browser: Browser, db: Database, tenant: Tenant
) -> None:
    page = browser.get("/automation/playbooks/new")
    assert page.status_code == 200 and 'name="step-0-action"' in page.text
    form = {
        "name": "Onboarding plus",
        "description": "kept <as typed>",
        "step-0-day": "9999",
        "step-0-name": "Too late",
        "step-0-action": TASK,
        "step-1-day": "",  # a blank row in the middle: ignored, rows keep their place
        "step-2-day": "2",
        "step-2-name": "Broken",
        "step-2-action": '{"type": "fly_to_moon"}',
        "step-3-day": "4",
        "step-3-action": '{"type": "add_tag", ',
    }
    r = browser.post("/automation/playbooks", form)
    assert r.status_code == 422
    # Not JSON: the edge refuses it before the domain, next to its own box.
    assert "not valid JSON" in _field_error(r.text, "step-3-action")
    assert _input_value(r.text, "step-0-name") == "Too late"
    assert '{"type": "add_tag", </textarea>' in unescape(r.text)
    assert _count(db, Playbook) == 0

    form["step-3-action"] = '{"type": "add_tag", "tag": "vip"}'
    r = browser.post("/automation/playbooks", form)
    assert r.status_code == 422
    assert "0 to 3660" in _field_error(r.text, "step-0-day")
    assert "type" in _field_error(r.text, "step-2-action")
    assert 'id="f-step-1-day-err"' not in r.text and 'id="f-step-3-action-err"' not in r.text
    assert _input_value(r.text, "step-0-day") == "9999"
    assert _input_value(r.text, "name") == "Onboarding plus"
    assert "kept &lt;as typed&gt;</textarea>" in r.text
    assert 'aria-invalid="true" aria-describedby="f-step-0-day-err"' in r.text
    assert _count(db, Playbook) == 0

    form |= {"step-0-day": "0", "step-2-action": TASK}
    r = browser.post("/automation/playbooks", form)
    assert r.status_code == 303
    playbook_id = int(r.headers["location"].split("/")[-1].split("?")[0])
    with services(db, tenant) as ctx:
        saved = playbooks.get_playbook(ctx, playbook_id)
        assert [s["day"] for s in saved.steps] == [0, 2, 4]
        assert [s["name"] for s in saved.steps] == ["Too late", "Broken", "Add tag: vip"]
    shown = browser.get(r.headers["location"])
    assert "The playbook is created" in shown.text and "No client is in this playbook" in shown.text


def test_duplicate_name_and_stale_version(browser: Browser, db: Database, tenant: Tenant) -> None:
    first = _playbook(db, tenant, "First")
    second = _playbook(db, tenant, "Second")
    page = browser.get(f"/automation/playbooks/{second}")
    assert _input_value(page.text, "step-2-name") == "Review"
    form = {"name": "First", "version": "1", "step-0-day": "1", "step-0-action": TASK}
    r = browser.post(f"/automation/playbooks/{second}", form)
    assert r.status_code == 409 and "exists" in _field_error(r.text, "name")
    r = browser.post(f"/automation/playbooks/{second}", form | {"name": "Second v2"})
    assert r.status_code == 303
    r = browser.post(f"/automation/playbooks/{second}", form | {"name": "Second v3"})
    assert r.status_code == 409  # version 1 is stale now
    assert _input_value(r.text, "name") == "Second v3"
    with services(db, tenant) as ctx:
        assert playbooks.get_playbook(ctx, second).name == "Second v2"
        assert len(playbooks.get_playbook(ctx, second).steps) == 1
        assert playbooks.get_playbook(ctx, first).name == "First"


def test_start_from_the_client_page_see_progress_and_cancel(
    browser: Browser, db: Database, tenant: Tenant
) -> None:
    playbook_id = _playbook(db, tenant)
    contact_id = new_contact(db, tenant, "Ada Lovelace")
    page = browser.get(f"/contacts/{contact_id}")
    assert "No playbook has run for this contact" in page.text
    assert f'<option value="{playbook_id}"' in page.text

    r = browser.post(f"/contacts/{contact_id}/playbook", {"playbook_id": str(playbook_id)})
    assert r.status_code == 303
    [(run_id, status)] = _runs(db)
    assert status == "running"
    page = browser.get(f"/contacts/{contact_id}").text
    assert "0 of 3 steps done" in page and "Next: Welcome" in page and "tomorrow" in page
    again = browser.post(f"/contacts/{contact_id}/playbook", {"playbook_id": str(playbook_id)})
    assert again.status_code == 409 and "already running" in again.text
    assert len(_runs(db)) == 1
    bad = browser.post(f"/contacts/{contact_id}/playbook", {"playbook_id": "x"})
    assert bad.status_code == 422 and "not a whole number" in bad.text

    book = browser.get(f"/automation/playbooks/{playbook_id}").text
    row = book[book.index(f'id="run-{run_id}"') :]
    assert "Ada Lovelace" in row[:400] and "0 of 3 done" in row and "Welcome" in row
    assert row.count('class="step-pending"') == 3

    r = browser.post(f"/contacts/{contact_id}/playbook-cancel", {"run_id": str(run_id)})
    assert r.status_code == 303 and _runs(db) == [(run_id, "cancelled")]
    page = browser.get(f"/contacts/{contact_id}").text
    assert "cancelled by hand" in page and "playbook-cancel" not in page.split("h-pb")[1][:2000]
    book = browser.get(f"/automation/playbooks/{playbook_id}").text
    assert book.count('class="step-skipped"') == 3
    again = browser.post(f"/contacts/{contact_id}/playbook-cancel", {"run_id": str(run_id)})
    assert again.status_code == 409


def test_cancel_from_the_playbook_page(browser: Browser, db: Database, tenant: Tenant) -> None:
    playbook_id = _playbook(db, tenant)
    contact_id = new_contact(db, tenant, "Grace Hopper")
    with services(db, tenant) as ctx:
        run_id = playbooks.start(ctx, playbook_id=playbook_id, contact_id=contact_id).id
    browser.get(f"/automation/playbooks/{playbook_id}")
    r = browser.post(f"/automation/playbook-runs/{run_id}/cancel", {"next": "//evil.example/"})
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/automation/playbooks/{playbook_id}?done=cancelled")
    assert _runs(db) == [(run_id, "cancelled")]
    assert "The run is cancelled" in browser.get(r.headers["location"]).text


def test_disable_and_enable(browser: Browser, db: Database, tenant: Tenant) -> None:
    playbook_id = _playbook(db, tenant)
    contact_id = new_contact(db, tenant)
    browser.get(f"/automation/playbooks/{playbook_id}")
    assert browser.post(f"/automation/playbooks/{playbook_id}/disable").status_code == 303
    page = browser.get(f"/contacts/{contact_id}").text
    assert f'<option value="{playbook_id}"' not in page  # a disabled one is not offered
    r = browser.post(f"/contacts/{contact_id}/playbook", {"playbook_id": str(playbook_id)})
    assert r.status_code == 409 and _runs(db) == []
    assert browser.post(f"/automation/playbooks/{playbook_id}/enable").status_code == 303
    assert browser.post(f"/automation/playbooks/{playbook_id}/explode").status_code == 404


def test_viewer_reads_and_cannot_write(
    viewer_browser: Browser, server: Server, db: Database, tenant: Tenant
) -> None:
    playbook_id = _playbook(db, tenant)
    contact_id = new_contact(db, tenant)
    with services(db, tenant) as ctx:
        run_id = playbooks.start(ctx, playbook_id=playbook_id, contact_id=contact_id).id
    page = viewer_browser.get(f"/automation/playbooks/{playbook_id}")
    assert page.status_code == 200 and "Kickoff" in page.text
    assert post_forms(page.text) == []
    assert viewer_browser.get("/automation/playbooks/new").status_code == 403
    client = viewer_browser.get(f"/contacts/{contact_id}").text
    assert "Start a playbook" not in client and "playbook-cancel" not in client
    for path, data in (
        ("/automation/playbooks", {"name": "X", "step-0-action": TASK}),
        (f"/automation/playbooks/{playbook_id}", {"name": "X", "version": "1"}),
        (f"/automation/playbooks/{playbook_id}/disable", {}),
        (f"/automation/playbook-runs/{run_id}/cancel", {}),
        (f"/contacts/{contact_id}/playbook", {"playbook_id": str(playbook_id)}),
        (f"/contacts/{contact_id}/playbook-cancel", {"run_id": str(run_id)}),
    ):
        assert viewer_browser.post(path, data).status_code == 403, path
    assert _runs(db) == [(run_id, "running")] and _count(db, Playbook) == 1
    set_password(db, tenant.member(Role.MEMBER).email)
    member = login(server, tenant.member(Role.MEMBER).email)
    assert member.get("/automation/playbooks/new").status_code == 403
    member.get(f"/contacts/{contact_id}")
    r = member.post(f"/contacts/{contact_id}/playbook-cancel", {"run_id": str(run_id)})
    assert r.status_code == 303 and _runs(db) == [(run_id, "cancelled")]  # members run them
    member.client.close()


def test_another_workspace_is_not_found(
    browser: Browser, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = _playbook(db, other_tenant, "Theirs")
    their_contact = new_contact(db, other_tenant, "Their client")
    with services(db, other_tenant) as ctx:
        their_run = playbooks.start(ctx, playbook_id=theirs, contact_id=their_contact).id
    mine = new_contact(db, tenant)
    browser.get("/automation")
    assert browser.get(f"/automation/playbooks/{theirs}").status_code == 404
    assert browser.post(f"/automation/playbooks/{theirs}/disable").status_code == 404
    assert browser.post(f"/automation/playbook-runs/{their_run}/cancel").status_code == 404
    r = browser.post(f"/contacts/{mine}/playbook-cancel", {"run_id": str(their_run)})
    assert r.status_code == 404
    r = browser.post(f"/contacts/{mine}/playbook", {"playbook_id": str(theirs)})
    assert r.status_code == 404
    assert _runs(db) == [(their_run, "running")]


def test_a_run_of_another_client_is_not_cancelled_from_this_page(
    browser: Browser, db: Database, tenant: Tenant
) -> None:
    playbook_id = _playbook(db, tenant)
    one, two = new_contact(db, tenant, "One"), new_contact(db, tenant, "Two")
    with services(db, tenant) as ctx:
        run_id = playbooks.start(ctx, playbook_id=playbook_id, contact_id=one).id
    browser.get(f"/contacts/{two}")
    assert (
        browser.post(f"/contacts/{two}/playbook-cancel", {"run_id": str(run_id)}).status_code == 404
    )
    assert _runs(db) == [(run_id, "running")]


def test_names_are_escaped(browser: Browser, db: Database, tenant: Tenant) -> None:
    playbook_id = _playbook(db, tenant, XSS)
    contact_id = new_contact(db, tenant, XSS)
    with services(db, tenant) as ctx:
        playbooks.start(ctx, playbook_id=playbook_id, contact_id=contact_id)
    for path in (f"/automation/playbooks/{playbook_id}", f"/contacts/{contact_id}", "/automation"):
        assert_escaped(browser.get(path).text)


def test_the_playbook_page_runs_a_constant_number_of_statements(
    browser: Browser, server: Server, db: Database, tenant: Tenant
) -> None:
    playbook_id = _playbook(db, tenant)
    path = f"/automation/playbooks/{playbook_id}"

    def grow(n: int) -> None:
        for i in range(n):
            contact_id = new_contact(db, tenant, f"Client {len(_runs(db))}-{i}")
            with services(db, tenant) as ctx:
                playbooks.start(ctx, playbook_id=playbook_id, contact_id=contact_id)

    def count() -> int:
        browser.get(path)
        with count_statements(server.engine) as seen:
            assert browser.get(path).status_code == 200
        return len(seen)

    grow(3)
    small = count()
    grow(40)
    assert count() == small
    assert browser.get(path).text.count('class="step-pending"') == 43 * 3


def test_a_merged_contact_page_leads_to_the_survivor(
    browser: Browser, db: Database, tenant: Tenant, other_tenant: Tenant
) -> None:
    survivor = new_contact(db, tenant, "Maya Okafor")
    other = new_contact(db, tenant, "Maya O.")
    with services(db, tenant) as ctx:
        duplicates.merge(ctx, survivor, other_id=other)
    r = browser.get(f"/contacts/{other}")
    assert r.status_code == 303
    assert r.headers["location"] == f"/contacts/{survivor}?merged_from={other}"
    page = browser.get(r.headers["location"])
    assert page.status_code == 200 and "Maya O. was merged into Maya Okafor" in page.text
    # The note is only shown for a contact that really was merged into this one.
    unrelated = new_contact(db, tenant, "Someone Else")
    note = "was merged into Maya Okafor"
    assert "was merged into" not in browser.get(f"/contacts/{unrelated}?merged_from={other}").text
    assert note not in browser.get(f"/contacts/{survivor}?merged_from=x").text
    assert note not in browser.get(f"/contacts/{survivor}?merged_from={unrelated}").text
    theirs = new_contact(db, other_tenant, "Not yours")
    assert browser.get(f"/contacts/{theirs}").status_code == 404
