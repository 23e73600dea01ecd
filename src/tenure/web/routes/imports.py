"""/imports: upload a CSV or vCard file, map its columns with a preview, dry run, run, report.

The upload is kept server-side as a draft import (``services.imports.drafts``), so the steps
survive a reload: ``GET /imports/{id}`` shows a draft's mapping and preview, and a started
import's progress and report. Every refusal re-renders the page with the message next to the
field that caused it and the user's choices kept.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from tenure.db.models import ImportJob
from tenure.domain.access import Permission, can
from tenure.domain.errors import DomainError, InvalidInput
from tenure.domain.exports import neutralize
from tenure.domain.imports.mapping import header_key
from tenure.domain.imports.presets import FIELDS_BY_KIND, LIST_FIELDS, ImportKind, presets_for
from tenure.services import access
from tenure.services.context import Ctx
from tenure.services.imports import drafts
from tenure.services.imports import jobs as imports
from tenure.services.imports.preview import Preview, preview
from tenure.services.imports.source import open_bytes
from tenure.web.deps import WebCtx
from tenure.web.forms import errors_of, text
from tenure.web.render import build_templates, context

router = APIRouter()
templates = build_templates()

KINDS = {
    "contacts": "Contacts (CSV)",
    "interactions": "Interactions (CSV)",
    drafts.VCARD: "Contacts (vCard .vcf)",
}
ON_DUPLICATE = {
    "skip": "Skip it (keep the contact as it is)",
    "update": "Update the contact",
    "create": "Create another contact",
}
PREVIEW_ROWS = 10
#: Problems listed on the page; the CSV download has all the report keeps.
PAGE_PROBLEMS = 200
PAGE_SIZE = 50


def _presets() -> dict[str, str]:
    names = sorted({name for kind in ImportKind for name in presets_for(kind)})
    return {"": "Detect from the columns", **{n: n.capitalize() for n in names}}


def _render(request: Request, name: str, status: int = 200, **values: Any) -> Response:
    return templates.TemplateResponse(
        request,
        f"imports/{name}",
        context(request, draft_days=drafts.DRAFT_DAYS, **values),
        status_code=status,
    )


# --- the list ---------------------------------------------------------------------------------


@router.get("/imports")
def import_list(request: Request, ctx: WebCtx, cursor: str | None = None) -> Response:
    page = imports.list_imports(ctx, cursor=cursor, limit=PAGE_SIZE)
    names = {u.id: u.name or u.email for _, u in access.list_members(ctx)}
    return _render(
        request,
        "list.html",
        page=page,
        names=names,
        kinds=KINDS,
        next_url=f"/imports?cursor={page.next_cursor}" if page.next_cursor else None,
        is_draft=drafts.is_draft,
    )


# --- step 1: upload ---------------------------------------------------------------------------


def _new_page(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    return _render(
        request,
        "new.html",
        status,
        values=values,
        errors=errors,
        kinds=KINDS,
        presets=_presets(),
        on_duplicate=ON_DUPLICATE,
        max_mb={
            k: m // 2**20 for k, m in (("csv", drafts.MAX_CSV_BYTES), ("vcf", drafts.MAX_VCF_BYTES))
        },
    )


@router.get("/imports/new")
def new_import(request: Request, ctx: WebCtx) -> Response:
    ctx.require(Permission.WRITE)
    return _new_page(request, {"kind": "contacts", "on_duplicate": "skip"}, {})


@router.post("/imports")
async def upload(request: Request, ctx: WebCtx) -> Response:
    ctx.require(Permission.WRITE)  # before reading a large upload for nothing
    form = await request.form()
    values = {k: text(form, k) for k in ("kind", "preset", "on_duplicate", "region")}
    file = form.get("file")
    try:
        if file is None or isinstance(file, str) or not file.filename:
            raise InvalidInput.one("file", "required", "choose a file to import")
        content = await file.read(max(drafts.MAX_CSV_BYTES, drafts.MAX_VCF_BYTES) + 1)
        kind = _kind_of(values["kind"], file.filename, content)
        request_ = imports.ImportRequest(
            kind=kind if kind != drafts.VCARD else "contacts",
            preset=values["preset"] or None,
            on_duplicate=values["on_duplicate"] or "skip",
            region=values["region"] or None,
        )
        job = drafts.stage(ctx, content, request_, filename=file.filename, kind=kind)
    except DomainError as exc:
        ctx.session.rollback()
        errors = errors_of(exc)
        if "file" in errors:
            errors["file"] += ". Choose the file again."
        return _new_page(request, values, errors, 422)
    return RedirectResponse(f"/imports/{job.id}", status_code=303)


def _kind_of(chosen: str, filename: str, content: bytes) -> str:
    if chosen not in KINDS:
        raise InvalidInput.one("kind", "choice", "choose what the file holds")
    if drafts.looks_like_vcard(filename, content):
        if chosen == "interactions":
            raise InvalidInput.one("file", "vcard", "a vCard file holds contacts, not interactions")
        return drafts.VCARD
    return chosen


# --- step 2: the mapping and the preview ------------------------------------------------------


def _selected(job: ImportJob) -> dict[str, str]:
    """header key → the field a draft's mapping reads it into."""
    fields = job.mapping.get("fields", job.mapping) if isinstance(job.mapping, dict) else {}
    chosen: dict[str, str] = {}
    for name, cols in fields.items():
        for col in [cols] if isinstance(cols, str) else cols:
            chosen.setdefault(header_key(col), name)
    return chosen


