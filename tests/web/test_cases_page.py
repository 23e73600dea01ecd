"""/cases over HTTP: the queue's order and filters, inline actions, the case page, roles."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tenure.db.models import Case, Interaction, TimelineEvent
from tenure.domain.access import Role
from tenure.domain.cases import CasePriority
from tenure.services import cases
from tests.web.helpers import XSS, assert_escaped, new_contact, post_forms, services, statements_of


def open_case(db, tenant, contact_id, subject, priority="normal", ago_hours=0, **kw) -> int:
    with services(db, tenant) as ctx:
        ctx.now = ctx.now - timedelta(hours=ago_hours)
        return cases.open_case(
            ctx, contact_id, subject=subject, priority=CasePriority(priority), **kw
        ).id


def case_row(db, case_id) -> Case:
    with db.session() as s:
        return s.get(Case, case_id)


def events(db, case_id) -> list[str]:
    with db.session() as s:
        stmt = select(TimelineEvent.type).where(
            TimelineEvent.subject_type == "case", TimelineEvent.subject_id == case_id
        )
        return list(s.scalars(stmt.order_by(TimelineEvent.id)))


def subjects_in_order(html: str) -> list[str]:
    return re.findall(r'<a href="/cases/\d+">([^<]+)</a>', html)


def test_the_queue_is_urgent_first_then_oldest_and_filters(browser, db, tenant) -> None:
    contact = new_contact(db, tenant, "Grace Hopper")
    open_case(db, tenant, contact, "Normal old", "normal", ago_hours=50)
    open_case(db, tenant, contact, "Urgent new", "urgent", ago_hours=1)
    open_case(db, tenant, contact, "Urgent old", "urgent", ago_hours=30)
    open_case(db, tenant, contact, "Low", "low", ago_hours=100)
    done = open_case(db, tenant, contact, "Already fixed", "urgent", ago_hours=200)
    pending = open_case(db, tenant, contact, "Waiting", "high", ago_hours=5)
    with services(db, tenant) as ctx:
        cases.move(ctx, done, cases.CaseAction.RESOLVE, note="fixed")
        cases.move(ctx, pending, cases.CaseAction.MARK_PENDING)
    page = browser.get("/cases")
    assert page.status_code == 200
    assert subjects_in_order(page.text) == [
        "Urgent old",
        "Urgent new",
        "Waiting",
        "Normal old",
        "Low",
    ]
    assert f'href="/contacts/{contact}"' in page.text and "Grace Hopper" in page.text
    urgent = browser.get("/cases?priority=urgent").text
    assert subjects_in_order(urgent) == ["Urgent old", "Urgent new"]
    resolved = browser.get("/cases?status=resolved").text
    assert subjects_in_order(resolved) == ["Already fixed"]
    assert len(subjects_in_order(browser.get("/cases?status=all").text)) == 6
    assert subjects_in_order(browser.get("/cases?status=pending").text) == ["Waiting"]


def test_paging_keeps_the_order(browser, db, tenant) -> None:
    contact = new_contact(db, tenant)
    for i in range(55):
        open_case(db, tenant, contact, f"Case {i:02d}", "high" if i % 2 else "low", ago_hours=i)
    first = browser.get("/cases").text
    seen = subjects_in_order(first)
    assert len(seen) == 50
    nxt = re.search(r'href="(/cases\?[^"]*cursor=[^"]+)"', first).group(1).replace("&amp;", "&")
    rest = subjects_in_order(browser.get(nxt).text)
    assert len(rest) == 5 and not set(rest) & set(seen)
    highs = [s for s in seen + rest if int(s[-2:]) % 2]
    assert seen[: len(highs)] == highs  # every high case before any low one
    assert highs == sorted(highs, reverse=True)  # oldest (largest age) first


def test_inline_actions_from_the_queue_are_recorded(browser, db, tenant) -> None:
    contact = new_contact(db, tenant)
    case_id = open_case(db, tenant, contact, "Printer on fire", "urgent")
    back = "status=active&priority=urgent"
    r = browser.post(f"/cases/{case_id}/action", {"do": "pending", "from": "queue", "back": back})
    assert r.status_code == 303 and r.headers["location"].startswith("/cases?status=active")
    assert case_row(db, case_id).status == "pending"
    r = browser.post(f"/cases/{case_id}/action", {"do": "resolve", "from": "queue", "back": back})
    assert case_row(db, case_id).status == "resolved"
    assert "Printer on fire" not in browser.get("/cases").text
    browser.post(f"/cases/{case_id}/action", {"do": "close", "from": "queue", "back": ""})
    assert case_row(db, case_id).status == "closed"
    browser.post(f"/cases/{case_id}/action", {"do": "reopen", "from": "queue", "back": ""})
    assert case_row(db, case_id).status == "open"
    assert events(db, case_id) == [
        "case.opened",
        "case.pending",
        "case.resolved",
        "case.closed",
        "case.reopened",
    ]


def test_respond_logs_an_interaction_and_an_empty_answer_is_refused_in_place(
    browser, db, tenant
) -> None:
    contact = new_contact(db, tenant)
    case_id = open_case(db, tenant, contact, "Cannot log in", "high")
    r = browser.post(
        f"/cases/{case_id}/action",
        {
            "do": "respond",
            "from": "queue",
            "back": "status=active",
            "channel": "call",
            "body": "  ",
        },
    )
    assert r.status_code == 422
    row = re.search(rf'<tr id="case-{case_id}">(.*?)</tr>', r.text, re.S).group(1)
    assert "a response needs a text" in row and '<details class="respond" open>' in row
    assert "<option selected>call</option>" in row  # what they chose is kept
    r = browser.post(
        f"/cases/{case_id}/action",
        {"do": "respond", "from": "queue", "back": "", "channel": "call", "body": "Reset it"},
    )
    assert r.status_code == 303
    assert case_row(db, case_id).first_response_at is not None
    with db.session() as s:
        logged = s.scalars(select(Interaction).where(Interaction.contact_id == contact)).one()
    assert logged.channel == "call" and logged.subject == "Re: Cannot log in"
    assert "no response yet" not in browser.get("/cases").text


def test_an_illegal_move_is_explained_next_to_the_case(browser, db, tenant) -> None:
    contact = new_contact(db, tenant)
    case_id = open_case(db, tenant, contact, "Closed already")
    r = browser.post(f"/cases/{case_id}/action", {"do": "close", "from": "case"})
    assert r.status_code == 409
    assert "A case that is open cannot close" in r.text and 'role="alert"' in r.text
    assert case_row(db, case_id).status == "open"


def test_the_case_page_shows_fields_contact_and_actions(browser, db, tenant) -> None:
    contact = new_contact(db, tenant, "Alan Turing")
    member = tenant.member(Role.MEMBER)
    case_id = open_case(
        db, tenant, contact, "Invoice wrong", "normal", description="The **total** is off"
    )
    page = browser.get(f"/cases/{case_id}")
    assert page.status_code == 200
    html = page.text
    assert "Invoice wrong" in html and "<strong>total</strong>" in html
    assert f'href="/contacts/{contact}"' in html and "Alan Turing" in html
    assert "not yet" in html  # no first response
    for move in ("pending", "resolve"):
        assert f'value="{move}"' in html
    assert 'value="reopen"' not in html
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    r = browser.post(
        f"/cases/{case_id}/action",
        {
            "do": "edit",
            "from": "case",
            "version": version,
            "priority": "urgent",
            "assignee_id": str(member.user_id),
        },
    )
    assert r.status_code == 303
    row = case_row(db, case_id)
    assert row.priority == "urgent" and row.assignee_id == member.user_id
    # A stale form is refused with a message, not a silent overwrite.
    r = browser.post(
        f"/cases/{case_id}/action",
        {"do": "edit", "from": "case", "version": version, "priority": "low", "assignee_id": ""},
    )
    assert r.status_code == 409 and 'role="alert"' in r.text
    assert f"is at version {int(version) + 1}" in r.text
    assert case_row(db, case_id).priority == "urgent"
    r = browser.post(
        f"/cases/{case_id}/action", {"do": "resolve", "from": "case", "note": "Refund"}
    )
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case_id}"
    html = browser.get(f"/cases/{case_id}").text
    assert "Refund" in html and 'value="reopen"' in html and 'value="close"' in html
    assert browser.get("/cases/999999").status_code == 404


def test_csrf_is_required(browser, db, tenant) -> None:
    case_id = open_case(db, tenant, new_contact(db, tenant), "Guarded")
    r = browser.client.post(f"/cases/{case_id}/action", data={"do": "resolve"})
    assert r.status_code == 403
    r = browser.client.post(f"/cases/{case_id}/action", data={"do": "resolve", "csrf": "nope"})
    assert r.status_code == 403
    assert case_row(db, case_id).status == "open"


def test_a_viewer_sees_no_forms_and_cannot_act(viewer_browser, db, tenant) -> None:
    case_id = open_case(db, tenant, new_contact(db, tenant), "Look only")
    queue = viewer_browser.get("/cases").text
    assert "Look only" in queue and post_forms(queue) == []
    page = viewer_browser.get(f"/cases/{case_id}").text
    assert "Look only" in page and post_forms(page) == []
    for do in ("resolve", "respond", "edit"):
        r = viewer_browser.post(
            f"/cases/{case_id}/action",
            {"do": do, "body": "x", "version": "1", "priority": "low"},
        )
        assert r.status_code == 403, do
    assert case_row(db, case_id).status == "open"


def test_user_text_is_escaped(browser, db, tenant) -> None:
    contact = new_contact(db, tenant, XSS)
    case_id = open_case(db, tenant, contact, XSS, description=XSS)
    assert_escaped(browser.get("/cases").text)
    assert_escaped(browser.get(f"/cases/{case_id}").text)
    r = browser.post(f"/cases/{case_id}/action", {"do": "respond", "from": "case", "body": ""})
    assert r.status_code == 422
    assert_escaped(r.text)


def test_statements_do_not_grow_with_the_cases(server, browser, db, tenant) -> None:
    contacts_ = [new_contact(db, tenant, f"C{i}") for i in range(5)]
    first = open_case(db, tenant, contacts_[0], "Case 0")
    for i in range(1, 5):
        open_case(db, tenant, contacts_[i % 5], f"Case {i}", ago_hours=i)
    small = statements_of(server, browser, "/cases")
    for i in range(5, 60):
        open_case(db, tenant, contacts_[i % 5], f"Case {i}", "urgent" if i % 3 else "low")
    tenant.member(Role.MEMBER)
    tenant.member(Role.VIEWER)
    large = statements_of(server, browser, "/cases")
    assert len(small) == len(large), (small, large)
    assert len(large) <= 4, large
    one = statements_of(server, browser, f"/cases/{first}")
    assert len(one) <= 8, one
