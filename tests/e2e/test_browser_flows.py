"""The web app in a real browser: Chromium (headless, through Playwright) on the test server.

These prove what the HTTP-level web tests cannot: that the pages work as a person uses them,
with the JavaScript (inline actions, keyboard shortcuts), the Content-Security-Policy and the
layout on a phone. They never sleep: every check is Playwright's auto-waiting ``expect``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tenure.domain.access import Role
from tenure.domain.agreements import AgreementKind, BillingPeriod
from tenure.domain.lifecycle import EndReason
from tenure.services import agreements, contacts, interactions, lifecycle
from tests.e2e.conftest import PHONE
from tests.web.helpers import XSS, new_contact, services

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")
expect = sync_api.expect


def _client(db, tenant, name: str) -> int:
    """A client: a contact with a confirmed agreement (through the services, like the API)."""
    contact_id = new_contact(db, tenant, name)
    with services(db, tenant) as ctx:
        agreement = agreements.create_agreement(
            ctx,
            contact_id,
            title="Monthly bookkeeping",
            kind=AgreementKind.ENGAGEMENT,
            billing_period=BillingPeriod.MONTHLY,
            value_minor=25_000,
            currency="GBP",
        )
        agreements.confirm(ctx, agreement.id)
    return contact_id


def _no_horizontal_scroll(page, width: int) -> None:
    scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} scrolls sideways: {scroll_width}px > {width}px"


def _fresh_page_marker(page) -> None:
    """Marks this document: the mark survives in-page updates and is gone after a reload."""
    page.evaluate("window.__tenureE2e = 'same document'")


def _still_same_document(page) -> None:
    assert page.evaluate("window.__tenureE2e") == "same document", "the page reloaded"


def test_a_client_from_first_agreement_to_goodbye(web, db, tenant) -> None:
    """Log in, search, convert with an agreement, log inline, plan a service, brief, end."""
    page = web.page
    for name in ("Maya Okafor", "Jonas Berg", "Priya Raman"):
        new_contact(db, tenant, name)

    # Find the contact with the search box in the top bar.
    page.get_by_role("searchbox", name="Search contacts").fill("okafor")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/contacts\?q=okafor"))
    results = page.locator("table.table tbody")
    expect(results.get_by_role("link", name="Maya Okafor")).to_be_visible()
    expect(results).not_to_contain_text("Jonas Berg")
    results.get_by_role("link", name="Maya Okafor").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maya Okafor")
    stage = page.locator(".client-header .badge")
    expect(stage).to_have_text("contact")
    client_url = page.url

    # Convert: the "New agreement" form, confirmed now (the evidence the lifecycle needs).
    agreements_card = page.locator("#agreements")
    agreements_card.get_by_text("New agreement").click()
    agreements_card.get_by_label("Title").fill("Annual accounts")
    agreements_card.locator("select[name=billing_period]").select_option("yearly")
    agreements_card.locator("input[name=value]").fill("1800")
    expect(agreements_card.get_by_label("Confirm now (the client agreed)")).to_be_checked()
    agreements_card.get_by_role("button", name="Save agreement").click()
    expect(stage).to_have_text("client")
    expect(page.locator(".facts")).to_contain_text("Client since")
    expect(agreements_card.locator("li").filter(has_text="Annual accounts")).to_contain_text(
        "active"
    )
    timeline = page.locator("#timeline-items")
    expect(timeline).to_contain_text("contact.converted")
    expect(timeline).to_contain_text("agreement.confirmed")

    # Log an interaction with the quick box: it appears without a full page load.
    _fresh_page_marker(page)
    log = page.locator("#interaction")
    log.locator("select[name=channel]").select_option("call")
    log.get_by_label("Subject").fill("Kick-off call")
    log.get_by_label("Notes (Markdown)").fill("Agreed the **year-end** timetable.")
    log.get_by_role("button", name="Log", exact=True).click()
    expect(timeline.locator("li").first).to_contain_text("Call (outbound): Kick-off call")
    expect(page.locator("#interaction").get_by_label("Subject")).to_have_value("")
    _still_same_document(page)

    # Plan a recurring service: a monthly delivery starting tomorrow at 09:00.
    first = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0)
    plans = page.locator("#plans")
    plans.get_by_text("Plan a recurring service").click()
    plans.get_by_label("What").fill("Monthly bookkeeping visit")
    plans.locator("select[name=frequency]").select_option("MONTHLY")
    plans.locator("input[name=dtstart]").fill(first.strftime("%Y-%m-%dT%H:%M"))
    plans.get_by_role("button", name="Plan", exact=True).click()
    plan = plans.locator("li").filter(has_text="FREQ=MONTHLY")
    expect(plan).to_contain_text("Monthly bookkeeping visit")
    expect(plan.locator(".badge")).to_have_text("active")
    expect(plans.locator("li").filter(has_text=first.strftime("%d %b 09:00")).first).to_be_visible()

    # The brief on the client page: facts in the header, knowledge, promises, relationship.
    knowledge = page.locator("#knowledge")
    knowledge.locator("select[name=kind]").select_option("preference")
    knowledge.get_by_label("What").fill("Prefers calls before 10:00")
    knowledge.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#knowledge")).to_contain_text("Prefers calls before 10:00")
    promises = page.locator("#commitments")
    promises.get_by_label("We promised").fill("Send the year-end checklist")
    promises.get_by_role("button", name="Track promise").click()
    expect(page.locator("#commitments")).to_contain_text("Send the year-end checklist")
    page.goto(client_url)  # the brief as anyone opening the client sees it
    facts = page.locator(".client-header .facts")
    expect(facts).to_contain_text("Client since")
    expect(facts).to_contain_text(re.compile(r"Tenure \d+ days"))
    expect(facts).to_contain_text("Next touch")
    expect(page.get_by_role("heading", name="What we know")).to_be_visible()
    expect(page.locator("#knowledge")).to_contain_text("Prefers calls before 10:00")
    expect(page.get_by_role("heading", name="Promises")).to_be_visible()
    expect(page.locator("#commitments li").first).to_contain_text("Send the year-end checklist")
    expect(page.locator("#commitments li").first.locator(".badge")).to_have_text("open")
    relationship = (
        page.get_by_role("complementary")
        .locator("section")
        .filter(has=page.get_by_role("heading", name="Relationship"))
    )
    expect(relationship).to_contain_text(re.compile(r"Client \d\d \w{3} \d{4} → now"))

    # End the relationship with a reason.
    relationship.get_by_text("End the relationship").click()
    relationship.get_by_role("button", name="End relationship").click()  # no reason yet
    expect(page.locator("#err-end")).to_contain_text("choose why the relationship ends")
    relationship = page.locator("#end")
    relationship.get_by_label("Why").select_option("moved")
    relationship.get_by_label("Note").fill("Relocating to Lisbon")
    relationship.get_by_role("button", name="End relationship").click()
    expect(page.locator(".client-header .badge")).to_have_text("former client")
    expect(page.locator("#timeline-items")).to_contain_text("relationship.ended")
    expect(page.get_by_role("complementary")).to_contain_text(re.compile(r"→ \d\d \w{3} \d{4}"))
    expect(page.get_by_role("complementary")).to_contain_text("(moved)")
    expect(page.locator("#agreements li").filter(has_text="Annual accounts")).to_contain_text(
        "ended"
    )
    expect(
        page.locator("#plans li").filter(has_text="FREQ=MONTHLY").locator(".badge")
    ).not_to_have_text("active")


def test_an_ended_relationship_shows_in_analytics(web, db, tenant) -> None:
    page = web.page
    contact_id = _client(db, tenant, "Lena Fischer")
    with services(db, tenant) as ctx:
        lifecycle.end(ctx, contact_id, reason=EndReason.MOVED, note="relocating")
    response = page.goto("/analytics")
    assert response is not None
    if response.status == 404:
        pytest.skip("analytics page not built yet")
    assert response.status == 200
    main = page.get_by_role("main")
    expect(main).to_contain_text(re.compile(r"churn|retention", re.I))
    expect(main.locator("table").filter(has_text=re.compile("moved", re.I)).first).to_be_visible()
    expect(main.locator("svg, canvas").first).to_be_visible()


def test_a_tampered_csrf_token_gets_the_403_page_and_changes_nothing(web, db, tenant) -> None:
    page = web.page
    contact_id = _client(db, tenant, "Ada Moss")
    page.goto(f"/contacts/{contact_id}")
    knowledge = page.locator("#knowledge")
    knowledge.get_by_label("What").fill("Forged fact")
    knowledge.locator("form:has(input[name=text]) input[name=csrf]").evaluate(
        "input => { input.value = 'forged'; }"
    )
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        knowledge.get_by_role("button", name="Add", exact=True).click()
    assert answer.value.status == 403
    expect(page.locator(".error-page .status")).to_have_text("403")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator(".error-page")).to_contain_text("did not come from Tenure")
    page.goto(f"/contacts/{contact_id}")
    expect(page.locator("#knowledge")).to_contain_text("Nothing recorded yet")
    expect(page.locator("#knowledge")).not_to_contain_text("Forged fact")


def test_a_viewer_sees_no_write_actions(open_web, db, tenant) -> None:
    contact_id = _client(db, tenant, "Read Only Ltd")
    viewer = open_web(Role.VIEWER)
    page = viewer.page
    # A form that posts and has anything to fill in or press. (The clients list wraps its table
    # in the bulk-action form for everyone; for a viewer it holds only hidden fields.)
    write_forms = page.locator("form[method=post]:not([action='/logout'])").filter(
        has=page.locator("button, input:not([type=hidden]), select, textarea")
    )
    for path in ("/", "/contacts?stage=client", f"/contacts/{contact_id}", "/cases"):
        response = page.goto(path)
        assert response is not None and response.status in (200, 404), path
        if response.status == 404:
            continue  # a page not built yet has nothing to hide
        expect(page.get_by_role("main")).to_be_visible()
        expect(write_forms).to_have_count(0)
        expect(page.locator("input[type=checkbox][name=ids]")).to_have_count(0)
        expect(page.get_by_role("link", name=re.compile("New contact"))).to_have_count(0)
    page.goto(f"/contacts/{contact_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Read Only Ltd")
    expect(page.locator("#timeline-items")).to_contain_text("agreement.confirmed")
    for label in ("Log an interaction", "New agreement", "End the relationship", "Open a case"):
        expect(page.get_by_text(label)).to_have_count(0)
    expect(page.locator(".me .role")).to_have_text("viewer")


def test_a_note_with_a_script_payload_renders_as_text(web, db, tenant) -> None:
    page = web.page
    contact_id = _client(db, tenant, XSS)
    with services(db, tenant) as ctx:
        view = contacts.get_contact(ctx, contact_id)
        contacts.update_contact(
            ctx, contact_id, expected_version=view.contact.version, changes={"notes": XSS}
        )
    page.goto(f"/contacts/{contact_id}")
    log = page.locator("#interaction")
    log.locator("select[name=channel]").select_option("note")
    log.locator("select[name=direction]").select_option("internal")
    log.get_by_label("Subject").fill(XSS)
    log.get_by_label("Notes (Markdown)").fill(XSS)
    log.get_by_role("button", name="Log", exact=True).click()
    timeline = page.locator("#timeline-items")
    expect(timeline.locator("li").first).to_contain_text(XSS)  # swapped in by the page's JS
    page.reload()  # and rendered by the server
    expect(page.get_by_role("heading", level=1)).to_contain_text(XSS)
    expect(page.locator("#timeline-items li").first).to_contain_text(XSS)
    expect(page.locator(".notes")).to_contain_text(XSS)
    expect(page).to_have_title(re.compile(re.escape(XSS)))
    assert page.locator("main script, img[src=x], [onerror]").count() == 0
    assert web.dialogs == [], web.dialogs


def test_keyboard_shortcuts(web, db, tenant) -> None:
    page = web.page
    contact_id = _client(db, tenant, "Keyboard Kate")
    page.goto("/")
    page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="Search contacts")
    expect(search).to_be_focused()
    page.keyboard.type("kate")
    expect(search).to_have_value("kate")  # typing in the box is not taken as shortcuts
    search.blur()
    page.keyboard.press("g")
    page.keyboard.press("c")
    expect(page).to_have_url(re.compile(r"/contacts\?stage=client$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Clients")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    page.goto(f"/contacts/{contact_id}")
    page.keyboard.press("l")
    expect(page.locator("#log-subject")).to_be_focused()


def test_the_navigation_and_a_client_page_work_at_phone_width(open_web, db, tenant) -> None:
    contact_id = _client(db, tenant, "Philippa Montgomery-Featherstonehaugh")
    with services(db, tenant) as ctx:
        interactions.log_interaction(
            ctx,
            contact_id,
            channel=interactions.Channel.EMAIL,
            direction=interactions.Direction.INBOUND,
            subject="Payment reference " + "7F3A9C2E" * 12,  # one unbreakable word
            body="",
        )
    phone = open_web(Role.OWNER, viewport=PHONE)
    page = phone.page
    width = PHONE["width"]
    nav = page.get_by_role("navigation", name="Main")
    _no_horizontal_scroll(page, width)
    for name in ("Today", "Clients", "Schedule", "Settings"):
        link = nav.get_by_role("link", name=re.compile(name))
        expect(link).to_be_visible()
        expect(link).to_be_in_viewport()
    nav.get_by_role("link", name=re.compile("Clients")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Clients")
    _no_horizontal_scroll(page, width)
    page.get_by_role("link", name="Philippa Montgomery-Featherstonehaugh").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Featherstonehaugh")
    _no_horizontal_scroll(page, width)
    subject = page.locator("#interaction").get_by_label("Subject")
    subject.scroll_into_view_if_needed()
    box = subject.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    subject.fill("Texted from the car park")
    page.locator("#interaction").get_by_role("button", name="Log", exact=True).click()
    expect(page.locator("#timeline-items li").first).to_contain_text("Texted from the car park")
    _no_horizontal_scroll(page, width)
