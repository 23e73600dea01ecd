"""/settings/email, /email/test, /email-templates, /contacts/{id}/emails, /emails/{id} and
/inbound/email"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.exceptions import HTTPException

from tenure.api.deps import CtxDep, ExpectedVersion, etag
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.email import (
    EmailPage,
    EmailRead,
    EmailSend,
    InboundMatch,
    InboundRead,
    RenderedRead,
    SmtpSettingsRead,
    SmtpSettingsUpdate,
    TemplateCreate,
    TemplatePage,
    TemplatePreviewRequest,
    TemplateRead,
    TemplateUpdate,
)
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.services import email as service

router = APIRouter(route_class=OneHopRoute, tags=["email"])

Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]

RAW_TYPES = frozenset({"message/rfc822", "text/plain", "application/octet-stream"})


def _email(view: service.EmailView) -> EmailRead:
    row = view.row
    return EmailRead(
        id=row.id,
        direction=row.direction,
        status=view.status,
        message_id=row.message_id,
        thread_id=row.thread_id,
        in_reply_to=row.in_reply_to,
        contact_id=row.contact_id,
        interaction_id=row.interaction_id,
        sender=row.sender,
        recipients=list(row.recipients),
        subject=row.subject,
        template_id=row.template_id,
        rule_id=row.rule_id,
        error=view.error,
        attempts=view.attempts,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


# --- settings --------------------------------------------------------------------------------


def _settings(settings: service.SmtpSettings | None) -> SmtpSettingsRead:
    if settings is None:
        return SmtpSettingsRead(configured=False)
    return SmtpSettingsRead(configured=True, **settings.public())


@router.get("/settings/email", response_model=SmtpSettingsRead, tags=["settings"])
def read_email_settings(ctx: CtxDep) -> SmtpSettingsRead:
    """The outgoing mail server (owners and admins). The password is never returned."""
    return _settings(service.get_smtp_settings(ctx))


@router.put("/settings/email", response_model=SmtpSettingsRead, tags=["settings"])
def replace_email_settings(body: SmtpSettingsUpdate, ctx: CtxDep) -> SmtpSettingsRead:
    """Set the outgoing mail server (owners and admins). Omit `password` to keep it.
    Nothing is sent: use `POST /email/test` to check the settings."""
    return _settings(service.set_smtp_settings(ctx, **body.model_dump()))


@router.post("/email/test", response_model=EmailRead, status_code=202)
def send_test_email(ctx: CtxDep, response: Response) -> EmailRead:
    """Queue a test message to yourself with the current settings (owners and admins);
    follow it at `GET /emails/{id}`."""
    row = service.send_test(ctx)
    response.headers["Location"] = f"/api/v1/emails/{row.id}"
    return _email(service.get_email(ctx, row.id))


# --- templates -------------------------------------------------------------------------------


def _template(row: object, response: Response) -> TemplateRead:
    read = TemplateRead.model_validate(row)
    response.headers["ETag"] = etag(read.version)
    return read


@router.post("/email-templates", response_model=TemplateRead, status_code=201)
def create_template(body: TemplateCreate, ctx: CtxDep, response: Response) -> TemplateRead:
    """Save a template. Each field is a sandboxed Jinja2 template over `contact`, `brief` and
    `trigger`; it is rendered over a sample at once, so errors are a 422 naming the field."""
    row = service.create_template(ctx, **body.model_dump())
    response.headers["Location"] = f"/api/v1/email-templates/{row.id}"
    return _template(row, response)


@router.get("/email-templates", response_model=TemplatePage)
def list_templates(ctx: CtxDep, cursor: Cursor = None, limit: Limit = 50) -> TemplatePage:
    page = service.list_templates(ctx, cursor=cursor, limit=limit)
    return TemplatePage(
        items=[TemplateRead.model_validate(t) for t in page.items], next_cursor=page.next_cursor
    )


@router.get("/email-templates/{template_id}", response_model=TemplateRead)
def get_template(template_id: int, ctx: CtxDep, response: Response) -> TemplateRead:
    return _template(service.get_template(ctx, template_id), response)


@router.patch("/email-templates/{template_id}", response_model=TemplateRead)
def update_template(
    template_id: int,
    body: TemplateUpdate,
    ctx: CtxDep,
    version: ExpectedVersion,
    response: Response,
) -> TemplateRead:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    changes = {k: v for k, v in changes.items() if v is not None}
    row = service.update_template(ctx, template_id, expected_version=version, changes=changes)
    return _template(row, response)


@router.delete("/email-templates/{template_id}", status_code=204)
def delete_template(template_id: int, ctx: CtxDep, version: ExpectedVersion) -> Response:
    service.delete_template(ctx, template_id, expected_version=version)
    return Response(status_code=204)


@router.post("/email-templates/{template_id}/preview", response_model=RenderedRead)
def preview_template(template_id: int, body: TemplatePreviewRequest, ctx: CtxDep) -> RenderedRead:
    """Render the template for a contact now; nothing is sent or changed."""
    rendered = service.preview(ctx, template_id, contact_id=body.contact_id, trigger=body.trigger)
    return RenderedRead(subject=rendered.subject, text=rendered.text, html=rendered.html)


# --- sending and the log ---------------------------------------------------------------------


@router.post("/contacts/{contact_id}/emails", response_model=EmailRead, status_code=202)
def send_email(contact_id: int, body: EmailSend, ctx: CtxDep, response: Response) -> EmailRead:
    """Email the contact (a message, or a template rendered for them). It is queued and sent
    after this request; it appears on the timeline once the server accepted it. A contact
    marked do-not-email, or without an address, is a 409 that says why."""
    row = service.send_to_contact(
        ctx,
        contact_id=contact_id,
        subject=body.subject,
        text=body.text,
        html=body.html,
        template_id=body.template_id,
        trigger=body.trigger,
    )
    response.headers["Location"] = f"/api/v1/emails/{row.id}"
    return _email(service.get_email(ctx, row.id))


@router.get("/contacts/{contact_id}/emails", response_model=EmailPage)
def contact_emails(
    contact_id: int, ctx: CtxDep, cursor: Cursor = None, limit: Limit = 50
) -> EmailPage:
    """The contact's email log, newest first: queued, sent, failed and received messages."""
    page = service.list_contact_emails(ctx, contact_id, cursor=cursor, limit=limit)
    return EmailPage(items=[_email(v) for v in page.items], next_cursor=page.next_cursor)


