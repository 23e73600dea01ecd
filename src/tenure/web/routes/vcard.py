"""vCard downloads from the web app: one contact, or the current contact list.

``/vcard/contacts/{id}.vcf`` and ``/vcard/contacts.vcf`` take the session's member and the
list page's own filter parameters, so the list links here with its query string unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from tenure.db.repositories.contacts import ContactFilter
from tenure.db.uow import unit_of_work
from tenure.domain.errors import InvalidInput
from tenure.domain.health import band_range
from tenure.services import vcard
from tenure.services.context import Ctx
from tenure.web.deps import WebCtx

router = APIRouter()

#: The list page's sorts (the others of the API are not offered there).
LIST_SORTS = frozenset(
    {
        "name",
        "-created",
        "last_touch",
        "-last_touch",
        "next_activity",
        "health",
        "-health",
        "client_since",
    }
)


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def _int(value: str | None, field: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput.one(field, "integer", "not a number") from None


@router.get("/vcard/contacts/{contact_id:int}.vcf")
def contact_vcf(contact_id: int, ctx: WebCtx, version: str = "3.0") -> Response:
    file = vcard.export_contact(ctx, contact_id, version=version)
    return Response(file.text, media_type=vcard.MEDIA_TYPE, headers=_attachment(file.filename))


@router.get("/vcard/contacts.vcf")
def contacts_vcf(
    request: Request,
    ctx: WebCtx,
    stage: str | None = None,
    tag: str | None = None,
    owner_id: str | None = None,
    health: str | None = None,
    touch: str | None = None,
    renewal: str | None = None,
    q: str | None = None,
    sort: str = "name",
    version: str = "3.0",
) -> Response:
    """The list as the page shows it (its filters, sort and search), every contact."""
    if health and health not in ("at_risk", "watch", "healthy"):
        raise InvalidInput.one("health", "choice", "must be at_risk, watch or healthy")
    renewal_days = _int(renewal, "renewal")
    if renewal_days is not None and not 0 <= renewal_days <= 3660:
        raise InvalidInput.one("renewal", "range", "between 0 and 3660 days")
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

    @contextmanager
    def open_ctx() -> Iterator[Ctx]:
        # Later pages are read after the request's transaction ended, each in its own.
        with unit_of_work(request.app.state.sessions, write=False) as session:
            yield replace(ctx, session=session, cache={})

    pages = vcard.export_stream(
        ctx,
        filters=filters,
        version=version,
        sort=sort if sort in LIST_SORTS else "name",
        open_ctx=open_ctx,
    )
    return StreamingResponse(
        (page.encode() for page in pages),
        media_type=vcard.MEDIA_TYPE,
        headers=_attachment(f"contacts-{ctx.today.isoformat()}.vcf"),
    )
