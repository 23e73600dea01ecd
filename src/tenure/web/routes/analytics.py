"""/analytics: retention and churn over time, cohorts, churn reasons, tenure, revenue."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tenure.services import analytics
from tenure.web.charts import Point, bar_chart, histogram, line_chart
from tenure.web.deps import WebCtx
from tenure.web.render import build_templates, context

router = APIRouter()
templates = build_templates()

#: Spreadsheets run cells that start with these as formulas: neutralize them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


#: The two series of the tenure distribution (ongoing spells, completed spells).
TENURE_SERIES = ("Current clients", "Ended relationships")


def _month(m: Any) -> str:
    return f"{m.year:04d}-{m.month:02d}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


@router.get("/analytics")
def analytics_page(
    request: Request,
    ctx: WebCtx,
    start: str | None = None,
    end: str | None = None,
    tag: str | None = None,
) -> Response:
    kwargs: dict[str, Any] = {"start": start or None, "end": end or None, "tag": tag or None}
    retention = analytics.retention(ctx, **kwargs)
    reasons = analytics.churn_reasons_report(ctx, **kwargs)
    cohorts = analytics.cohorts(ctx, **kwargs, months=12)
    tenure = analytics.tenure(ctx, **kwargs)
    revenue = analytics.revenue(ctx, **kwargs)
    months = retention.months
    charts = {
        "clients": line_chart(
            [Point(_month(m.month), m.clients_end) for m in months],
            title="Clients at the end of each month",
        ),
        "churn": line_chart(
            [Point(_month(m.month), round((m.churn_rate or 0) * 100, 1)) for m in months],
            title="Logo churn rate per month (%)",
        ),
        "reasons": bar_chart(
            [Point(r.reason.replace("_", " "), r.ended) for r in reasons.reasons],
            title="Why relationships ended",
        ),
        "tenure": histogram(
            [(b.label, (b.ongoing, b.completed)) for b in tenure.bands]
            if any(b.total for b in tenure.bands)
            else [],
            series=TENURE_SERIES,
            title="How long relationships last: current clients and ended relationships",
        ),
    }
    return templates.TemplateResponse(
        request,
        "analytics/analytics.html",
        context(
            request,
            retention=retention,
            reasons=reasons,
            cohorts=cohorts,
            tenure=tenure,
            revenue=revenue,
            charts=charts,
            month=_month,
            pct=_pct,
            query={"start": start or "", "end": end or "", "tag": tag or ""},
        ),
    )


@router.get("/analytics/retention.csv")
def retention_csv(
    ctx: WebCtx, start: str | None = None, end: str | None = None, tag: str | None = None
) -> Response:
    report = analytics.retention(ctx, start=start or None, end=end or None, tag=tag or None)
    rows: list[list[Any]] = [
        [
            "month",
            "clients_start",
            "new",
            "reactivated",
            "ended",
            "clients_end",
            "churn_rate",
            "retention_rate",
        ]
    ]
    rows += [
        [
            _month(m.month),
            m.clients_start,
            m.new,
            m.reactivated,
            m.ended,
            m.clients_end,
            "" if m.churn_rate is None else f"{m.churn_rate:.4f}",
            "" if m.retention_rate is None else f"{m.retention_rate:.4f}",
        ]
        for m in report.months
    ]
    return _csv(rows, "retention.csv")


@router.get("/analytics/cohorts.csv")
def cohorts_csv(ctx: WebCtx, start: str | None = None, end: str | None = None) -> Response:
    report = analytics.cohorts(ctx, start=start or None, end=end or None, months=12)
    rows: list[list[Any]] = [
        ["cohort", "size", *[f"month_{k}" for k in range(1, report.months_after + 1)]]
    ]
    rows += [
        [_month(c.cohort), c.size, *["" if s is None else f"{s:.4f}" for s in c.shares]]
        for c in report.cohorts
    ]
    return _csv(rows, "cohorts.csv")


@router.get("/analytics/tenure.csv")
def tenure_csv(
    ctx: WebCtx, start: str | None = None, end: str | None = None, tag: str | None = None
) -> Response:
    """The tenure distribution: spells per band of length, ongoing and ended."""
    report = analytics.tenure(ctx, start=start or None, end=end or None, tag=tag or None)
    rows: list[list[Any]] = [
        ["band", "from_days", "to_days", "current_clients", "ended_relationships", "total"]
    ]
    rows += [
        [
            b.label,
            b.first_day,
            "" if b.last_day is None else b.last_day,
            b.ongoing,
            b.completed,
            b.total,
        ]
        for b in report.bands
    ]
    return _csv(rows, "tenure.csv")


def _csv(rows: list[list[Any]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(
            [f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in row]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
