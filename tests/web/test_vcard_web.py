"""vCard downloads from the web app: the links on the list and the client page, the session."""

from __future__ import annotations

import re

import httpx
import vobject

from tenure.domain.contacts import ContactKind
from tenure.services import contacts

from .helpers import XSS, new_contact, services


def fns(text: str) -> list[str]:
    return [c.fn.value for c in vobject.readComponents(text)]


def test_client_page_links_its_vcard(browser, db, tenant) -> None:
    contact_id = new_contact(db, tenant, XSS)
    page = browser.get(f"/contacts/{contact_id}")
    assert page.status_code == 200
    assert f'href="/vcard/contacts/{contact_id}.vcf"' in page.text
    r = browser.get(f"/vcard/contacts/{contact_id}.vcf?version=4.0")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/vcard; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="contact-{contact_id}.vcf"'
    card = vobject.readOne(r.text)
    assert card.version.value == "4.0" and card.fn.value == XSS


def test_list_links_the_vcard_of_the_filtered_list(browser, db, tenant) -> None:
    with services(db, tenant) as ctx:
        for name, tags in [("Ada", ["vip"]), ("Bo", []), ("Cy", ["vip"])]:
            contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name=name, tags=tags)
    page = browser.get("/contacts?tag=vip&sort=-created")
    link = re.search(r'href="(/vcard/contacts\.vcf[^"]*)"', page.text)
    assert link is not None
    href = link.group(1).replace("&amp;", "&")
    assert href == "/vcard/contacts.vcf?tag=vip&sort=-created"
    assert fns(browser.get(href).text) == ["Cy", "Ada"]
    assert fns(browser.get("/vcard/contacts.vcf").text) == ["Ada", "Bo", "Cy"]


def test_viewers_download_and_strangers_log_in(
    viewer_browser, server, db, tenant, other_tenant
) -> None:
    contact_id = new_contact(db, tenant, "Maya Okafor")
    assert viewer_browser.get(f"/vcard/contacts/{contact_id}.vcf").status_code == 200
    with services(db, other_tenant) as ctx:
        theirs = contacts.create_contact(
            ctx, kind=ContactKind.PERSON, display_name="Not yours"
        ).contact.id
    assert viewer_browser.get(f"/vcard/contacts/{theirs}.vcf").status_code == 404
    assert viewer_browser.get("/vcard/contacts/abc.vcf").status_code == 404
    assert viewer_browser.get("/vcard/contacts.vcf?renewal=99999999999").status_code == 422
    assert viewer_browser.get("/vcard/contacts.vcf?version=2.1").status_code == 422
    with httpx.Client(base_url=server.base_url, follow_redirects=False) as anonymous:
        r = anonymous.get(f"/vcard/contacts/{contact_id}.vcf")
        assert r.status_code in (302, 303) and "/login" in r.headers["location"]
