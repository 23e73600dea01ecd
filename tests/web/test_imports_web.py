"""The imports pages over HTTP with a logged-in session: upload, map with a preview, dry run,
import (a real worker runs it), the report; errors in place, roles, CSRF, workspaces, XSS."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tenure.db.models import Contact, ImportJob, Job
from tenure.services.imports import drafts
from tenure.services.imports.jobs import ImportRequest
from tenure.worker.runner import Worker, WorkerConfig

from .helpers import XSS, assert_escaped, services

FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"
HUBSPOT = (FIXTURES / "hubspot-contacts.csv").read_bytes()


def upload(browser, content: bytes, name: str = "contacts.csv", **form: str) -> httpx.Response:
    data = {"csrf": browser.csrf, "kind": "contacts", "on_duplicate": "skip", **form}
    return browser.client.post("/imports", data=data, files={"file": (name, content, "text/csv")})


def started(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/imports/(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def run_worker(tenant) -> int:
    return Worker(tenant.db.engine, WorkerConfig(worker_id="w-web-imports")).run_until_idle()


def contacts_in(tenant) -> list[str]:
    with tenant.db.session() as s:
        stmt = (
            select(Contact.display_name)
            .where(Contact.workspace_id == tenant.workspace_id)
            .order_by(Contact.display_name)
        )
        return list(s.scalars(stmt))


def selected_field(html: str, header: str) -> str:
    """The field chosen for a column on the mapping page ("" for ignore)."""
    row = re.search(
        r'<label for="map-(\d+)">' + re.escape(header) + r"</label>.*?</select>", html, re.DOTALL
    )
    assert row, header
    chosen = re.search(r'<option value="([^"]*)" selected>', row.group(0))
    return chosen.group(1) if chosen else ""


def column_of(html: str, header: str) -> int:
    found = re.search(r'<label for="map-(\d+)">' + re.escape(header) + "</label>", html)
    assert found, header
    return int(found.group(1))


def mapping_form(html: str) -> dict[str, str]:
    """What the mapping form would send as it stands (each column's chosen field)."""
    data = {}
    for index in re.findall(r'<select id="map-(\d+)"', html):
        row = re.search(rf'<select id="map-{index}".*?</select>', html, re.DOTALL)
        assert row
        chosen = re.search(r'<option value="([^"]*)" selected>', row.group(0))
        data[f"col-{index}"] = chosen.group(1) if chosen else ""
    return data


def test_upload_preview_change_the_mapping_and_import(browser, tenant) -> None:
    assert browser.get("/imports/new").status_code == 200
    import_id = started(upload(browser, HUBSPOT, "hubspot.csv"))
    page = browser.get(f"/imports/{import_id}")
    assert page.status_code == 200
    html = page.text
    assert "Step 2 of 3" in html
    for fact in ("Encoding: <strong>utf-8", "Delimiter: <strong>comma", "Preset: <strong>hubspot"):
        assert fact in html
    assert selected_field(html, "First Name") == "given_name"
    assert selected_field(html, "Company Name") == "organization"
    assert selected_field(html, "Contact owner") == ""
    assert "alice@nakamura-design.example" in html  # a sample value and a preview cell
    preview = html.split('id="preview"', 1)[1]
    assert preview.count('class="badge action-create"') == 4
    assert "→ Organization" in preview

    form = mapping_form(html)
    form[f"col-{column_of(html, 'Company Name')}"] = ""
    r = browser.post(f"/imports/{import_id}", {**form, "action": "preview", "on_duplicate": "skip"})
    assert r.status_code == 303 and r.headers["location"] == f"/imports/{import_id}"
    html = browser.get(f"/imports/{import_id}").text
    assert selected_field(html, "Company Name") == ""
    assert "→ Organization" not in html.split('id="preview"', 1)[1]
    assert contacts_in(tenant) == []

    r = browser.post(f"/imports/{import_id}", {**mapping_form(html), "action": "import"})
    assert started(r) == import_id
    running = browser.get(f"/imports/{import_id}").text
    assert 'id="refresh"' in running and "/static/imports.js" in running
    assert browser.get(f"/imports/{import_id}/status.json").json()["finished"] is False
    assert run_worker(tenant) >= 1
    status = browser.get(f"/imports/{import_id}/status.json").json()
    assert (status["status"], status["rows_done"], status["total"]) == ("done", 4, 4)
    done = browser.get(f"/imports/{import_id}").text
    assert "4 created" in done and "No problems." in done and 'id="refresh"' not in done
    # The companies were ignored: four people, no organizations.
    assert contacts_in(tenant) == ["Alice Nakamura", "Ben Adeyemi", "Chloé Martin", "Dev Patel"]
    listing = browser.get("/imports").text
    assert f'href="/imports/{import_id}"' in listing and "4 created" in listing
    # A started import is not a draft any more: its mapping cannot change.
    assert browser.post(f"/imports/{import_id}", {"action": "import"}).status_code == 409


BAD_ROWS = (
    b"Name,Email,client_since\n"
    b"Good Person,good@example.com,2024-01-05\n"
    b"Bad Email,not-an-email,2024-01-05\n"
    b"Bad Date,date@example.com,someday\n"
    b"=HYPERLINK(1),=cmd@x,2024-01-05\n"
)


def test_a_dry_run_reports_problems_and_writes_nothing(browser, tenant) -> None:
    draft_id = started(upload(browser, BAD_ROWS))
    html = browser.get(f"/imports/{draft_id}").text
    preview = html.split('id="preview"', 1)[1]
    assert 'class="badge action-invalid"' in preview
    assert '<td class="problem">not-an-email' in preview  # the problem sits next to its cell

    dry_id = started(
        browser.post(f"/imports/{draft_id}", {**mapping_form(html), "action": "dry_run"})
    )
    assert dry_id != draft_id
    assert run_worker(tenant) >= 1
    report = browser.get(f"/imports/{dry_id}").text
    main = report.split("<main", 1)[1]
    assert "Nothing was written" in report and "1 created" in report, main
    problems = report.split('id="problems"', 1)[1]
    assert "not-an-email" in problems and "someday" in problems
    assert "<td>3</td><td>Email</td><td>not-an-email</td>" in problems
    assert contacts_in(tenant) == []

    # The draft stays a draft, shows the dry run, and can still be imported for real.
    back = browser.get(f"/imports/{draft_id}").text
    assert "Latest dry run" in back and f'href="/imports/{dry_id}"' in back
    assert f'href="/imports/{draft_id}"' in report  # back to the preview

    rows = list(csv.reader(io.StringIO(browser.get(f"/imports/{dry_id}/problems.csv").text)))
    assert rows[0] == ["row", "column", "value", "rule", "message"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert any(row[2] == "'=cmd@x" for row in rows[1:]), rows

    assert started(browser.post(f"/imports/{draft_id}", {**mapping_form(back), "action": "import"}))
    run_worker(tenant)
    assert "Good Person" in contacts_in(tenant)


def test_mapping_mistakes_are_shown_next_to_the_column_and_nothing_is_kept(
    browser, db, tenant
) -> None:
    import_id = started(upload(browser, HUBSPOT, "hubspot.csv", region="US"))
    html = browser.get(f"/imports/{import_id}").text
    first, last = column_of(html, "First Name"), column_of(html, "Last Name")
    form = {
        **mapping_form(html),
        f"col-{last}": "given_name",
        "on_duplicate": "update",
        "region": "us",
    }
    r = browser.post(f"/imports/{import_id}", {**form, "action": "import"})
    assert r.status_code == 422
    assert f'id="map-{last}-err">Given name: this field takes one column' in r.text
    assert f'aria-describedby="map-{first}-err"' in r.text
    assert selected_field(r.text, "Last Name") == "given_name"  # the choice is kept
    assert '<option value="update" selected>' in r.text and 'value="us"' in r.text
    assert "Nothing was changed" in r.text
    with services(db, tenant) as ctx:
        job = ctx.session.get(ImportJob, import_id)
        assert job is not None and job.status == "pending"
        assert job.mapping["fields"]["family_name"] == "Last Name"
        assert ctx.session.scalar(select(func.count()).select_from(Job)) == 0

    names = ("First Name", "Last Name", "Email", "Company Name", "Record ID")
    none = {**mapping_form(html), **{f"col-{column_of(html, n)}": "" for n in names}}
    r = browser.post(f"/imports/{import_id}", {**none, "action": "preview"})
    assert r.status_code == 422
    assert "map a name, organization or email column" in r.text
    assert selected_field(r.text, "First Name") == ""


def test_files_that_cannot_be_imported_are_refused_in_words(browser, tenant, monkeypatch) -> None:
    r = upload(browser, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 50, "photo.csv", preset="google")
    assert r.status_code == 422
    assert 'id="f-file-err"' in r.text and "not a text (CSV) file" in r.text
    assert '<option value="google" selected>' in r.text  # the choices are kept
    r = browser.client.post("/imports", data={"csrf": browser.csrf, "kind": "contacts"})
    assert r.status_code == 422 and "choose a file to import" in r.text
    r = upload(browser, HUBSPOT, region="Narnia")
    assert r.status_code == 422 and 'id="f-region-err"' in r.text
    monkeypatch.setattr(drafts, "MAX_CSV_BYTES", 100)
    r = upload(browser, HUBSPOT)
    assert r.status_code == 422 and "the file is too large" in r.text
    r = upload(browser, (FIXTURES / "google.vcf").read_bytes(), "a.vcf", kind="interactions")
    assert r.status_code == 422 and "holds contacts, not interactions" in r.text
    with tenant.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_a_vcard_file_is_previewed_dry_run_and_imported(browser, tenant) -> None:
    draft_id = started(upload(browser, (FIXTURES / "google.vcf").read_bytes(), "google.vcf"))
    html = browser.get(f"/imports/{draft_id}").text
    assert "Tomás García López" in html and "tomas@estudioverde.example" in html
    dry_id = started(browser.post(f"/imports/{draft_id}", {"action": "dry_run"}))
    assert dry_id != draft_id
    report = browser.get(f"/imports/{dry_id}").text
    assert "Nothing was written" in report and "created" in report
    assert contacts_in(tenant) == []
    assert (
        started(browser.post(f"/imports/{draft_id}", {"action": "import", "on_duplicate": "skip"}))
        == draft_id
    )
    assert "Tomás García López" in contacts_in(tenant)
    assert "created" in browser.get(f"/imports/{draft_id}").text


def test_viewers_read_but_cannot_import(browser, viewer_browser, tenant) -> None:
    import_id = started(upload(browser, HUBSPOT))
    listing = viewer_browser.get("/imports")
    assert listing.status_code == 200 and "New import" not in listing.text
    page = viewer_browser.get(f"/imports/{import_id}")
    assert page.status_code == 200 and 'id="mapping-form"' not in page.text
    assert viewer_browser.get("/imports/new").status_code == 403
    assert upload(viewer_browser, HUBSPOT).status_code == 403
    assert viewer_browser.post(f"/imports/{import_id}", {"action": "import"}).status_code == 403
    with tenant.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_file_headers_and_values_are_escaped(browser, tenant) -> None:
    out = io.StringIO()
    csv.writer(out).writerows([["Name", XSS], [XSS, "x"]])
    content = out.getvalue().encode()
    import_id = started(upload(browser, content, f"{XSS}.csv"))
    html = browser.get(f"/imports/{import_id}").text
    assert_escaped(html)
    form = mapping_form(html)
    assert started(browser.post(f"/imports/{import_id}", {**form, "action": "import"}))
    run_worker(tenant)
    assert_escaped(browser.get(f"/imports/{import_id}").text)
    assert_escaped(browser.get("/imports").text)
    assert contacts_in(tenant) == [XSS]


def test_a_form_without_its_csrf_token_is_refused(browser, tenant) -> None:
    import_id = started(upload(browser, HUBSPOT))
    browser.csrf = "forged"
    assert upload(browser, HUBSPOT).status_code == 403
    r = browser.post(f"/imports/{import_id}", {"action": "import"})
    assert r.status_code == 403
    with tenant.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ImportJob)) == 1
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_another_workspaces_import_is_not_found(browser, db, other_tenant) -> None:
    with services(db, other_tenant) as ctx:
        theirs = drafts.stage(
            ctx, HUBSPOT, ImportRequest(), filename="theirs.csv", kind="contacts"
        ).id
    for path in ("", "/status.json", "/problems.csv"):
        assert browser.get(f"/imports/{theirs}{path}").status_code == 404
    assert browser.post(f"/imports/{theirs}", {"action": "import"}).status_code == 404
    assert browser.get("/imports/abc").status_code == 404
    assert "theirs.csv" not in browser.get("/imports").text


