"""The tenure distribution on the analytics page: chart, table and CSV agree with the history."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.agreements import AgreementKind
from tenure.domain.contacts import ContactKind
from tenure.domain.lifecycle import EndReason
from tenure.services import agreements, contacts, lifecycle
from tests.conftest import Database, Tenant
from tests.web.conftest import Browser


def _client(ctx, name: str, since: date, ended_after: int | None = None) -> None:
    cid = contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name=name).contact.id
    deal = agreements.create_agreement(
        ctx, cid, title="Plan", kind=AgreementKind.ENGAGEMENT, starts_on=since
    )
    agreements.confirm(ctx, deal.id)
    if ended_after is not None:
        lifecycle.end(
            ctx, cid, reason=EndReason.PRICE, effective_on=since + timedelta(days=ended_after)
        )


def test_tenure_distribution_chart_table_and_csv(
    browser: Browser, db: Database, tenant: Tenant
) -> None:
    today = date.today()
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        _client(ctx, "New", today - timedelta(days=20))  # < 3 months, current
        _client(ctx, "Older", today - timedelta(days=400))  # 1-2 years, current
        _client(ctx, "=Gone", today - timedelta(days=200), ended_after=100)  # 3-6 months, ended
    page = browser.get("/analytics")
    assert page.status_code == 200
    text = page.text
    assert "How long relationships last" in text and 'class="bar s1"' in text
    table = text[text.index('class="table tenure-bands"') :]
    table = table[: table.index("</table>")]
    assert '<th scope="row">&lt; 3 months</th><td>1</td><td>0</td><td>1</td>' in table
    assert '<th scope="row">3-6 months</th><td>0</td><td>1</td><td>1</td>' in table
    assert '<th scope="row">1-2 years</th><td>1</td><td>0</td><td>1</td>' in table

    r = browser.get("/analytics/tenure.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="tenure.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["band"] for row in rows][:2] == ["< 3 months", "3-6 months"]
    assert sum(int(row["current_clients"]) for row in rows) == 2
    assert sum(int(row["ended_relationships"]) for row in rows) == 1
    assert rows[-1]["to_days"] == "" and rows[0]["from_days"] == "0"
    assert browser.get("/analytics/tenure.csv?start=2026-13").status_code == 422


def test_an_empty_workspace_shows_no_chart_and_says_so(browser: Browser) -> None:
    text = browser.get("/analytics").text
    assert "No client relationship in this period yet" in text
    section = text[text.index('id="h-tenure"') : text.index('id="h-coh"')]
    assert "<svg" not in section


def test_viewers_download_the_tenure_csv(viewer_browser: Browser) -> None:
    r = viewer_browser.get("/analytics/tenure.csv")
    assert r.status_code == 200 and r.text.startswith("band,from_days")
