"""/exports/…: CSV downloads of lists and timelines, vCards, the workspace archive.

The contact list's CSV takes the list page's own query string (``/exports/contacts.csv?``
+ the filters of ``/contacts``), so the "Export CSV" link exports what the page shows.
"""

from __future__ import annotations

from typing import IO, Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from tenure.services import exports
from tenure.services.exports.files import chunks, spool_text
from tenure.web.contact_list import ContactListQuery, contact_list_query
from tenure.web.deps import WebCtx

router = APIRouter()

CSV_TYPE = "text/csv; charset=utf-8"


def _csv(file: IO[bytes], filename: str) -> StreamingResponse:
    return StreamingResponse(
        chunks(file),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/exports/contacts.csv")
def contacts_csv(
    ctx: WebCtx, query: Annotated[ContactListQuery, Depends(contact_list_query)]
) -> StreamingResponse:
    """The list as the page shows it (its filters, sort and search), every contact."""
    file = spool_text(
        lambda out: exports.contacts_csv(ctx, out, filters=query.filters, sort=query.sort)
    )
    return _csv(file, f"contacts-{ctx.today.isoformat()}.csv")


@router.get("/exports/contacts/{contact_id}/timeline.csv")
def timeline_csv(contact_id: int, ctx: WebCtx) -> StreamingResponse:
    file = spool_text(lambda out: exports.timeline_csv(ctx, out, contact_id=contact_id))
    return _csv(file, f"contact-{contact_id}-timeline.csv")
