"""vCard 3.0 / 4.0 import and export of contacts.

``GET /contacts/{id}/vcard`` one contact, ``GET /contacts.vcf`` the filtered list (the filters
of ``GET /contacts``), ``POST /contacts/vcard`` an import. The list streams a keyset page at a
time: the first page is read in the request's transaction (so bad filters answer 422 before
anything is sent), each later page in a short read transaction of its own as the client reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from tenure.api.contact_filters import ContactFilterDep
from tenure.api.deps import CtxDep
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.contacts import ContactSort
from tenure.api.schemas.vcard import VCardImportRead, import_read
from tenure.db.uow import unit_of_work
from tenure.domain.access import Permission
from tenure.domain.errors import InvalidInput
from tenure.services import vcard
from tenure.services.context import Ctx

router = APIRouter(route_class=OneHopRoute, tags=["vcard"])

Version = Annotated[Literal["3.0", "4.0"], Query(description="vCard 3.0 (RFC 2426) or 4.0")]
#: The largest .vcf an upload may be (an address book of tens of thousands of cards).
MAX_VCF_BYTES = 20 * 1024 * 1024
VCARD_CONTENT: dict[str, Any] = {"text/vcard": {}}


def attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@router.get(
    "/contacts/{contact_id}/vcard",
    response_class=Response,
    responses={200: {"content": VCARD_CONTENT, "description": "The contact as a vCard"}},
)
def contact_vcard(contact_id: int, ctx: CtxDep, version: Version = "3.0") -> Response:
    """One contact as a vCard, with its organization and title."""
    file = vcard.export_contact(ctx, contact_id, version=version)
    return Response(file.text, media_type=vcard.MEDIA_TYPE, headers=attachment(file.filename))


def page_ctx(request: Request, ctx: Ctx) -> Callable[[], AbstractContextManager[Ctx]]:
    """A unit of work for each later page of a streamed list, acting as the same member."""

    @contextmanager
    def open_ctx() -> Iterator[Ctx]:
        with unit_of_work(request.app.state.sessions, write=False) as session:
            yield replace(ctx, session=session, cache={})

    return open_ctx


@router.get(
    "/contacts.vcf",
    response_class=StreamingResponse,
    responses={200: {"content": VCARD_CONTENT, "description": "The list as vCards"}},
)
def contacts_vcf(
    request: Request,
    ctx: CtxDep,
    filters: ContactFilterDep,
    version: Version = "3.0",
    sort: ContactSort = "name",
) -> StreamingResponse:
    """The contact list as one .vcf file: the filters and sort of ``GET /contacts``, every
    contact (a search with ``q`` is its one ranked page)."""
    pages = vcard.export_stream(
        ctx, filters=filters, version=version, sort=sort, open_ctx=page_ctx(request, ctx)
    )
    return StreamingResponse(
        (page.encode() for page in pages),
        media_type=vcard.MEDIA_TYPE,
        headers=attachment(f"contacts-{ctx.today.isoformat()}.vcf"),
    )


async def vcf_upload(request: Request, ctx: CtxDep) -> str:
    """The uploaded .vcf text (the raw body, or a form's ``file`` field); read only once the
    caller may import."""
    ctx.require(Permission.WRITE)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_part_size=MAX_VCF_BYTES)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput.one("file", "required", "send the .vcf file in the 'file' field")
        data = await upload.read(MAX_VCF_BYTES + 1)
    else:
        chunks: list[bytes] = []
        size = 0
        async for block in request.stream():
            size += len(block)
            if size > MAX_VCF_BYTES:
                break
            chunks.append(block)
        data = b"".join(chunks)
        if size > MAX_VCF_BYTES:
            raise InvalidInput.one("file", "max-size", f"at most {MAX_VCF_BYTES // 2**20} MB")
    if len(data) > MAX_VCF_BYTES:
        raise InvalidInput.one("file", "max-size", f"at most {MAX_VCF_BYTES // 2**20} MB")
    if not data.strip():
        raise InvalidInput.one("file", "required", "the file is empty")
    return vcard.decode_bytes(data)


@router.post(
    "/contacts/vcard",
    response_model=VCardImportRead,
    openapi_extra={
        "requestBody": {
            "content": {
                "text/vcard": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
            "required": True,
        }
    },
)
def import_vcards(
    ctx: CtxDep,
    text: Annotated[str, Depends(vcf_upload)],
    on_duplicate: Annotated[
        Literal["skip", "update", "create"],
        Query(description="What a card that matches a contact (UID, email, phone) does"),
    ] = "update",
    dry_run: Annotated[bool, Query(description="Report what would happen; write nothing")] = False,
) -> VCardImportRead:
    """Import the cards of a .vcf file (vCard 2.1, 3.0 or 4.0) as contacts. Each card is
    imported whole or not at all: bad cards are listed in ``problems`` (card number, vCard
    property, value, rule) and the others still import."""
    report = vcard.import_vcards(ctx, text, on_duplicate=on_duplicate, dry_run=dry_run)
    return import_read(report)
