"""Inbound email: a raw RFC 5322 message becomes interactions on the matched contacts.

A mail server's pipe or a forwarding service posts each message to ``/inbound/email``
(``receive``); ``tenure email import`` feeds files through ``import_messages``. Decisions:

* Matching: the sender and every To/Cc address are looked up in the workspace's contact
  emails. Each matched contact gets one email interaction with the message's Message-ID and
  thread, the sender first.
* Direction: inbound, unless the sender is the business itself (a member's address or the
  workspace's from-address), as when a member BCCs their reply to the inbound address; then
  the copy is logged as the outbound email it was.
* Duplicates: the Message-ID is claimed once per workspace (``INSERT … ON CONFLICT DO
  NOTHING`` on the email log), so a redelivery, a re-import, or a copy of an email Tenure sent
  itself is reported as a duplicate and writes nothing. A message without a Message-ID gets a
  stable one from a hash of its bytes.
* Unmatched: nothing is written (no stranger's mail is kept); posting it again after the
  contact exists imports it.
* Threads: the first Message-ID of References (the root), else In-Reply-To, else the message
  itself; an id already known maps to its recorded thread, so a reply that arrives before
  its parent still lands in the parent's thread.
* Time: the Date header, clamped to now (a sender's clock in the future) and to now when
  missing or unreadable.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from tenure.db.repositories.email import EmailMessageRepository
from tenure.domain.access import Permission
from tenure.domain.contacts import normalize_email
from tenure.domain.errors import DomainError, InvalidInput
from tenure.services import interactions
from tenure.services.context import Ctx
from tenure.services.email.settings import read_smtp
from tenure.services.email.text import html_to_text, one_line, storable

#: Larger messages are refused (413 over HTTP): the usual ceiling of mail servers.
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAX_BODY = 1_000_000
MAX_ADDRESSES = 200
MAX_ID = 300
_ID = re.compile(r"<([^<>\s]+)>")
_ADDRESS = re.compile(r"[^\s<>\"(),;:@]+@[^\s<>\"'(),;:@]+")
_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Mailbox:
    name: str
    address: str

    def display(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    sender: Mailbox
    recipients: tuple[Mailbox, ...]
    subject: str
    text: str
    date: datetime | None


@dataclass(frozen=True)
class Matched:
    contact_id: int
    interaction_id: int
    direction: str


@dataclass(frozen=True)
class InboundResult:
    message_id: str
    thread_id: str | None
    duplicate: bool
    matched: list[Matched] = field(default_factory=list)
    email_id: int | None = None


# --- parsing ---------------------------------------------------------------------------------


def clean_id(value: str | None) -> str | None:
    """One Message-ID as ``<…>``; ids longer than the column are replaced by a stable hash."""
    if not value:
        return None
    found = _ID.search(value)
    token = found.group(1) if found else "".join(value.split()).strip("<>")
    token = storable(token)
    if not token:
        return None
    if len(token) + 2 > MAX_ID:
        token = hashlib.sha256(token.encode()).hexdigest() + "@hashed.tenure.invalid"
    return f"<{token}>"


def _ids(value: str | None) -> tuple[str, ...]:
    out: list[str] = []
    for token in _ID.findall(value or ""):
        cleaned = clean_id(f"<{token}>")
        if cleaned and cleaned not in out:
            out.append(cleaned)
    return tuple(out)


def _header(message: MimeMessage, name: str) -> str | None:
    """A header's decoded value (RFC 2047 words decoded); its raw text when it is malformed."""
    try:
        value = message[name]
    except Exception:
        value = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
    return None if value is None else storable(str(value))


def _mailboxes(message: MimeMessage, *names: str) -> list[Mailbox]:
    found: list[Mailbox] = []
    for name in names:
        try:
            headers = message.get_all(name) or []
            addresses: list[tuple[str, str]] = []
            for header in headers:
                for addr in getattr(header, "addresses", ()):
                    assert isinstance(addr, Address)
                    addresses.append((addr.display_name, addr.addr_spec))
        except Exception:  # a header the strict parser rejects: take what the lenient one reads
            raw = [v for k, v in message.raw_items() if k.lower() == name.lower()]
            addresses = getaddresses([str(v) for v in raw])
        for display, spec in addresses:
            # A mangled header ('"unterminated <ann@x.example') still names its address.
            plausible = _ADDRESS.search(storable(spec))
            if plausible and len(plausible.group(0)) <= 320:
                found.append(Mailbox(one_line(display, 200), plausible.group(0)))
    return found[:MAX_ADDRESSES]


