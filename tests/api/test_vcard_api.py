"""vCards over HTTP: one contact, the filtered list (streamed), imports, roles and isolation."""

from __future__ import annotations

from pathlib import Path

import vobject
from sqlalchemy import func, select

from tenure.db.models import Contact
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.contacts import ContactKind
from tenure.services import contacts
from tenure.services.contacts import EmailIn
from tests.conftest import client_for

from .helpers import create_contact, get, invalid, ok, problem

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"
VCARD = "text/vcard; charset=utf-8"


def cards(text: str) -> list[object]:
    return list(vobject.readComponents(text))


def names(text: str) -> list[str]:
    return [c.fn.value for c in cards(text)]  # type: ignore[attr-defined]


def count_contacts(tenant) -> int:  # type: ignore[no-untyped-def]
    with tenant.db.session() as session:
        stmt = select(func.count()).select_from(Contact)
        return session.scalar(stmt.where(Contact.workspace_id == tenant.workspace_id)) or 0


def test_one_contact_as_vcard_3_and_4(api) -> None:
    org = create_contact(api, kind="organization", display_name="Okafor Dental Practice")
    person = create_contact(
        api,
        given_name="Margaret",
        family_name="Okafor",
        emails=[{"email": "margaret@okafordental.example", "label": "work"}],
        phones=[{"number": "+44 7700 900123", "label": "mobile"}],
        address={"street": "12 Park Row", "locality": "Leeds", "country": "United Kingdom"},
        notes="Prefers calls; after 2pm, please.\nTwo sites.",
        tags=["vip"],
        timezone="Europe/London",
        organizations=[{"organization_id": org["id"], "title": "Practice Manager"}],
    )
    r = api.get(f"/contacts/{person['id']}/vcard")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == VCARD
    assert r.headers["content-disposition"] == f'attachment; filename="contact-{person["id"]}.vcf"'
    card = vobject.readOne(r.text)
    assert card.version.value == "3.0"
    assert card.fn.value == "Margaret Okafor"
    assert card.org.value == ["Okafor Dental Practice"]
    assert card.title.value == "Practice Manager"
    assert card.email.value == "margaret@okafordental.example"
    assert card.tel.value == "+447700900123"
    assert card.note.value == "Prefers calls; after 2pm, please.\nTwo sites."
    assert card.categories.value == ["vip"]

    v4 = api.get(f"/contacts/{person['id']}/vcard", params={"version": "4.0"})
    assert v4.status_code == 200
    card4 = vobject.readOne(v4.text)
    assert card4.version.value == "4.0"
    assert card4.kind.value == "individual"
    assert card4.tel.value == "tel:+447700900123"
    assert card4.tel.params["VALUE"] == ["uri"]
    assert card4.tz.value == "Europe/London"
    # the same contact has the same UID every time, so a re-import finds it
    assert card4.uid.value == card.uid.value

    org_card = vobject.readOne(api.get(f"/contacts/{org['id']}/vcard?version=4.0").text)
    assert org_card.kind.value == "org"


def test_unknown_version_and_missing_contacts(api, server, other_tenant) -> None:
    person = create_contact(api, display_name="Ada")
    assert invalid(api.get(f"/contacts/{person['id']}/vcard", params={"version": "2.1"})) == {
        "version": "literal_error"
    }
    assert "version" in invalid(api.get("/contacts.vcf", params={"version": "5"}))
    problem(api.get("/contacts/987654321/vcard"), 404, "not-found")
    with client_for(server, other_tenant.owner.token) as other:
        problem(other.get(f"/contacts/{person['id']}/vcard"), 404, "not-found")
        # the other workspace's list has none of this one's contacts
        r = other.get("/contacts.vcf")
        assert r.status_code == 200 and r.text == ""


def _bulk(tenant, n: int) -> None:  # type: ignore[no-untyped-def]
    """Many contacts at once, straight through the service (faster than n requests)."""
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session)
        for i in range(n):
            contacts.create_contact(
                ctx,
                kind=ContactKind.PERSON,
                display_name=f"Bulk {i:03d}",
                emails=[EmailIn(f"bulk{i}@example.com")],
                tags=["bulk"] if i % 2 == 0 else [],
            )


def test_the_list_streams_every_page_with_the_lists_filters(api, tenant) -> None:
    _bulk(tenant, 205)  # more than one page of 200
    create_contact(api, display_name="Zed Org", kind="organization")
    r = api.get("/contacts.vcf")
    assert r.status_code == 200
    assert r.headers["content-type"] == VCARD
    assert r.headers["content-disposition"].startswith('attachment; filename="contacts-')
    all_names = names(r.text)
    assert len(all_names) == 206 == len(set(all_names))
    assert all_names == sorted(all_names, key=str.lower)  # the list's order (by name)
    tagged = names(api.get("/contacts.vcf", params={"tag": "bulk", "version": "4.0"}).text)
    assert len(tagged) == 103
    assert all(int(n.split()[1]) % 2 == 0 for n in tagged)
    orgs = names(api.get("/contacts.vcf", params={"kind": "organization"}).text)
    assert orgs == ["Zed Org"]
    newest = names(api.get("/contacts.vcf", params={"sort": "-created", "stage": "contact"}).text)
    assert newest[0] == "Zed Org" and len(newest) == 206
    searched = names(api.get("/contacts.vcf", params={"q": "Zed"}).text)
    assert searched == ["Zed Org"]


