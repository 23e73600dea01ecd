"""Sending email: queue a message in the caller's transaction, deliver it from a job.

``send`` and ``send_template`` write an ``EmailMessage`` row (status ``queued``, its
Message-ID fixed now) and enqueue the ``email.send`` job with key ``email:<row id>`` in the
same transaction, so a rolled-back change sends nothing. The job (``prepare_delivery`` then
the SMTP transfer in ``tenure.worker.handlers.email``) marks the row sent and logs the outbound
interaction with the same Message-ID, in the job's transaction.

Delivery guarantee, honestly: at-least-once. Every database write of a delivery happens
*before* the SMTP transfer, so the only window left is between the server accepting the
message and the job's commit (one fenced UPDATE and the COMMIT). A worker that dies in that
window leaves the job to be claimed again after its lease, and the message is sent a second
time with the **same Message-ID**: a duplicate that mail clients and the inbound route
recognize, never two different messages. The timeline still shows it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime, formataddr, make_msgid
from enum import StrEnum
from typing import Any

from tenure.db.models import Contact, EmailMessage
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.email import (
    SEND_KEY_PREFIX,
    EmailMessageRepository,
    EmailTemplateRepository,
    user_email,
)
from tenure.db.repositories.pagination import Page, check_limit, decode_cursor, encode_cursor
from tenure.domain.access import Permission
from tenure.domain.errors import Conflict, FieldError, InvalidInput
from tenure.services import interactions, jobs
from tenure.services.context import Ctx
from tenure.services.email.settings import SmtpSettings, read_smtp
from tenure.services.email.templates import context_for, render_template
from tenure.services.email.text import html_to_text, one_line, storable

SEND_KIND = "email.send"
MAX_BODY = 1_000_000
MAX_SUBJECT = 500
#: Where ``send``/``send_template`` leave the reasons they did not send, for the caller.
SKIPS_KEY = "email.skipped"


class SkipReason(StrEnum):
    DO_NOT_EMAIL = "do_not_email"
    NO_EMAIL_ADDRESS = "no_email_address"
    NOT_CONFIGURED = "email_not_configured"


SKIP_MESSAGES = {
    SkipReason.DO_NOT_EMAIL: "the contact is marked do-not-email",
    SkipReason.NO_EMAIL_ADDRESS: "the contact has no email address",
    SkipReason.NOT_CONFIGURED: "email is not set up for this workspace (settings/email)",
}


@dataclass(frozen=True)
class Skipped:
    """The trace of an email not sent: the caller (a rule run) records it."""

    contact_id: int
    reason: SkipReason
    rule_id: int | None = None

    @property
    def message(self) -> str:
        return SKIP_MESSAGES[self.reason]


def skipped(ctx: Ctx) -> list[Skipped]:
    """Emails this unit of work decided not to send, in order (see ``send``)."""
    found = ctx.cache.get(SKIPS_KEY)
    return list(found) if isinstance(found, list) else []


def _skip(ctx: Ctx, contact_id: int, reason: SkipReason, rule_id: int | None) -> None:
    ctx.cache[SKIPS_KEY] = [*skipped(ctx), Skipped(contact_id, reason, rule_id)]


# --- queueing --------------------------------------------------------------------------------


def send(
    ctx: Ctx,
    *,
    contact_id: int,
    subject: str,
    text: str,
    html: str = "",
    rule_id: int | None = None,
) -> int | None:
    """Queue an email to a contact; the new ``EmailMessage`` id, or None when it must not or
    cannot be sent (do-not-email, no address, email not set up): then ``skipped(ctx)`` says
    why. Sent after commit by the ``email.send`` job."""
    ctx.require(Permission.WRITE)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    _check_content(subject, text, html)
    return _queue_to_contact(
        ctx, contact, subject=subject, text=text, html=html, template_id=None, rule_id=rule_id
    )


def send_template(
    ctx: Ctx,
    *,
    contact_id: int,
    template_id: int,
    trigger: dict[str, Any],
    rule_id: int | None,
) -> int | None:
    """Render a template over the contact, their brief and the trigger, and queue it (as
    ``send``). A template that fails to render raises ``InvalidInput`` naming the field."""
    ctx.require(Permission.WRITE)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    template = EmailTemplateRepository(ctx.session, ctx.workspace_id).get(template_id)
    if _skip_reason(ctx, contact) is not None:  # no render (and no brief) for nothing
        return _queue_to_contact(
            ctx, contact, subject="", text="", html="", template_id=template.id, rule_id=rule_id
        )
    rendered = render_template(template, context_for(ctx, contact, trigger))
    return _queue_to_contact(
        ctx,
        contact,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        template_id=template.id,
        rule_id=rule_id,
    )


def send_to_contact(
    ctx: Ctx,
    *,
    contact_id: int,
    subject: str = "",
    text: str = "",
    html: str = "",
    template_id: int | None = None,
    trigger: dict[str, Any] | None = None,
) -> EmailMessage:
    """A one-off email by a member: as ``send``/``send_template``, but a message that cannot
    be sent is a ``Conflict`` that says why (the member is right there to read it)."""
    if template_id is not None:
        row_id = send_template(
            ctx, contact_id=contact_id, template_id=template_id, trigger=trigger or {}, rule_id=None
        )
    else:
        row_id = send(ctx, contact_id=contact_id, subject=subject, text=text, html=html)
    if row_id is None:
        reason = skipped(ctx)[-1]
        raise Conflict(f"not sent: {reason.message}", reason=reason.reason.value)
    return EmailMessageRepository(ctx.session, ctx.workspace_id).get(row_id)


def send_test(ctx: Ctx) -> EmailMessage:
    """Queue a test message from the workspace's settings to the member asking."""
    ctx.require(Permission.ADMIN)
    settings = read_smtp(ctx)
    if settings is None:
        raise Conflict(SKIP_MESSAGES[SkipReason.NOT_CONFIGURED], reason="email_not_configured")
    repo = EmailMessageRepository(ctx.session, ctx.workspace_id)
    to = user_email(repo, ctx.user_id)
    if to is None:
        raise InvalidInput.one("to", "required", "a test email goes to the member who asks")
    text = (
        "This is a test message from Tenure.\n\n"
        f"Server: {settings.host}:{settings.port} ({settings.security.value})\n"
        f"From: {settings.from_address}\n"
    )
    row = _queue(
        ctx,
        settings,
        contact=None,
        to=to,
        to_name="",
        subject="Tenure test email",
        text=text,
        html="",
        template_id=None,
        rule_id=None,
    )
    return row


