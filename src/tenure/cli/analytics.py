"""`tenure analytics retention|cohorts|churn-reasons|tenure|revenue`: Rich tables or --json."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import typer
from rich.table import Table

from tenure.cli.runtime import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    print_json,
    workspace_ctx,
)
from tenure.domain.retention import DEFAULT_COHORT_MONTHS, Month
from tenure.services import analytics as service

app = typer.Typer(
    help="Retention analytics: churn, retention, cohorts, tenure and revenue by month.",
    no_args_is_help=True,
)

StartOption = typer.Option(None, "--start", help="First month, YYYY-MM (default: a year ago).")
EndOption = typer.Option(None, "--end", help="Last month, YYYY-MM (default: this month).")
OwnerOption = typer.Option(None, "--owner", help="Only contacts this user id owns.")
TagOption = typer.Option(None, "--tag", help="Only contacts with this tag.")


def plain(value: Any) -> Any:
    """Reports as JSON-ready data: months as ``YYYY-MM``, dates as ISO text."""
    if isinstance(value, Month):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def days(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


#: ISO 4217 minor-unit exponents other than 2.
EXPONENTS = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split(),  # noqa: SIM905
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}


def money(minor: int, currency: str) -> str:
    exponent = EXPONENTS.get(currency, 2)
    return f"{minor / 10**exponent:,.{exponent}f}"


def _title(name: str, report: Any) -> str:
    scope = report.scope
    parts = [f"{name} {report.period.start} to {report.period.end}"]
    if scope.owner_id is not None:
        parts.append(f"owner {scope.owner_id}")
    if scope.tag is not None:
        parts.append(f"tag {scope.tag}")
    return ", ".join(parts)


@app.command("retention")
@handle_errors
def retention_command(
    start: str = StartOption,
    end: str = EndOption,
    owner: int = OwnerOption,
    tag: str = TagOption,
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Clients at start and end of each month, new, reactivated, ended; churn and retention."""
    with workspace_ctx(workspace, write=False) as ctx:
        report = service.retention(ctx, start=start, end=end, owner_id=owner, tag=tag)
    if as_json:
        print_json(plain(report))
        return
    table = Table(
        "month",
        "start",
        "new",
        "reactivated",
        "ended",
        "end",
        "churn",
        "retention",
        "end reasons",
        title=_title("Clients", report),
    )
    for m in report.months:
        table.add_row(
            str(m.month),
            str(m.clients_start),
            str(m.new),
            str(m.reactivated),
            str(m.ended),
            str(m.clients_end),
            pct(m.churn_rate),
            pct(m.retention_rate),
            ", ".join(f"{r} {n}" for r, n in m.ended_by_reason.items()),
        )
    console.print(table)


@app.command("churn-reasons")
@handle_errors
def churn_reasons_command(
    start: str = StartOption,
    end: str = EndOption,
    owner: int = OwnerOption,
    tag: str = TagOption,
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Why relationships ended in the period, most frequent reason first."""
    with workspace_ctx(workspace, write=False) as ctx:
        report = service.churn_reasons_report(ctx, start=start, end=end, owner_id=owner, tag=tag)
    if as_json:
        data = plain(report)
        data.pop("months")
        print_json(data)
        return
    table = Table("reason", "ended", "share", title=_title("End reasons", report))
    for r in report.reasons:
        table.add_row(r.reason.replace("_", " "), str(r.ended), pct(r.share))
    table.add_section()
    table.add_row("all", str(report.ended), pct(1.0 if report.ended else None))
    console.print(table)


@app.command("cohorts")
@handle_errors
def cohorts_command(
    start: str = StartOption,
    end: str = EndOption,
    months: int = typer.Option(
        DEFAULT_COHORT_MONTHS, "--months", min=1, max=120, help="Months to follow each cohort."
    ),
    owner: int = OwnerOption,
    tag: str = TagOption,
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Clients by the month they first became clients: share still clients 1..N months on."""
    with workspace_ctx(workspace, write=False) as ctx:
        report = service.cohorts(ctx, start=start, end=end, months=months, owner_id=owner, tag=tag)
    if as_json:
        print_json(plain(report))
        return
    table = Table(
        "cohort",
        "size",
        *(f"+{k}" for k in range(1, report.months_after + 1)),
        title=_title("Cohorts", report),
    )
    for row in report.cohorts:
        cells = [
            "" if n is None else pct(share)
            for n, share in zip(row.retained, row.shares, strict=True)
        ]
        table.add_row(str(row.cohort), str(row.size), *cells)
    console.print(table)


@app.command("tenure")
@handle_errors
def tenure_command(
    start: str = StartOption,
    end: str = EndOption,
    owner: int = OwnerOption,
    tag: str = TagOption,
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Mean and median length of completed and ongoing client spells, in days."""
    with workspace_ctx(workspace, write=False) as ctx:
        report = service.tenure(ctx, start=start, end=end, owner_id=owner, tag=tag)
    if as_json:
        print_json(plain(report))
        return
    t = report.tenure
    table = Table("spells", "count", "mean days", "median days", title=_title("Tenure", report))
    table.add_row(
        "completed in the period",
        str(t.completed.count),
        days(t.completed.mean_days),
        days(t.completed.median_days),
    )
    table.add_row(
        f"ongoing on {t.as_of}",
        str(t.ongoing.count),
        days(t.ongoing.mean_days),
        days(t.ongoing.median_days),
    )
    console.print(table)


@app.command("revenue")
@handle_errors
def revenue_command(
    start: str = StartOption,
    end: str = EndOption,
    owner: int = OwnerOption,
    tag: str = TagOption,
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Monthly recurring value, expansion, contraction, churn, gross and net revenue retention."""
    with workspace_ctx(workspace, write=False) as ctx:
        report = service.revenue(ctx, start=start, end=end, owner_id=owner, tag=tag)
    if as_json:
        print_json(plain(report))
        return
    if not report.currencies:
        console.print(f"{_title('Revenue', report)}: no recurring value")
    for c in report.currencies:
        table = Table(
            "month",
            "MRR start",
            "new",
            "expansion",
            "contraction",
            "churned",
            "MRR end",
            "GRR",
            "NRR",
            title=f"{_title('Revenue', report)} ({c.currency})",
        )
        for m in c.months:
            table.add_row(
                str(m.month),
                money(m.mrr_start, c.currency),
                money(m.new, c.currency),
                money(m.expansion, c.currency),
                money(m.contraction, c.currency),
                money(m.churned, c.currency),
                money(m.mrr_end, c.currency),
                pct(m.gross_retention),
                pct(m.net_retention),
            )
        console.print(table)
