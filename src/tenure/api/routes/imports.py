"""Imports: upload a CSV (contacts or interactions), dry run or run, status and report.

The upload is checked at once (encoding, header, mapping: a 422 naming the field and rule)
and then run by the worker as a durable job (``import.run``); poll ``GET /imports/{id}``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from tenure.api.deps import CtxDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.imports import ImportPage, ImportRead
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.domain.access import Permission
from tenure.domain.errors import InvalidInput
from tenure.services.imports import drafts
from tenure.services.imports import jobs as service
from tenure.services.imports.engine import DEFAULT_BATCH

router = APIRouter(route_class=OneHopRoute, prefix="/imports", tags=["imports"])


def _mapping(text: str | None) -> dict[str, Any] | None:
    if text is None or not text.strip():
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidInput.one("mapping", "json", f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidInput.one("mapping", "type", "a mapping is a JSON object")
    return value


@router.post("", response_model=ImportRead, status_code=202)
def create_import(
    ctx: CtxDep,
    file: Annotated[UploadFile, File(description="The CSV file.")],
    kind: Annotated[Literal["contacts", "interactions"], Form()] = "contacts",
    preset: Annotated[str | None, Form(max_length=40)] = None,
    mapping: Annotated[
        str | None, Form(max_length=100_000, description="A mapping as JSON (see the CLI).")
    ] = None,
    on_duplicate: Annotated[Literal["skip", "update", "create"], Form()] = "skip",
    dry_run: Annotated[bool, Form()] = False,
    region: Annotated[str | None, Form(max_length=2)] = None,
    delimiter: Annotated[str | None, Form(max_length=1)] = None,
    batch_size: Annotated[int, Form(ge=1, le=service.MAX_BATCH)] = DEFAULT_BATCH,
) -> ImportRead:
    """Start an import; 202 with the import, which the worker then runs."""
    ctx.require(Permission.WRITE)  # before reading a large upload for nothing
    content = file.file.read(service.MAX_UPLOAD_BYTES + 1)
    request = service.ImportRequest(
        kind=kind,
        preset=preset or None,
        mapping=_mapping(mapping),
        on_duplicate=on_duplicate,
        region=region or None,
        delimiter=delimiter or None,
        batch_size=batch_size,
        dry_run=dry_run,
    )
    job = service.upload(ctx, content, request, filename=file.filename or "upload.csv")
    return ImportRead.of(job)


@router.get("", response_model=ImportPage)
def list_imports(
    ctx: CtxDep,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> ImportPage:
    """Newest first, without their reports (read one import for its report)."""
    page = service.list_imports(ctx, cursor=cursor, limit=limit)
    return ImportPage(
        items=[ImportRead.of(j, with_report=False) for j in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/{import_id}", response_model=ImportRead)
def get_import(import_id: int, ctx: CtxDep) -> ImportRead:
    return ImportRead.of(service.get_import(ctx, import_id))


@router.delete("/{import_id}", status_code=204)
def discard_import(import_id: int, ctx: CtxDep) -> Response:
    """Discard a draft that has not started, with its uploaded file and its dry runs (409 once
    it has started, or while a dry run of it runs). Drafts nobody starts go after a week."""
    drafts.discard(ctx, import_id)
    return Response(status_code=204)