def test_import_a_text_vcard_body_then_a_multipart_upload(api, tenant) -> None:
    apple = (FIXTURES / "apple.vcf").read_bytes()
    r = api.post("/contacts/vcard", content=apple, headers={"Content-Type": "text/vcard"})
    report = ok(r)
    assert report["created"] == 2 and report["organizations_created"] == 1
    assert report["problems"] == [] and report["dry_run"] is False
    found = get(api, "/contacts", q="Okafor")["items"]
    assert {c["display_name"] for c in found} >= {"Margaret Okafor"}

    broken = (FIXTURES / "broken.vcf").read_bytes()
    r = api.post("/contacts/vcard", files={"file": ("broken.vcf", broken, "text/vcard")})
    report = ok(r)
    assert (report["created"], report["failed"]) == (2, 4)
    problems = {(p["card"], p["field"], p["rule"]) for p in report["problems"]}
    assert (3, "EMAIL", "email") in problems and (2, "card", "syntax") in problems
    assert next(p for p in report["problems"] if p["card"] == 3)["value"] == (
        "chidi at example dot com"
    )

    # the same file again: matched by email, nothing new
    again = ok(api.post("/contacts/vcard", content=apple, params={"on_duplicate": "skip"}))
    assert (again["created"], again["skipped"]) == (0, 2)


def test_dry_run_writes_nothing(api, tenant) -> None:
    body = (FIXTURES / "google.vcf").read_bytes()
    report = ok(api.post("/contacts/vcard", content=body, params={"dry_run": "true"}))
    assert report["dry_run"] is True and report["created"] == 1
    # a UTC workspace cannot tell which country "(020) 7946 0018" is in: that card is reported
    assert [(p["field"], p["value"], p["rule"]) for p in report["problems"]] == [
        ("TEL", "(020) 7946 0018", "phone")
    ]
    assert report["organizations_created"] == 1
    assert count_contacts(tenant) == 0


def test_bad_import_requests(api) -> None:
    assert invalid(api.post("/contacts/vcard", content=b"")) == {"file": "required"}
    assert "on_duplicate" in invalid(
        api.post("/contacts/vcard", content=b"BEGIN:VCARD", params={"on_duplicate": "merge"})
    )
    assert invalid(api.post("/contacts/vcard", files={"other": ("a.vcf", b"x")})) == {
        "file": "required"
    }
    # not a vCard at all: a report with no cards, not an error
    report = ok(api.post("/contacts/vcard", content=b"\x89PNG\r\n\x1a\n\x00\x00binary"))
    assert report["cards"] == 0


def test_roles_viewer_exports_but_cannot_import(api, server, tenant) -> None:
    person = create_contact(api, display_name="Ada", emails=[{"email": "ada@example.com"}])
    viewer = tenant.member(Role.VIEWER)
    member = tenant.member(Role.MEMBER)
    body = (FIXTURES / "v4.vcf").read_bytes()
    with client_for(server, viewer.token) as as_viewer:
        assert as_viewer.get(f"/contacts/{person['id']}/vcard").status_code == 200
        assert names(as_viewer.get("/contacts.vcf").text) == ["Ada"]
        problem(as_viewer.post("/contacts/vcard", content=body), 403, "forbidden")
    assert count_contacts(tenant) == 1
    with client_for(server, member.token) as as_member:
        assert ok(as_member.post("/contacts/vcard", content=body))["created"] == 2
    with client_for(server, None) as anonymous:
        problem(anonymous.get(f"/contacts/{person['id']}/vcard"), 401)
        problem(anonymous.post("/contacts/vcard", content=body), 401)


def test_export_then_import_into_another_workspace_round_trips(api, server, other_tenant) -> None:
    org = create_contact(api, kind="organization", display_name="Estudio Verde")
    create_contact(
        api,
        given_name="Tomás",
        family_name="García López",
        emails=[{"email": "tomas@estudioverde.example", "label": "work"}],
        phones=[{"number": "+34 612 34 56 78", "label": "mobile"}],
        notes="Line one\nLine two, with; punctuation",
        tags=["spain", "key account"],
        organizations=[{"organization_id": org["id"], "title": "Founder"}],
    )
    for version in ("3.0", "4.0"):
        exported = api.get("/contacts.vcf", params={"version": version}).text
        with client_for(server, other_tenant.owner.token) as other:
            report = ok(other.post("/contacts/vcard", content=exported.encode()))
            assert report["problems"] == []
            people = get(other, "/contacts", kind="person")["items"]
            assert len(people) == 1
            tomas = get(other, f"/contacts/{people[0]['id']}")
            assert tomas["display_name"] == "Tomás García López"
            assert tomas["emails"] == [
                {"email": "tomas@estudioverde.example", "label": "work", "primary": True}
            ]
            assert tomas["phones"] == [
                {"number": "+34612345678", "label": "mobile", "primary": True}
            ]
            assert tomas["notes"] == "Line one\nLine two, with; punctuation"
            assert tomas["tags"] == ["spain", "key account"]
            assert [(o["organization_name"], o["title"]) for o in tomas["organizations"]] == [
                ("Estudio Verde", "Founder")
            ]
            # the second round (4.0) finds the same two contacts by their UIDs
            assert len(get(other, "/contacts")["items"]) == 2