def _check_content(subject: str, text: str, html: str) -> None:
    errors: list[FieldError] = []
    if len(subject) > MAX_SUBJECT:
        errors.append(FieldError("subject", "max-length", f"at most {MAX_SUBJECT} characters"))
    if not text.strip() and not html.strip():
        errors.append(FieldError("text", "required", "give a text body, an HTML one, or both"))
    for name, value in (("subject", subject), ("text", text), ("html", html)):
        if len(value) > MAX_BODY:
            errors.append(FieldError(name, "max-length", f"at most {MAX_BODY} characters"))
        if "\0" in value:
            errors.append(FieldError(name, "no-nul", "must not contain NUL"))
    if errors:
        raise InvalidInput(errors)


def recipient_of(contact: Contact) -> str | None:
    """The address an email to the contact goes to: the primary one, else the first."""
    emails = [str(e["email"]) for e in contact.emails if e.get("email")]
    primary = [str(e["email"]) for e in contact.emails if e.get("primary") and e.get("email")]
    found = primary or emails
    return found[0] if found else None


def _skip_reason(ctx: Ctx, contact: Contact) -> SkipReason | None:
    if contact.do_not_email:
        return SkipReason.DO_NOT_EMAIL
    if recipient_of(contact) is None:
        return SkipReason.NO_EMAIL_ADDRESS
    if read_smtp(ctx) is None:
        return SkipReason.NOT_CONFIGURED
    return None


