"""Importing a CSV in a real browser: upload, the preview, map two columns the file names its
own way, import, follow the progress (the page polls while a worker runs it), find the contact."""

from __future__ import annotations

import pytest

from tests.web.helpers import XSS

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")
expect = sync_api.expect

CSV = f"Full name,E-mail,Company,Remarks\nGrace Hopper,grace@navy.example,US Navy,{XSS}\n"


def test_upload_map_and_import_a_csv(web, tenant, tmp_path) -> None:
    from tenure.worker.runner import Worker, WorkerConfig

    page = web.page
    file = tmp_path / "people.csv"
    file.write_text(CSV.replace(XSS, '"' + XSS.replace('"', '""') + '"'))
    page.goto("/contacts")
    page.get_by_role("link", name="Import contacts").click()
    expect(page.get_by_role("heading", name="New import", level=1)).to_be_visible()
    page.get_by_label("File", exact=True).set_input_files(str(file))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Import people.csv", level=1)).to_be_visible()
    expect(page.get_by_label("Company", exact=True)).to_have_value("organization")
    expect(page.get_by_label("Full name", exact=True)).to_have_value("")
    # Only the company is recognized: as it stands, each row would be an organization.
    expect(page.locator("#preview tbody tr")).to_contain_text("US Navy")
    expect(page.locator("#preview")).not_to_contain_text("grace@navy.example")
    page.get_by_label("Full name", exact=True).select_option("display_name")
    page.get_by_label("E-mail", exact=True).select_option("emails")
    page.get_by_role("button", name="Update preview").click()

    preview = page.locator("#preview")
    expect(preview).to_contain_text("Grace Hopper · US Navy · grace@navy.example")
    expect(preview.locator(".badge")).to_have_text("create")
    expect(page.get_by_label("Full name", exact=True)).to_have_value("display_name")

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import of people.csv")).to_be_visible()
    expect(page.locator("#import-state")).to_have_text("pending")
    assert Worker(tenant.db.engine, WorkerConfig(worker_id="w-e2e-import")).run_until_idle() >= 1
    # The page polls its status and reloads itself once the import is done.
    expect(page.locator("#import-state")).to_have_text("done")
    expect(page.get_by_text("1 created")).to_be_visible()
    expect(page.get_by_text("No problems.")).to_be_visible()

    page.goto("/contacts")
    page.get_by_role("link", name="Grace Hopper").click()
    expect(page.get_by_role("heading", name="Grace Hopper", level=1)).to_be_visible()
