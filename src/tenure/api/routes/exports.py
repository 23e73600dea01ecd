"""Exports: CSV of lists and timelines, the full workspace archive (download and import).

Paths sit beside the resources they export (``/contacts.csv``, ``/contacts/{id}/timeline.csv``)
without colliding with ``/contacts/{id}``. A CSV is written in the request's transaction
(keyset pages, a spooled file) and streamed after it; the archive likewise.
"""

from __future__ import annotations

from typing import IO, Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from tenure.api.contact_filters import ContactFilterDep
from tenure.api.deps import CtxDep
from tenure.api.list_filters import ActivityFilterDep, CaseFilterDep, DeliveryFilterDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.contacts import ContactSort
from tenure.domain.access import Permission
from tenure.domain.errors import InvalidInput
from tenure.services import exports
from tenure.services.exports.files import chunks, spool_bytes, spool_text, spooled

router = APIRouter(route_class=OneHopRoute, tags=["exports"])

CSV_TYPE = "text/csv; charset=utf-8"
ZIP_TYPE = "application/zip"
#: The largest archive an upload may be (a bigger one: `tenure import archive` on the server).
MAX_ARCHIVE_BYTES = 2 * 1024**3


def download(file: IO[bytes], media_type: str, filename: str) -> StreamingResponse:
    return StreamingResponse(
        chunks(file),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/contacts.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The list as CSV"}},
)
def contacts_csv(
    ctx: CtxDep,
    filters: ContactFilterDep,
    sort: ContactSort = "name",
) -> StreamingResponse:
    """The contact list as CSV: the filters and sort of ``GET /contacts``, every row (a search
    with ``q`` is its one ranked page). Cells that would run as formulas are neutralized."""
    file = spool_text(lambda out: exports.contacts_csv(ctx, out, filters=filters, sort=sort))
    return download(file, CSV_TYPE, f"contacts-{ctx.today.isoformat()}.csv")


@router.get("/activities.csv", response_class=StreamingResponse)
def activities_csv(ctx: CtxDep, filters: ActivityFilterDep) -> StreamingResponse:
    """The activity list as CSV (the filters of ``GET /activities``), every column."""
    file = spool_text(lambda out: exports.activities_csv(ctx, out, filters=filters))
    return download(file, CSV_TYPE, f"activities-{ctx.today.isoformat()}.csv")


@router.get("/cases.csv", response_class=StreamingResponse)
def cases_csv(ctx: CtxDep, filters: CaseFilterDep) -> StreamingResponse:
    """The case list as CSV (the filters of ``GET /cases``), every column."""
    file = spool_text(lambda out: exports.cases_csv(ctx, out, filters=filters))
    return download(file, CSV_TYPE, f"cases-{ctx.today.isoformat()}.csv")


@router.get("/deliveries.csv", response_class=StreamingResponse)
def deliveries_csv(ctx: CtxDep, filters: DeliveryFilterDep) -> StreamingResponse:
    """The delivery list as CSV (the filters of ``GET /deliveries``), every column."""
    file = spool_text(lambda out: exports.deliveries_csv(ctx, out, filters=filters))
    return download(file, CSV_TYPE, f"deliveries-{ctx.today.isoformat()}.csv")


@router.get(
    "/contacts/{contact_id}/timeline.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The timeline as CSV"}},
)
def timeline_csv(contact_id: int, ctx: CtxDep) -> StreamingResponse:
    """One contact's timeline as CSV, newest first."""
    file = spool_text(lambda out: exports.timeline_csv(ctx, out, contact_id=contact_id))
    return download(file, CSV_TYPE, f"contact-{contact_id}-timeline.csv")


@router.get(
    "/archive",
    response_class=StreamingResponse,
    responses={200: {"content": {ZIP_TYPE: {}}, "description": "The workspace archive"}},
)
def archive(ctx: CtxDep) -> StreamingResponse:
    """The whole workspace as a versioned archive (owners and admins): a zip of
    ``manifest.json`` and one JSON Lines file per table; no secrets."""
    ctx.require(Permission.ADMIN)
    file = spool_bytes(lambda out: exports.write_archive(ctx, out))
    return download(file, ZIP_TYPE, f"tenure-{ctx.today.isoformat()}.zip")


async def archive_upload(request: Request, ctx: CtxDep) -> IO[bytes]:
    """The uploaded archive (the raw body, or a form's ``file`` field), spooled; only read
    once the caller may import (nobody else can make the server store gigabytes)."""
    ctx.require(Permission.ADMIN)
    out = spooled()
    size = 0
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_part_size=MAX_ARCHIVE_BYTES)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput.one("file", "required", "send the archive in the 'file' field")
        while block := await upload.read(1024 * 1024):
            out.write(block)
    else:
        async for block in request.stream():
            size += len(block)
            if size > MAX_ARCHIVE_BYTES:
                raise InvalidInput.one("archive", "too-large", "the archive is too large")
            out.write(block)
    out.seek(0)
    return out


class ArchiveImported(BaseModel):
    counts: dict[str, int]
    users_created: int
    members_added: int
    roles_lowered: int


@router.post(
    "/archive",
    status_code=status.HTTP_201_CREATED,
    response_model=ArchiveImported,
    openapi_extra={
        "requestBody": {
            "content": {ZIP_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
def import_archive(
    ctx: CtxDep, upload: Annotated[IO[bytes], Depends(archive_upload)]
) -> ArchiveImported:
    """Fill this workspace from an archive (owners and admins). Only an empty workspace (no
    records) takes one: else 409. A wrong format or a damaged file is refused (422) and
    nothing is written."""
    with upload:
        report = exports.import_archive(ctx, upload)
    return ArchiveImported(
        counts=report.counts,
        users_created=report.users_created,
        members_added=report.members_added,
        roles_lowered=report.roles_lowered,
    )
