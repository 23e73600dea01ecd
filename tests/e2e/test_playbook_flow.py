"""Playbooks in a real browser: write one (a mistake first, shown next to its field, nothing
typed lost), start it for a client from the client page, follow its progress on both pages,
cancel it; and the API docs render from local files under their own policy."""

from __future__ import annotations

import re

import pytest

from tenure.db.uow import session_factory, unit_of_work
from tenure.services import playbooks
from tests.e2e.conftest import PHONE
from tests.web.helpers import new_contact

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")
expect = sync_api.expect

KICKOFF = (
    '{"type": "create_activity", "kind": "call", "title": "Kickoff with {contact.display_name}"}'
)


def test_write_a_playbook_start_it_for_a_client_and_follow_it(web, db, tenant) -> None:
    page = web.page
    contact_id = new_contact(db, tenant, "Ada Lovelace")
    page.goto("/automation")
    page.get_by_role("link", name="New playbook").click()
    expect(page.get_by_role("heading", name="New playbook", level=1)).to_be_visible()

    page.get_by_label("Name", exact=True).fill("Client welcome")
    page.locator("#f-step-0-day").fill("9999")
    page.locator("#f-step-0-name").fill("Welcome pack")
    page.locator("#f-step-1-day").fill("3")
    page.locator("#f-step-1-name").fill("Kickoff call")
    page.locator("#f-step-1-action").fill(KICKOFF)
    page.get_by_role("button", name="Create the playbook").click()

    error = page.locator("#f-step-0-day-err")
    expect(error).to_contain_text("0 to 3660")
    expect(page.locator("#f-step-0-day")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("not saved")
    # Everything typed is still there.
    expect(page.get_by_label("Name", exact=True)).to_have_value("Client welcome")
    expect(page.locator("#f-step-0-day")).to_have_value("9999")
    expect(page.locator("#f-step-1-action")).to_have_value(KICKOFF)
    expect(page.locator("#f-step-1-name")).to_have_value("Kickoff call")

    page.locator("#f-step-0-day").fill("1")
    page.get_by_role("button", name="Create the playbook").click()
    expect(page.get_by_role("status")).to_contain_text("The playbook is created")
    expect(page.get_by_role("heading", name="Client welcome", level=1)).to_be_visible()
    playbook_id = int(re.search(r"/automation/playbooks/(\d+)", page.url).group(1))  # type: ignore[union-attr]

    page.goto(f"/contacts/{contact_id}")
    card = page.locator("#playbook")
    card.get_by_text("Start a playbook").click()
    card.get_by_label("Playbook").select_option(label="Client welcome (2 steps)")
    card.get_by_role("button", name="Start").click()
    expect(card.get_by_text("0 of 2 steps done")).to_be_visible()
    expect(card.get_by_text("Next: Welcome pack")).to_be_visible()
    expect(card.get_by_text("tomorrow")).to_be_visible()

    page.goto(f"/automation/playbooks/{playbook_id}")
    row = page.locator("table.playbook-runs tbody tr").filter(has_text="Ada Lovelace")
    expect(row).to_contain_text("running")
    expect(row).to_contain_text("0 of 2 done")
    expect(row.locator(".steps-track li")).to_have_count(2)
    row.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("status")).to_contain_text("The run is cancelled")
    expect(row).to_contain_text("cancelled")
    expect(row.get_by_role("button", name="Cancel")).to_have_count(0)

    with unit_of_work(session_factory(db.engine)) as session:
        [run] = playbooks.runs_of_contact(tenant.ctx(session), contact_id)
        assert run.run.status == "cancelled" and run.run.playbook_id == playbook_id


def test_the_playbook_editor_fits_a_phone(open_web, db, tenant) -> None:
    web = open_web(viewport=PHONE)
    web.page.goto("/automation/playbooks/new")
    expect(web.page.locator("#f-step-0-action")).to_be_visible()
    width = web.page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"the editor scrolls sideways: {width}px"


def test_the_api_docs_render_from_local_files(web) -> None:
    page = web.page
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(web.base_url) else None,
    )
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .information-container")).to_contain_text("Tenure")
    expect(page.locator(".opblock-tag").first).to_be_visible()
    assert outside == [], outside
