"""vCard downloads from the web app: one contact, or the current contact list.

``/vcard/contacts/{id}.vcf`` and ``/vcard/contacts.vcf`` take the session's member and the
list page's own filter parameters, so the list links here with its query string unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from tenure.db.uow import unit_of_work
from tenure.services import vcard
from tenure.services.context import Ctx
from tenure.web.contact_list import ContactListQuery, contact_list_query
from tenure.web.deps import WebCtx

router = APIRouter()


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@router.get("/vcard/contacts/{contact_id:int}.vcf")
def contact_vcf(contact_id: int, ctx: WebCtx, version: str = "3.0") -> Response:
    file = vcard.export_contact(ctx, contact_id, version=version)
    return Response(file.text, media_type=vcard.MEDIA_TYPE, headers=_attachment(file.filename))


@router.get("/vcard/contacts.vcf")
def contacts_vcf(
    request: Request,
    ctx: WebCtx,
    query: Annotated[ContactListQuery, Depends(contact_list_query)],
    version: str = "3.0",
) -> Response:
    """The list as the page shows it (its filters, sort and search), every contact."""

    @contextmanager
    def open_ctx() -> Iterator[Ctx]:
        # Later pages are read after the request's transaction ended, each in its own.
        with unit_of_work(request.app.state.sessions, write=False) as session:
            yield replace(ctx, session=session, cache={})

    pages = vcard.export_stream(
        ctx,
        filters=query.filters,
        version=version,
        sort=query.sort,
        open_ctx=open_ctx,
    )
    return StreamingResponse(
        (page.encode() for page in pages),
        media_type=vcard.MEDIA_TYPE,
        headers=_attachment(f"contacts-{ctx.today.isoformat()}.vcf"),
    )