def test_the_list_loads_more_newest_first(browser, db, tenant) -> None:
    with services(db, tenant) as ctx:
        for i in range(53):
            drafts.stage(ctx, HUBSPOT, ImportRequest(), filename=f"f{i:02}.csv", kind="contacts")
    first = browser.get("/imports").text
    assert first.count('<a href="/imports/') == 50 and ">f52.csv<" in first
    more = re.search(r'<a href="(/imports\?cursor=[^"]+)">Load more', first)
    assert more
    rest = browser.get(more.group(1).replace("&amp;", "&")).text
    assert [n for n in ("f02", "f01", "f00") if f">{n}.csv<" in rest] == ["f02", "f01", "f00"]
    assert "Load more" not in rest


@pytest.mark.parametrize("path", ["/settings/data", "/contacts"])
def test_the_imports_page_is_linked(browser, path) -> None:
    assert 'href="/imports' in browser.get(path).text


def test_interactions_need_a_contact_and_a_time(browser, tenant) -> None:
    content = b"contact_email,when,subject\nada@example.com,2026-01-05 10:00,Kickoff\n"
    import_id = started(upload(browser, content, "calls.csv", kind="interactions"))
    html = browser.get(f"/imports/{import_id}").text
    assert selected_field(html, "contact_email") == "email"
    assert selected_field(html, "when") == "occurred_at"
    assert "Kickoff" in html.split('id="preview"', 1)[1]
    form = {**mapping_form(html), f"col-{column_of(html, 'when')}": ""}
    r = browser.post(f"/imports/{import_id}", {**form, "action": "dry_run"})
    assert r.status_code == 422
    assert "map when it happened" in r.text.split('role="alert"', 1)[1]
    with tenant.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ImportJob)) == 1


