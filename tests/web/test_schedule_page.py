"""/schedule over HTTP: week and month, mine and the team's, conflicts, feeds, roles, escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from tenure.db.models import User
from tenure.domain.access import Role
from tenure.domain.activities import ActivityKind
from tenure.services import activities, deliveries
from tests.web.helpers import (
    XSS,
    assert_escaped,
    monday_this_week,
    new_contact,
    post_forms,
    services,
    statements_of,
)


def appointment(db, tenant, contact_id, start, minutes=60, title="Visit", role=Role.OWNER):
    with services(db, tenant, role) as ctx:
        return activities.create_activity(
            ctx,
            kind=ActivityKind.APPOINTMENT,
            title=title,
            contact_id=contact_id,
            start_at=start,
            end_at=start + timedelta(minutes=minutes),
            allow_overlap=True,
        ).id


def delivery(db, tenant, contact_id, start, minutes=60, title="Service visit"):
    with services(db, tenant) as ctx:
        return deliveries.create_delivery(
            ctx,
            contact_id,
            title=title,
            scheduled_start=start,
            scheduled_end=start + timedelta(minutes=minutes),
            assignee_id=tenant.owner.user_id,
            allow_overlap=True,
            convert=False,
        ).id


def test_the_week_shows_my_items_in_my_zone_with_conflicts_and_contacts(
    browser, db, tenant
) -> None:
    contact = new_contact(db, tenant, "Ada Lovelace")
    monday = monday_this_week()
    appointment(db, tenant, contact, monday + timedelta(hours=6), title="Quarterly review")
    appointment(db, tenant, contact, monday + timedelta(hours=6, minutes=30), title="Double booked")
    delivery(db, tenant, contact, monday + timedelta(days=1, hours=2), title="Boiler service")
    appointment(db, tenant, contact, monday + timedelta(days=1, hours=4), title="Alone")
    # The owner lives in New York: times are shown there.
    with services(db, tenant) as ctx:
        ctx.session.scalars(
            select(User).where(User.id == tenant.owner.user_id)
        ).one().timezone = "America/New_York"
    page = browser.get("/schedule")
    assert page.status_code == 200
    html = page.text
    for title in ("Quarterly review", "Double booked", "Boiler service", "Alone"):
        assert title in html
    assert f'href="/contacts/{contact}"' in html
    local = (monday + timedelta(hours=6)).astimezone(ZoneInfo("America/New_York"))
    assert f"{local:%H:%M}\u2013" in html
    assert "times in America/New_York" in html
    # The two overlapping appointments are marked; the others are not.
    items = re.findall(r'<li class="cal-item([^"]*)">(.*?)</li>', html, re.S)
    marked = {re.sub(r"<[^>]+>|\s+", " ", body).strip() for cls, body in items if "conflict" in cls}
    assert len(marked) == 2 and all("Conflict" in m for m in marked)
    assert any("Double booked" in m for m in marked) and any("Quarterly" in m for m in marked)
    assert "2 overlapping items" in html
    # Today is highlighted and labelled.
    assert 'aria-current="date"' in html and "today-badge" in html


def test_delivery_overlapping_an_appointment_is_a_conflict(browser, db, tenant) -> None:
    contact = new_contact(db, tenant)
    monday = monday_this_week()
    appointment(db, tenant, contact, monday, minutes=90, title="Long visit")
    delivery(db, tenant, contact, monday + timedelta(hours=1), title="Window cleaning")
    html = browser.get("/schedule").text
    conflicts = re.findall(r'class="cal-item[^"]*conflict[^"]*">(.*?)</li>', html, re.S)
    assert len(conflicts) == 2
    assert any("Window cleaning" in c for c in conflicts)


def test_month_view_and_previous_next_navigation(browser, db, tenant) -> None:
    contact = new_contact(db, tenant)
    monday = monday_this_week()
    appointment(db, tenant, contact, monday, title="Visit this month")
    page = browser.get("/schedule?view=month")
    assert page.status_code == 200
    html = page.text
    today = datetime.now(UTC).date()
    assert today.strftime("%B %Y") in html
    assert '<table class="calendar month">' in html and "Visit this month" in html
    assert 'aria-current="date"' in html
    nxt = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    later = browser.get(nxt)
    assert later.status_code == 200
    following = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    assert following.strftime("%B %Y") in later.text
    assert "Visit this month" not in later.text
    prev = re.search(r'href="([^"]+)" rel="prev"', html).group(1).replace("&amp;", "&")
    assert browser.get(prev).status_code == 200
    # week navigation moves by seven days
    week = browser.get("/schedule").text
    nxt = re.search(r'href="([^"]+)" rel="next"', week).group(1).replace("&amp;", "&")
    assert (monday + timedelta(days=7)).date().isoformat() in nxt
    assert "Visit this month" not in browser.get(nxt).text
    # A bad date falls back to today rather than failing.
    assert browser.get("/schedule?date=yesterday&view=nonsense").status_code == 200


def test_mine_the_team_and_one_member(browser, db, tenant) -> None:
    contact = new_contact(db, tenant)
    member = tenant.member(Role.MEMBER)
    monday = monday_this_week()
    appointment(db, tenant, contact, monday, title="Owner visit")
    appointment(db, tenant, contact, monday, title="Member visit", role=Role.MEMBER)
    mine = browser.get("/schedule").text
    assert "Owner visit" in mine and "Member visit" not in mine
    team = browser.get("/schedule?who=team").text
    assert "Owner visit" in team and "Member visit" in team
    assert "The team&#39;s schedule" in team
    # Different assignees at the same time are not a conflict.
    assert "overlapping" not in team
    theirs = browser.get(f"/schedule?member={member.user_id}").text
    assert "Member visit" in theirs and "Owner visit" not in theirs
    picked = browser.get(f"/schedule?who={member.user_id}&view=month").text
    assert "Member visit" in picked


def test_calendar_feed_is_shown_once_works_and_can_be_revoked(browser, db, tenant) -> None:
    contact = new_contact(db, tenant)
    appointment(db, tenant, contact, monday_this_week(), title="In the feed")
    r = browser.post("/schedule/feeds", {"name": "Phone"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    url = re.search(r'value="(http[^"]+/calendar/cal_[^"]+\.ics)"', r.text).group(1)
    feed = httpx.get(url)
    assert feed.status_code == 200 and "In the feed" in feed.text
    page = browser.get("/schedule").text
    assert url not in page  # shown once
    assert "Phone" in page
    feed_id = re.search(r'action="/schedule/feeds/(\d+)/revoke"', page).group(1)
    r = browser.post(f"/schedule/feeds/{feed_id}/revoke")
    assert r.status_code == 303
    assert httpx.get(url).status_code == 404
    assert "You have no calendar feed yet" in browser.get("/schedule").text


def test_csrf_is_required(browser) -> None:
    r = browser.client.post("/schedule/feeds", data={"name": "x"})
    assert r.status_code == 403
    r = browser.client.post("/schedule/feeds", data={"name": "x", "csrf": "forged"})
    assert r.status_code == 403
    assert "You have no calendar feed yet" in browser.get("/schedule").text


def test_a_viewer_reads_and_has_only_a_personal_feed(viewer_browser, browser, db, tenant) -> None:
    contact = new_contact(db, tenant)
    appointment(db, tenant, contact, monday_this_week(), title="Visible to all")
    page = viewer_browser.get("/schedule?who=team").text
    assert "Visible to all" in page
    # Reading a calendar changes nothing: the only form is the viewer's own feed.
    assert post_forms(page) == ["/schedule/feeds"]
    # Someone else's feed cannot be revoked.
    browser.post("/schedule/feeds", {"name": "Owner feed"})
    owner_feed = re.search(r"/schedule/feeds/(\d+)/revoke", browser.get("/schedule").text).group(1)
    r = viewer_browser.post(f"/schedule/feeds/{owner_feed}/revoke")
    assert r.status_code == 403


def test_user_text_is_escaped(browser, db, tenant) -> None:
    contact = new_contact(db, tenant, XSS)
    appointment(db, tenant, contact, monday_this_week(), title=XSS)
    r = browser.post("/schedule/feeds", {"name": XSS})
    assert_escaped(r.text)
    assert_escaped(browser.get("/schedule").text)
    assert_escaped(browser.get("/schedule?view=month").text)


def test_statements_do_not_grow_with_the_items(server, browser, db, tenant) -> None:
    contact = new_contact(db, tenant)
    monday = monday_this_week()
    for i in range(5):
        appointment(db, tenant, contact, monday + timedelta(days=i % 7, hours=i // 7))
    browser.post("/schedule/feeds", {"name": "one"})
    small = statements_of(server, browser, "/schedule")
    small_month = statements_of(server, browser, "/schedule?view=month&who=team")
    for i in range(5, 60):
        appointment(db, tenant, contact, monday + timedelta(days=i % 7, hours=i // 7))
        if i % 10 == 0:
            delivery(db, tenant, contact, monday + timedelta(days=i % 7, hours=i // 7))
    for _ in range(5):
        browser.post("/schedule/feeds", {"name": "more"})
    large = statements_of(server, browser, "/schedule")
    large_month = statements_of(server, browser, "/schedule?view=month&who=team")
    assert len(small) == len(large), (small, large)
    assert len(small_month) == len(large_month)
    assert len(large) <= 8, large
    assert browser.get("/schedule").text.count('class="cal-item') >= 60
