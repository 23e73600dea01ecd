"""Email schemas: mail server settings, templates, the email log, inbound results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from tenure.api.schemas.common import Input, Output
from tenure.services.email import Security


class SmtpSettingsUpdate(Input):
    # A password is taken exactly as given (the service trims the other fields itself).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    host: str = Field(min_length=1, max_length=253)
    port: int | None = Field(
        default=None, ge=1, le=65535, description="Default: 25, 587 (starttls) or 465 (ssl)."
    )
    security: Security = Security.STARTTLS
    username: str = Field(default="", max_length=320)
    password: str | None = Field(
        default=None,
        max_length=1000,
        description='Omit (or null) to keep the stored password; "" clears it.',
    )
    from_address: str = Field(min_length=3, max_length=320)
    from_name: str = Field(default="", max_length=200)


class SmtpSettingsRead(Output):
    configured: bool
    host: str | None = None
    port: int | None = None
    security: Security | None = None
    username: str | None = None
    password_set: bool = False
    from_address: str | None = None
    from_name: str | None = None


class TemplateCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    subject: str = Field(min_length=1, max_length=500, description="A Jinja2 template.")
    text_body: str = Field(default="", max_length=200_000, description="A Jinja2 template.")
    html_body: str = Field(
        default="", max_length=200_000, description="A Jinja2 template, autoescaped."
    )


class TemplateUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    subject: str | None = Field(default=None, min_length=1, max_length=500)
    text_body: str | None = Field(default=None, max_length=200_000)
    html_body: str | None = Field(default=None, max_length=200_000)


class TemplateRead(Output):
    id: int
    name: str
    subject: str
    text_body: str
    html_body: str
    created_at: datetime
    updated_at: datetime
    version: int


class TemplatePage(Output):
    items: list[TemplateRead]
    next_cursor: str | None


class TemplatePreviewRequest(Input):
    contact_id: int
    trigger: dict[str, Any] = Field(default_factory=dict)


class RenderedRead(Output):
    subject: str
    text: str
    html: str


class EmailSend(Input):
    """Either a message (subject and text and/or html) or a template (with its trigger)."""

    subject: str = Field(default="", max_length=500)
    text: str = Field(default="", max_length=1_000_000)
    html: str = Field(default="", max_length=1_000_000)
    template_id: int | None = None
    trigger: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> EmailSend:
        if self.template_id is not None and (self.subject or self.text or self.html):
            raise ValueError("send either a template_id or subject/text/html, not both")
        if self.template_id is None and not self.subject:
            raise ValueError("a subject is required (or a template_id)")
        return self


class EmailRead(Output):
    id: int
    direction: str
    status: str = Field(description="queued, sent, failed (its job is dead) or received")
    message_id: str
    thread_id: str
    in_reply_to: str | None
    contact_id: int | None
    interaction_id: int | None
    sender: str
    recipients: list[str]
    subject: str
    template_id: int | None
    rule_id: int | None
    error: str
    attempts: int | None = Field(description="Delivery attempts so far (outbound).")
    created_at: datetime
    sent_at: datetime | None


class EmailPage(Output):
    items: list[EmailRead]
    next_cursor: str | None


class InboundMatch(Output):
    contact_id: int
    interaction_id: int
    direction: str


class InboundRead(Output):
    message_id: str
    thread_id: str | None
    duplicate: bool
    matched: list[InboundMatch]
    email_id: int | None