def test_a_draft_is_discarded_from_its_page(
    browser, viewer_browser, db, tenant, other_tenant
) -> None:
    import_id = started(upload(browser, HUBSPOT))
    page = browser.get(f"/imports/{import_id}").text
    discard = f'action="/imports/{import_id}/discard"'
    assert discard in page
    assert discard not in viewer_browser.get(f"/imports/{import_id}").text
    assert viewer_browser.post(f"/imports/{import_id}/discard", {}).status_code == 403
    with services(db, other_tenant) as ctx:
        theirs = drafts.stage(ctx, HUBSPOT, ImportRequest(), filename="t.csv", kind="contacts").id
    assert browser.post(f"/imports/{theirs}/discard", {}).status_code == 404
    csrf, browser.csrf = browser.csrf, "forged"
    assert browser.post(f"/imports/{import_id}/discard", {}).status_code == 403
    browser.csrf = csrf

    r = browser.post(f"/imports/{import_id}/discard", {})
    assert (r.status_code, r.headers["location"]) == (303, "/imports")
    assert browser.get(f"/imports/{import_id}").status_code == 404
    assert f'href="/imports/{import_id}"' not in browser.get("/imports").text
    with tenant.db.session() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(ImportJob)
                .where(ImportJob.workspace_id == tenant.workspace_id)
            )
            == 0
        )
        assert s.scalar(select(func.count()).select_from(ImportJob)) == 1  # theirs


def test_a_started_import_has_no_discard_and_refuses_it(browser, tenant) -> None:
    import_id = started(upload(browser, HUBSPOT))
    form = mapping_form(browser.get(f"/imports/{import_id}").text)
    assert started(browser.post(f"/imports/{import_id}", {**form, "action": "import"}))
    assert "/discard" not in browser.get(f"/imports/{import_id}").text
    assert browser.post(f"/imports/{import_id}/discard", {}).status_code == 409
    run_worker(tenant)
    assert browser.post(f"/imports/{import_id}/discard", {}).status_code == 409
    assert len(contacts_in(tenant)) == 8
