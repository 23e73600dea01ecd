"""The client page of an erased contact: its forms are refused with the rule in words (409)
and write nothing; the page itself still shows."""

from __future__ import annotations

import pytest

from tenure.services.privacy import erasure
from tests.api.helpers import workspace_rows
from tests.web.helpers import new_contact, services

FORMS = {
    "interaction": {"channel": "call", "subject": "Hello again"},
    "knowledge": {"kind": "preference", "text": "Likes tea"},
    "commitment": {"text": "Send the plan"},
    "activity": {"kind": "task", "title": "Call back", "when": "2030-01-07T09:00"},
    "case": {"subject": "Printer offline"},
}


@pytest.mark.parametrize("form", list(FORMS))
def test_an_erased_contacts_forms_are_refused(browser, server, db, tenant, form) -> None:  # type: ignore[no-untyped-def]
    person = new_contact(db, tenant, name="Zdeněk Quillfeather")
    with services(db, tenant) as ctx:
        erasure.erase(ctx, person)
    before = workspace_rows(server.engine, tenant.workspace_id)
    r = browser.post(f"/contacts/{person}/{form}", data=FORMS[form])
    assert r.status_code == 409, r.text
    assert f"contact {person} was erased" in r.text and "takes no new personal data" in r.text
    assert workspace_rows(server.engine, tenant.workspace_id) == before
    page = browser.get(f"/contacts/{person}")
    assert page.status_code == 200 and "Erased contact" in page.text