def _queue_to_contact(
    ctx: Ctx,
    contact: Contact,
    *,
    subject: str,
    text: str,
    html: str,
    template_id: int | None,
    rule_id: int | None,
) -> int | None:
    reason = _skip_reason(ctx, contact)
    settings = read_smtp(ctx)
    to = recipient_of(contact)
    if reason is not None or settings is None or to is None:
        _skip(ctx, contact.id, reason or SkipReason.NOT_CONFIGURED, rule_id)
        return None
    row = _queue(
        ctx,
        settings,
        contact=contact,
        to=to,
        to_name=contact.display_name,
        subject=subject,
        text=text,
        html=html,
        template_id=template_id,
        rule_id=rule_id,
    )
    return row.id


def _queue(
    ctx: Ctx,
    settings: SmtpSettings,
    *,
    contact: Contact | None,
    to: str,
    to_name: str,
    subject: str,
    text: str,
    html: str,
    template_id: int | None,
    rule_id: int | None,
) -> EmailMessage:
    subject = one_line(subject, MAX_SUBJECT)
    text = storable(text) if text.strip() else html_to_text(html)
    message_id = make_msgid(domain=settings.from_domain)
    row = EmailMessage(
        direction="outbound",
        message_id=message_id,
        in_reply_to=None,
        thread_id=message_id,
        contact_id=contact.id if contact else None,
        sender=settings.from_address,
        recipients=[to],
        subject=subject,
        status="queued",
        template_id=template_id,
        rule_id=rule_id,
        error="",
        created_at=ctx.now,
    )
    EmailMessageRepository(ctx.session, ctx.workspace_id).add(row)
    ctx.session.flush()
    payload: dict[str, Any] = {
        "email_message_id": row.id,
        "to": to,
        "to_name": to_name,
        "subject": subject,
        "text": text,
        "html": storable(html),
        "author_id": ctx.user_id,
        # The interaction this email logs carries the rule that caused it, so that a rule on
        # interaction.logged is not retriggered by its own email (loop protection).
        "automation": ctx.automation,
    }
    jobs.enqueue(ctx, SEND_KIND, payload, key=f"{SEND_KEY_PREFIX}{row.id}")
    return row


# --- delivering (the worker) -----------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A message ready for the SMTP transfer, its database effects already written."""

    settings: SmtpSettings
    message: MimeMessage = field(repr=False)
    sender: str
    recipients: list[str]


class NotConfigured(RuntimeError):
    """Email settings were removed after the message was queued: retry, then dead."""