@router.get("/emails/{email_id}", response_model=EmailRead)
def get_email(email_id: int, ctx: CtxDep) -> EmailRead:
    return _email(service.get_email(ctx, email_id))


# --- inbound ---------------------------------------------------------------------------------


async def _raw_message(request: Request) -> bytes:
    """The request body as bytes, refused past the size limit before it is all read."""
    kind = request.headers.get("content-type", "application/octet-stream")
    if kind.split(";")[0].strip().lower() not in RAW_TYPES:
        raise HTTPException(
            415, "send the raw message as message/rfc822, text/plain or application/octet-stream"
        )
    limit = service.MAX_MESSAGE_BYTES
    too_large = HTTPException(413, f"an inbound message may be at most {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


RAW_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One raw RFC 5322 message, as a mail server's pipe delivers it.",
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}} for kind in sorted(RAW_TYPES)
        },
    }
}


@router.post(
    "/inbound/email",
    response_model=InboundRead,
    status_code=201,
    openapi_extra=RAW_BODY,
    responses={
        200: {"description": "A duplicate (this Message-ID was logged before): nothing written"},
        202: {"description": "No contact matched: nothing written"},
    },
)
def inbound_email(
    raw: Annotated[bytes, Depends(_raw_message)], ctx: CtxDep, response: Response
) -> InboundRead:
    """Log a received email on every contact it is from or to (201), matched by address;
    threads follow References/In-Reply-To. A Message-ID seen before is a duplicate (200), a
    message that matches no contact is not kept (202)."""
    result = service.receive(ctx, raw)
    if result.duplicate:
        response.status_code = 200
    elif not result.matched:
        response.status_code = 202
    return InboundRead(
        message_id=result.message_id,
        thread_id=result.thread_id,
        duplicate=result.duplicate,
        matched=[
            InboundMatch(
                contact_id=m.contact_id, interaction_id=m.interaction_id, direction=m.direction
            )
            for m in result.matched
        ],
        email_id=result.email_id,
    )
