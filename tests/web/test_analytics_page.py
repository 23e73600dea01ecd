"""The analytics page: charts, tables and CSV from the same numbers as the API."""

from __future__ import annotations

from datetime import date, timedelta


def _history(db, tenant) -> None:
    from tenure.db.uow import session_factory, unit_of_work
    from tenure.domain.agreements import AgreementKind, BillingPeriod
    from tenure.domain.contacts import ContactKind
    from tenure.domain.lifecycle import EndReason
    from tenure.services import agreements, contacts, lifecycle

    start = date.today().replace(day=1) - timedelta(days=200)
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        for i, reason in enumerate([EndReason.PRICE, EndReason.MOVED, None]):
            cid = contacts.create_contact(
                ctx, kind=ContactKind.PERSON, display_name=f"=cmd|{i}"
            ).contact.id
            deal = agreements.create_agreement(
                ctx,
                cid,
                title="Plan",
                kind=AgreementKind.SUBSCRIPTION,
                starts_on=start,
                value_minor=10000,
                currency="EUR",
                billing_period=BillingPeriod.MONTHLY,
            )
            agreements.confirm(ctx, deal.id)
            if reason:
                lifecycle.end(ctx, cid, reason=reason, effective_on=start + timedelta(days=60))


def test_analytics_shows_churn_reasons_cohorts_and_csv(browser, db, tenant) -> None:
    _history(db, tenant)
    page = browser.get("/analytics")
    assert page.status_code == 200
    text = page.text
    assert "<svg" in text and "Why relationships ended" in text
    assert "moved" in text and "price" in text
    assert "Cohort retention" in text and "EUR" in text
    csv = browser.get("/analytics/retention.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("month,clients_start")
    assert sum(int(line.split(",")[4]) for line in lines[1:]) == 2  # two ended
    bad = browser.get("/analytics?start=2026-13")
    assert bad.status_code == 422 and "month" in bad.text


def test_viewers_read_analytics(viewer_browser) -> None:
    assert viewer_browser.get("/analytics").status_code == 200