def _spec(job: ImportJob, headers: list[str], form: Any) -> tuple[dict[str, Any], list[str]]:
    """The mapping the form asks for (a spec for ``from_spec``), and each column's choice."""
    choices = [text(form, f"col-{i}") for i in range(len(headers))]
    fields: dict[str, list[str]] = {}
    for header, name in zip(headers, choices, strict=True):
        if name and header:
            fields.setdefault(name, []).append(header)
    base = job.mapping if isinstance(job.mapping, dict) else {}
    spec: dict[str, Any] = {
        "fields": {
            n: cols if n in LIST_FIELDS or len(cols) > 1 else cols[0] for n, cols in fields.items()
        },
        "date_formats": base.get("date_formats", []),
        "source": base.get("source", "import"),
    }
    return spec, choices


def _preview(
    ctx: Ctx, job: ImportJob, options: drafts.DraftOptions | None
) -> tuple[Preview | None, dict[str, str]]:
    """The preview of the draft with ``options``, or why there is none (viewers see the
    mapping but no preview: a preview is part of writing)."""
    if not can(ctx.role, Permission.WRITE):
        return None, {}
    try:
        opener = open_bytes(drafts.content_of(ctx, job))
        return preview(ctx, opener, drafts.request_of(job, options), limit=PREVIEW_ROWS), {}
    except DomainError as exc:
        return None, errors_of(exc)