def prepare_delivery(ctx: Ctx, payload: dict[str, Any]) -> Outgoing | None:
    """Run by the ``email.send`` job before the SMTP transfer: mark the row sent and log the
    outbound interaction (all in the job's transaction, so the transfer is the last step and
    a failed transfer rolls everything back). None when there is nothing to send."""
    repo = EmailMessageRepository(ctx.session, ctx.workspace_id)
    row = repo.find(int(payload["email_message_id"]), for_update=True)
    if row is None or row.status != "queued":  # erased, or already sent by an earlier run
        return None
    settings = read_smtp(ctx)
    if settings is None:
        raise NotConfigured(SKIP_MESSAGES[SkipReason.NOT_CONFIGURED])
    contact = None
    if row.contact_id is not None:
        contact = ContactRepository(ctx.session, ctx.workspace_id).find(row.contact_id)
        # Marked do-not-email (or erased) after queueing: checked again at the last moment.
        if contact is None or contact.do_not_email:
            row.status = "failed"
            row.error = "not sent: " + (
                SKIP_MESSAGES[SkipReason.DO_NOT_EMAIL] if contact else "the contact was deleted"
            )
            return None
    automation = payload.get("automation")
    ctx.automation = automation if isinstance(automation, dict) else None
    author = payload.get("author_id")
    if isinstance(author, int) and user_email(repo, author) is not None:
        ctx.user_id = author
    to = str(payload["to"])
    message = _mime(
        settings,
        message_id=row.message_id,
        to=to,
        to_name=str(payload.get("to_name") or ""),
        subject=str(payload.get("subject") or ""),
        text=str(payload.get("text") or ""),
        html=str(payload.get("html") or ""),
        date=format_datetime(ctx.now),
        automated=row.rule_id is not None or ctx.automation is not None,
    )
    row.status = "sent"
    row.sent_at = ctx.now
    row.sender = settings.from_address
    row.error = ""
    if contact is not None:
        interaction = interactions.log_interaction(
            ctx,
            contact.id,
            channel=interactions.Channel.EMAIL,
            direction=interactions.Direction.OUTBOUND,
            occurred_at=ctx.now,
            subject=row.subject,
            body=str(payload.get("text") or "")[:MAX_BODY],
            participants=[formataddr((str(payload.get("to_name") or ""), to))],
        )
        interaction.message_id = row.message_id
        interaction.thread_id = row.thread_id
        row.interaction_id = interaction.id
    ctx.session.flush()
    return Outgoing(settings, message, settings.from_address, [to])


def _mime(
    settings: SmtpSettings,
    *,
    message_id: str,
    to: str,
    to_name: str,
    subject: str,
    text: str,
    html: str,
    date: str,
    automated: bool,
) -> MimeMessage:
    message = MimeMessage()
    message["From"] = formataddr((one_line(settings.from_name, 200), settings.from_address))
    message["To"] = formataddr((one_line(to_name, 200), to))
    message["Subject"] = one_line(subject, MAX_SUBJECT)
    message["Date"] = date
    message["Message-ID"] = message_id
    if automated:  # RFC 3834: auto-responders must not answer automation
        message["Auto-Submitted"] = "auto-generated"
    message.set_content(text or " ")
    if html.strip():
        message.add_alternative(html, subtype="html")
    return message


# --- reading the log -------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailView:
    """A log row with its delivery state: ``failed`` once its send job is dead."""

    row: EmailMessage
    status: str
    error: str
    attempts: int | None


def _views(ctx: Ctx, rows: list[EmailMessage]) -> list[EmailView]:
    repo = EmailMessageRepository(ctx.session, ctx.workspace_id)
    queued = [r.id for r in rows if r.status == "queued"]
    send_jobs = repo.send_jobs(queued)
    views: list[EmailView] = []
    for row in rows:
        job = send_jobs.get(row.id)
        status, error = row.status, row.error
        if job is not None and job.status == "dead":
            status, error = "failed", job.last_error
        elif job is not None and job.last_error:
            error = f"retrying: {job.last_error}"
        views.append(EmailView(row, status, error, job.attempts if job else None))
    return views


def list_contact_emails(
    ctx: Ctx, contact_id: int, *, cursor: str | None = None, limit: int = 50
) -> Page:
    """A contact's emails, newest first: queued, sent, failed and received."""
    ctx.require(Permission.READ)
    ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    check_limit(limit)
    after = decode_cursor(cursor, arity=2, types=(int, int)) if cursor else None
    repo = EmailMessageRepository(ctx.session, ctx.workspace_id)
    rows = list(repo.page_of_contact(contact_id, after=after, limit=limit))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].id, rows[-1].id])
    return Page(_views(ctx, rows), next_cursor)


def get_email(ctx: Ctx, email_id: int) -> EmailView:
    ctx.require(Permission.READ)
    row = EmailMessageRepository(ctx.session, ctx.workspace_id).get(email_id)
    return _views(ctx, [row])[0]
