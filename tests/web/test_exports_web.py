"""Web downloads: the contact list's CSV with the page's filters, a timeline's CSV, the Data
settings tab and its archive download (owners and admins), escaping and isolation."""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile

import httpx

from tenure.domain.access import Role
from tenure.domain.contacts import ContactKind
from tenure.services import contacts
from tests.web.conftest import login, set_password
from tests.web.helpers import services


def csv_rows(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


def seed(db, tenant) -> dict[str, int]:
    with services(db, tenant) as ctx:
        return {
            name: contacts.create_contact(
                ctx, kind=ContactKind.PERSON, display_name=name, tags=tags
            ).contact.id
            for name, tags in [
                ("Zoë <b>Bold</b>", ["vip"]),
                ("@cmd|calc", ["vip"]),
                ("Ada", []),
            ]
        }


def test_the_list_links_its_csv_with_the_same_filters(browser, db, tenant) -> None:
    seed(db, tenant)
    page = browser.get("/contacts", params={"tag": "vip", "sort": "-created"})
    assert page.status_code == 200
    link = re.search(r'href="(/exports/contacts\.csv[^"]*)"[^>]*>Export CSV', page.text)
    assert link, "the list has an Export CSV link"
    href = html.unescape(link.group(1))
    assert "tag=vip" in href and "sort=-created" in href
    rows = csv_rows(browser.get(href))
    assert [r["display_name"] for r in rows] == ["'@cmd|calc", "Zoë <b>Bold</b>"]
    assert len(csv_rows(browser.get("/exports/contacts.csv"))) == 3
    bad = browser.get("/exports/contacts.csv", params={"renewal": "x"})
    assert bad.status_code == 422
    assert browser.get("/exports/contacts.csv", params={"renewal": "99999999"}).status_code == 422


def test_timeline_csv_from_the_client_page_and_isolation(
    browser, server, db, tenant, other_tenant
) -> None:
    ids = seed(db, tenant)
    page = browser.get(f"/contacts/{ids['Ada']}")
    assert f'href="/exports/contacts/{ids["Ada"]}/timeline.csv"' in page.text
    rows = csv_rows(browser.get(f"/exports/contacts/{ids['Ada']}/timeline.csv"))
    assert [r["type"] for r in rows] == ["contact.created"]

    set_password(db, other_tenant.owner.email)
    other = login(server, other_tenant.owner.email)
    try:
        assert other.get(f"/exports/contacts/{ids['Ada']}/timeline.csv").status_code == 404
        assert csv_rows(other.get("/exports/contacts.csv")) == []
    finally:
        other.client.close()
    anonymous = httpx.get(server.base_url + "/exports/contacts.csv", follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]


def test_data_tab_downloads_the_archive_for_admins_only(
    browser, viewer_browser, server, db, tenant
) -> None:
    seed(db, tenant)
    page = browser.get("/settings/data")
    assert page.status_code == 200
    assert 'href="/settings/data/archive.zip"' in page.text and 'href="/imports"' in page.text
    assert "tenure backup" in page.text
    r = browser.get("/settings/data/archive.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert "tables/contacts.jsonl" in zf.namelist()

    viewer_page = viewer_browser.get("/settings/data")
    assert viewer_page.status_code == 200
    assert "/settings/data/archive.zip" not in viewer_page.text
    assert viewer_browser.get("/settings/data/archive.zip").status_code == 403
    # A viewer still downloads the lists they can read.
    assert len(csv_rows(viewer_browser.get("/exports/contacts.csv"))) == 3
    member = tenant.member(Role.MEMBER)
    set_password(db, member.email)
    as_member = login(server, member.email)
    try:
        assert as_member.get("/settings/data/archive.zip").status_code == 403
        assert len(csv_rows(as_member.get("/exports/contacts.csv"))) == 3
    finally:
        as_member.client.close()