def _draft_page(
    request: Request,
    ctx: Ctx,
    job: ImportJob,
    *,
    choices: list[str] | None = None,
    options: drafts.DraftOptions | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    dry = _dry_run_of(ctx, job)
    if job.kind == drafts.VCARD:
        return _render(
            request,
            "vcard.html",
            status,
            job=job,
            cards=drafts.vcard_preview(ctx, job),
            on_duplicate=ON_DUPLICATE,
            chosen=options.on_duplicate if options else job.options.get("on_duplicate", "skip"),
            errors=errors or {},
            dry=dry,
        )
    sample = drafts.sample(ctx, job, limit=PREVIEW_ROWS)
    shown, preview_errors = _preview(ctx, job, options)
    errors = {**preview_errors, **(errors or {})}
    if choices is None:
        selected = _selected(job)
        choices = [selected.get(header_key(h), "") for h in sample.headers]
    columns = [
        {
            "index": i,
            "header": header,
            "field": choice,
            "error": errors.get(f"mapping.{choice}") if choice else None,
            "samples": [r[i] for r in sample.rows if i < len(r) and r[i].strip()][:3],
        }
        for i, (header, choice) in enumerate(zip(sample.headers, choices, strict=True))
    ]
    placed = {f"mapping.{c['field']}" for c in columns if c["error"]}
    mapped = [c for c in columns if c["field"]]
    return _render(
        request,
        "draft.html",
        status,
        job=job,
        columns=columns,
        fields=FIELDS_BY_KIND[ImportKind(job.kind)],
        preview=shown,
        rows=_preview_rows(shown, sample.rows, mapped),
        mapped=mapped,
        errors=errors,
        other_errors={k: v for k, v in errors.items() if k != "_" and k not in placed},
        on_duplicate=ON_DUPLICATE,
        chosen_duplicate=options.on_duplicate
        if options
        else job.options.get("on_duplicate", "skip"),
        region=(options.region if options else job.options.get("region")) or "",
        dry=dry,
        label=_label,
    )


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


#: The values a preview row shows in its "imported as" column, in this order.
SUMMARY_FIELDS = (
    "display_name",
    "given_name",
    "family_name",
    "organization",
    "emails",
    "phones",
    "email",
    "external_id",
    "occurred_at",
    "channel",
    "subject",
)


def _summary(values: dict[str, Any]) -> str:
    parts: list[str] = []
    for name in SUMMARY_FIELDS:
        value = values.get(name)
        if isinstance(value, list):
            parts += [str(v) for v in value]
        elif value:
            parts.append(str(value))
    return " · ".join(parts)


def _preview_rows(
    shown: Preview | None, rows: list[list[str]], mapped: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each previewed row: its action, the cells of the mapped columns with the problems found
    in them, and the problems that name no mapped column."""
    out = []
    keys = {header_key(c["header"]) for c in mapped}
    for row, raw in zip(shown.rows if shown else [], rows, strict=False):
        by_column: dict[str, list[dict[str, Any]]] = {}
        for p in row.problems:
            by_column.setdefault(header_key(p["column"]), []).append(p)
        cells = [
            {
                "value": raw[c["index"]] if c["index"] < len(raw) else "",
                "problems": by_column.get(header_key(c["header"]), []),
            }
            for c in mapped
        ]
        other = [p for k, ps in by_column.items() if k not in keys for p in ps]
        out.append(
            {
                "row": row.row,
                "action": row.action,
                "cells": cells,
                "other": other,
                "summary": _summary(row.values),
            }
        )
    return out


def _dry_run_of(ctx: Ctx, job: ImportJob) -> ImportJob | None:
    dry_id = job.options.get("dry_run_id")
    if not isinstance(dry_id, int):
        return None
    try:
        return imports.get_import(ctx, dry_id)
    except DomainError:
        return None


@router.get("/imports/{import_id:int}")
def import_page(request: Request, ctx: WebCtx, import_id: int) -> Response:
    job = imports.get_import(ctx, import_id)
    if drafts.is_draft(job):
        return _draft_page(request, ctx, job)
    return _status_page(request, ctx, job)


@router.post("/imports/{import_id:int}")
async def draft_action(request: Request, ctx: WebCtx, import_id: int) -> Response:
    """Save the draft's mapping and options, then preview, dry run or import."""
    ctx.require(Permission.WRITE)
    form = await request.form()
    action = text(form, "action")
    job = drafts.draft(ctx, import_id)
    options = drafts.DraftOptions(
        on_duplicate=text(form, "on_duplicate") or "skip", region=text(form, "region") or None
    )
    choices = None
    if job.kind != drafts.VCARD:
        headers = drafts.sample(ctx, job, limit=0).headers
        spec, choices = _spec(job, headers, form)
        options = drafts.DraftOptions(
            mapping=spec, on_duplicate=options.on_duplicate, region=options.region
        )
    try:
        drafts.configure(ctx, import_id, options)
        if action in ("dry_run", "import"):
            started = drafts.start(ctx, import_id, dry_run=action == "dry_run")
            return RedirectResponse(f"/imports/{started.id}", status_code=303)
    except DomainError as exc:
        ctx.session.rollback()
        job = drafts.draft(ctx, import_id)
        errors = errors_of(exc)
        errors["_"] = "Nothing was changed: " + _sentence(exc)
        return _draft_page(
            request, ctx, job, choices=choices, options=options, errors=errors, status=422
        )
    return RedirectResponse(f"/imports/{import_id}", status_code=303)


@router.post("/imports/{import_id:int}/discard")
def discard(ctx: WebCtx, import_id: int) -> Response:
    """Delete the draft and its file (the button on the draft's page)."""
    drafts.discard(ctx, import_id)
    return RedirectResponse("/imports", status_code=303)


def _sentence(exc: DomainError) -> str:
    if isinstance(exc, InvalidInput):
        return "fix the marked choices below."
    return exc.message


# --- started imports: progress and report -----------------------------------------------------


def _progress(job: ImportJob) -> dict[str, Any]:
    total = job.options.get("total_rows")
    return {
        "id": job.id,
        "status": job.status,
        "rows_done": job.rows_done,
        "total": total if isinstance(total, int) else None,
        "counts": job.counts,
        "finished": job.status in ("done", "failed"),
    }


def _status_page(request: Request, ctx: Ctx, job: ImportJob) -> Response:
    draft_id = job.options.get("draft_of")
    draft = None
    if isinstance(draft_id, int):
        try:
            found = imports.get_import(ctx, draft_id)
            draft = found if drafts.is_draft(found) else None
        except DomainError:
            draft = None
    return _render(
        request,
        "show.html",
        job=job,
        progress=_progress(job),
        problems=job.report[:PAGE_PROBLEMS],
        capped=len(job.report) > PAGE_PROBLEMS,
        draft=draft,
        kinds=KINDS,
        names={u.id: u.name or u.email for _, u in access.list_members(ctx)},
    )


@router.get("/imports/{import_id:int}/status.json")
def import_status(ctx: WebCtx, import_id: int) -> JSONResponse:
    return JSONResponse(_progress(imports.get_import(ctx, import_id)))


def _csv_rows(report: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "column", "value", "rule", "message"])
    for p in report:
        writer.writerow(
            [neutralize(str(p.get(k, ""))) for k in ("row", "column", "value", "rule", "message")]
        )
    return out.getvalue()


@router.get("/imports/{import_id:int}/problems.csv")
def problems_csv(ctx: WebCtx, import_id: int) -> Response:
    job = imports.get_import(ctx, import_id)
    return Response(
        _csv_rows(job.report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-problems.csv"'},
    )
