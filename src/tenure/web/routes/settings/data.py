"""/settings/data: export the workspace, import files, backups."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from tenure.config import get_settings
from tenure.domain.access import Permission
from tenure.domain.exports import ARCHIVE_VERSION
from tenure.services import exports
from tenure.services.exports.backup import sqlite_path
from tenure.services.exports.files import chunks, spool_bytes
from tenure.services.exports.spec import EXCLUDED_TABLES, archived_tables
from tenure.web.deps import WebCtx
from tenure.web.routes.settings.common import page

router = APIRouter()


@router.get("/settings/data")
def data_page(request: Request, ctx: WebCtx) -> Response:
    ctx.require(Permission.READ)
    return page(
        request,
        "settings/data.html",
        tab="/settings/data",
        archived=[s.name for s in archived_tables()],
        excluded=EXCLUDED_TABLES,
        format_version=ARCHIVE_VERSION,
        sqlite=sqlite_path(get_settings().database_url) is not None,
    )


@router.get("/settings/data/archive.zip")
def archive(ctx: WebCtx) -> StreamingResponse:
    """The workspace archive (owners and admins; the service refuses the others)."""
    ctx.require(Permission.ADMIN)
    file = spool_bytes(lambda out: exports.write_archive(ctx, out))
    return StreamingResponse(
        chunks(file),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="tenure-{ctx.today.isoformat()}.zip"'
        },
    )
