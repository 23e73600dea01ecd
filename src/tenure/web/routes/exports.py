"""/exports/…: CSV downloads of lists and timelines, vCards, the workspace archive.

The contact list's CSV takes the list page's own query string (``/exports/contacts.csv?``
+ the filters of ``/contacts``), so the "Export CSV" link exports what the page shows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import IO

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from tenure.db.repositories.contacts import CONTACT_SORTS, ContactFilter
from tenure.domain.errors import InvalidInput
from tenure.domain.health import band_range
from tenure.services import exports
from tenure.services.exports.files import chunks, spool_text
from tenure.web.deps import WebCtx

router = APIRouter()

CSV_TYPE = "text/csv; charset=utf-8"


def _int(value: str | None, field: str, maximum: int = 10**18) -> int | None:
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidInput.one(field, "integer", "not a number")
    if int(value) > maximum:
        raise InvalidInput.one(field, "range", f"at most {maximum}")
    return int(value)


def _csv(file: IO[bytes], filename: str) -> StreamingResponse:
    return StreamingResponse(
        chunks(file),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/exports/contacts.csv")
def contacts_csv(
    ctx: WebCtx,
    stage: str | None = None,
    tag: str | None = None,
    owner_id: str | None = None,
    health: str | None = None,
    touch: str | None = None,
    renewal: str | None = None,
    q: str | None = None,
    sort: str = "name",
) -> StreamingResponse:
    if q and "\x00" in q:
        raise InvalidInput.one("q", "text", "contains a NUL character")
    renewal_days = _int(renewal, "renewal", maximum=3660)
    filters = ContactFilter(
        stage=stage or None,
        tag=tag or None,
        owner_id=_int(owner_id, "owner_id"),
        q=q or None,
        health=band_range(health) if health else None,
        touch_due_before=ctx.today if touch == "overdue" else None,
        renewal_between=(ctx.today, ctx.today + timedelta(days=renewal_days))
        if renewal_days is not None
        else None,
    )
    # As the list page: an unknown sort is the default one, not an error.
    order = sort if sort in CONTACT_SORTS else "name"
    file = spool_text(lambda out: exports.contacts_csv(ctx, out, filters=filters, sort=order))
    return _csv(file, f"contacts-{ctx.today.isoformat()}.csv")


@router.get("/exports/contacts/{contact_id}/timeline.csv")
def timeline_csv(contact_id: int, ctx: WebCtx) -> StreamingResponse:
    file = spool_text(lambda out: exports.timeline_csv(ctx, out, contact_id=contact_id))
    return _csv(file, f"contact-{contact_id}-timeline.csv")
