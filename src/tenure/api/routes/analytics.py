"""/analytics/retention, /cohorts, /churn-reasons, /tenure and /revenue: JSON, or CSV with
``Accept: text/csv`` or ``?format=csv``. Definitions in ``tenure/domain/retention.py``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from tenure.api.deps import CtxDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.analytics import (
    ChurnReasonsRead,
    CohortsRead,
    RetentionRead,
    RevenueRead,
    TenureRead,
)
from tenure.db.repositories.base import MAX_ID
from tenure.domain.contacts import MAX_TAG_LENGTH
from tenure.domain.lifecycle import EndReason
from tenure.domain.retention import DEFAULT_COHORT_MONTHS, MAX_MONTHS, Period
from tenure.services import analytics as service

router = APIRouter(route_class=OneHopRoute, prefix="/analytics", tags=["analytics"])

CSV_TYPE = "text/csv"
#: Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Start = Annotated[
    str | None,
    Query(max_length=7, description="First month, YYYY-MM (default: 11 months before end)."),
]
End = Annotated[
    str | None, Query(max_length=7, description="Last month, YYYY-MM (default: this month).")
]
OwnerId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only contacts this user owns.")]
Tag = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_TAG_LENGTH, description="Only contacts with this tag."),
]
Format = Annotated[
    Literal["json", "csv"] | None,
    Query(alias="format", description="`csv` for a CSV file (or send `Accept: text/csv`)."),
]
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV_TYPE: {"schema": {"type": "string"}}}}
}


def wants_csv(request: Request, format_: str | None) -> bool:
    """``?format=`` decides; else the Accept header, when it prefers text/csv to JSON."""
    if format_ is not None:
        return format_ == "csv"
    csv_q = json_q = 0.0
    for part in request.headers.get("accept", "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media.lower() == CSV_TYPE:
            csv_q = max(csv_q, q)
        elif media.lower() == "application/json":
            json_q = max(json_q, q)
    return csv_q > 0 and csv_q > json_q


def safe_cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(
    name: str, period: Period, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    filename = f"{name}-{period.start}-{period.end}.csv"
    return Response(
        out.getvalue(),
        media_type=f"{CSV_TYPE}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Vary": "Accept"},
    )


@router.get("/retention", response_model=RetentionRead, responses=CSV_RESPONSES)
def retention(
    ctx: CtxDep,
    request: Request,
    response: Response,
    start: Start = None,
    end: End = None,
    owner_id: OwnerId = None,
    tag: Tag = None,
    format_: Format = None,
) -> Any:
    """Clients at the start and end of each month, new, reactivated and ended (by reason),
    logo churn and retention rates."""
    report = service.retention(ctx, start=start, end=end, owner_id=owner_id, tag=tag)
    if wants_csv(request, format_):
        reasons = sorted({*EndReason, *(r for m in report.months for r in m.ended_by_reason)})
        header = [
            "month",
            "clients_start",
            "clients_end",
            "new",
            "reactivated",
            "ended",
            "churn_rate",
            "retention_rate",
            *(f"ended_{r}" for r in reasons),
        ]
        rows = [
            [
                str(m.month),
                m.clients_start,
                m.clients_end,
                m.new,
                m.reactivated,
                m.ended,
                m.churn_rate,
                m.retention_rate,
                *(m.ended_by_reason.get(r, 0) for r in reasons),
            ]
            for m in report.months
        ]
        return csv_response("retention", report.period, header, rows)
    response.headers["Vary"] = "Accept"
    return RetentionRead.model_validate(report)


@router.get("/churn-reasons", response_model=ChurnReasonsRead, responses=CSV_RESPONSES)
def churn_reasons(
    ctx: CtxDep,
    request: Request,
    response: Response,
    start: Start = None,
    end: End = None,
    owner_id: OwnerId = None,
    tag: Tag = None,
    format_: Format = None,
) -> Any:
    """Relationships ended in the period by reason, most frequent first."""
    report = service.churn_reasons_report(ctx, start=start, end=end, owner_id=owner_id, tag=tag)
    if wants_csv(request, format_):
        rows = [[r.reason, r.ended, r.share] for r in report.reasons]
        return csv_response("churn-reasons", report.period, ["reason", "ended", "share"], rows)
    response.headers["Vary"] = "Accept"
    return ChurnReasonsRead.model_validate(report)


@router.get("/cohorts", response_model=CohortsRead, responses=CSV_RESPONSES)
def cohorts(
    ctx: CtxDep,
    request: Request,
    response: Response,
    start: Start = None,
    end: End = None,
    months: Annotated[
        int, Query(ge=1, le=MAX_MONTHS, description="Months followed after each cohort's.")
    ] = DEFAULT_COHORT_MONTHS,
    owner_id: OwnerId = None,
    tag: Tag = None,
    format_: Format = None,
) -> Any:
    """Clients grouped by the month of their first conversion, and how many of each are still
    clients at the end of each of the following months."""
    report = service.cohorts(ctx, start=start, end=end, months=months, owner_id=owner_id, tag=tag)
    if wants_csv(request, format_):
        ks = range(1, report.months_after + 1)
        header = ["cohort", "size", *(f"retained_{k}" for k in ks), *(f"share_{k}" for k in ks)]
        rows = [[str(c.cohort), c.size, *c.retained, *c.shares] for c in report.cohorts]
        return csv_response("cohorts", report.period, header, rows)
    response.headers["Vary"] = "Accept"
    return CohortsRead.model_validate(report)


@router.get("/tenure", response_model=TenureRead, responses=CSV_RESPONSES)
def tenure(
    ctx: CtxDep,
    request: Request,
    response: Response,
    start: Start = None,
    end: End = None,
    owner_id: OwnerId = None,
    tag: Tag = None,
    format_: Format = None,
) -> Any:
    """Mean and median days of the client spells completed in the period and of those still
    open at its end."""
    report = service.tenure(ctx, start=start, end=end, owner_id=owner_id, tag=tag)
    if wants_csv(request, format_):
        t = report.tenure
        header = ["spells", "count", "total_days", "mean_days", "median_days", "as_of"]
        rows = [
            [kind, s.count, s.total_days, s.mean_days, s.median_days, t.as_of.isoformat()]
            for kind, s in (("completed", t.completed), ("ongoing", t.ongoing))
        ]
        return csv_response("tenure", report.period, header, rows)
    response.headers["Vary"] = "Accept"
    return TenureRead.model_validate(report)


@router.get("/revenue", response_model=RevenueRead, responses=CSV_RESPONSES)
def revenue(
    ctx: CtxDep,
    request: Request,
    response: Response,
    start: Start = None,
    end: End = None,
    owner_id: OwnerId = None,
    tag: Tag = None,
    format_: Format = None,
) -> Any:
    """Monthly recurring value per currency at the start and end of each month, new, expansion,
    contraction and churned value, gross and net revenue retention."""
    report = service.revenue(ctx, start=start, end=end, owner_id=owner_id, tag=tag)
    if wants_csv(request, format_):
        header = [
            "currency",
            "month",
            "mrr_start",
            "mrr_end",
            "new",
            "expansion",
            "contraction",
            "churned",
            "gross_retention",
            "net_retention",
        ]
        rows = [
            [
                c.currency,
                str(m.month),
                m.mrr_start,
                m.mrr_end,
                m.new,
                m.expansion,
                m.contraction,
                m.churned,
                m.gross_retention,
                m.net_retention,
            ]
            for c in report.currencies
            for m in c.months
        ]
        return csv_response("revenue", report.period, header, rows)
    response.headers["Vary"] = "Accept"
    return RevenueRead.model_validate(report)