def _body(message: MimeMessage) -> str:
    """The text/plain body, else the HTML one as text, else nothing."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    content = storable(content)
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return content.replace("\r\n", "\n").strip()[:MAX_BODY]


def _date(message: MimeMessage) -> datetime | None:
    raw = _header(message, "date")
    if not raw:
        return None
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": the zone is unknown; UTC is the convention
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def parse_message(raw: bytes) -> ParsedEmail:
    """Read one RFC 5322 message; ``InvalidInput`` when it is not one we can log."""
    if not raw.strip():
        raise InvalidInput.one("message", "required", "the message is empty")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise InvalidInput.one(
            "message", "max-size", f"larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MiB"
        )
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; this is a last resort
        raise InvalidInput.one("message", "rfc5322", f"not an email message: {exc}") from None
    assert isinstance(message, MimeMessage)
    if not message.keys():
        raise InvalidInput.one("message", "rfc5322", "not an email message: no header fields")
    senders = _mailboxes(message, "from")
    if not senders:
        raise InvalidInput.one("from", "required", "the message has no From address")
    message_id = clean_id(_header(message, "message-id"))
    if message_id is None:  # stable across re-deliveries of the same bytes
        message_id = f"<{hashlib.sha256(raw).hexdigest()[:40]}@generated.tenure.invalid>"
    in_reply_to = _ids(_header(message, "in-reply-to"))
    return ParsedEmail(
        message_id=message_id,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=_ids(_header(message, "references")),
        sender=senders[0],
        recipients=tuple(_mailboxes(message, "to", "cc")),
        subject=one_line(_header(message, "subject") or "", 500),
        text=_body(message),
        date=_date(message),
    )


# --- logging ---------------------------------------------------------------------------------


def _lookup_keys(address: str) -> list[str]:
    keys = [address.lower()]
    normalized, _ = normalize_email(address, "email")
    if normalized and normalized not in keys:
        keys.append(normalized)
    return keys


def receive(ctx: Ctx, raw: bytes) -> InboundResult:
    """Log one raw message on the contacts it concerns (see the module's decisions)."""
    ctx.require(Permission.WRITE)
    return log_parsed(ctx, parse_message(raw))


def log_parsed(ctx: Ctx, parsed: ParsedEmail) -> InboundResult:
    ctx.require(Permission.WRITE)
    repo = EmailMessageRepository(ctx.session, ctx.workspace_id)
    if repo.by_message_id(parsed.message_id) is not None:
        return InboundResult(parsed.message_id, None, duplicate=True)
    people = [parsed.sender, *parsed.recipients]
    keys = {p.address: _lookup_keys(p.address) for p in people}
    owners = repo.contacts_by_email([k for ks in keys.values() for k in ks])
    contact_ids: list[int] = []
    for person in people:
        owner = next((owners[k] for k in keys[person.address] if k in owners), None)
        if owner is not None and owner not in contact_ids:
            contact_ids.append(owner)
    thread_id = _thread(repo, parsed)
    if not contact_ids:
        return InboundResult(parsed.message_id, thread_id, duplicate=False)
    settings = read_smtp(ctx)
    ours = repo.member_emails() | ({settings.from_address.lower()} if settings else set())
    direction = (
        interactions.Direction.OUTBOUND
        if parsed.sender.address.lower() in ours
        else interactions.Direction.INBOUND
    )
    when = parsed.date if parsed.date and parsed.date >= _EARLIEST else ctx.now
    when = min(when, ctx.now)
    email_id = repo.insert_once(
        {
            "direction": direction.value,
            "message_id": parsed.message_id,
            "in_reply_to": parsed.in_reply_to,
            "thread_id": thread_id,
            "contact_id": contact_ids[0],
            "sender": parsed.sender.address,
            "recipients": [r.address for r in parsed.recipients],
            "subject": parsed.subject,
            "status": "received",
            "error": "",
            "created_at": ctx.now,
            "sent_at": when,
        }
    )
    if email_id is None:  # the same message, delivered twice at once: the other one logs it
        return InboundResult(parsed.message_id, thread_id, duplicate=True)
    matched: list[Matched] = []
    participants = [p.display() for p in people]
    for contact_id in contact_ids:
        interaction = interactions.log_interaction(
            ctx,
            contact_id,
            channel=interactions.Channel.EMAIL,
            direction=direction,
            occurred_at=when,
            subject=parsed.subject,
            body=parsed.text,
            participants=participants,
        )
        interaction.message_id = parsed.message_id
        interaction.thread_id = thread_id
        matched.append(Matched(contact_id, interaction.id, direction.value))
    row = repo.get(email_id)
    row.interaction_id = matched[0].interaction_id
    ctx.session.flush()
    return InboundResult(parsed.message_id, thread_id, False, matched, email_id)


def _thread(repo: EmailMessageRepository, parsed: ParsedEmail) -> str:
    parent = parsed.references[0] if parsed.references else parsed.in_reply_to
    if parent is None:
        return parsed.message_id
    known = repo.threads_of([parent])
    return known.get(parent, parent)


# --- importing files -------------------------------------------------------------------------


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    unmatched: int = 0
    rejected: int = 0
    interactions: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "duplicates": self.duplicates,
            "unmatched": self.unmatched,
            "rejected": self.rejected,
            "interactions": self.interactions,
            "errors": list(self.errors),
        }


def import_messages(ctx: Ctx, messages: Iterable[bytes]) -> ImportReport:
    """Log many raw messages (an mbox, a folder of .eml): each one in its own savepoint, so a
    bad message is counted as rejected and the others still import."""
    ctx.require(Permission.WRITE)
    report = ImportReport()
    for number, raw in enumerate(messages, start=1):
        try:
            with ctx.session.begin_nested():
                result = receive(ctx, raw)
        except DomainError as exc:
            report.rejected += 1
            if len(report.errors) < 100:
                report.errors.append(f"message {number}: {exc.message}")
            continue
        if result.duplicate:
            report.duplicates += 1
        elif not result.matched:
            report.unmatched += 1
        else:
            report.imported += 1
            report.interactions += len(result.matched)
    return report
