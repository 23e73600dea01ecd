"""``email.send``: deliver one queued email over SMTP.

The order is what keeps the delivery guarantee tight (see ``services.email.outbound``): every
database effect (row marked sent, outbound interaction with the Message-ID) is written first,
in the job's transaction; the SMTP transfer is the handler's last step. A refused or failed
transfer raises, which rolls the effects back and retries the job with backoff until it is
dead. After the server has accepted the message nothing else can fail the job but the commit
itself, so a duplicate (same Message-ID) needs a crash in that instant.
"""

from __future__ import annotations

import smtplib
import ssl
from typing import Any

from tenure.services import email as email_service
from tenure.services.context import Ctx
from tenure.worker.registry import handler

#: Seconds for connecting and for each SMTP reply. Short: on SQLite the job holds the write
#: transaction while it talks to the server.
SMTP_TIMEOUT = 10.0


@handler(email_service.SEND_KIND)
def send_email(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    outgoing = email_service.prepare_delivery(ctx, payload)
    if outgoing is None:
        return {"sent": False, "email_message_id": payload.get("email_message_id")}
    transmit(outgoing)
    return {
        "sent": True,
        "email_message_id": payload.get("email_message_id"),
        "message_id": outgoing.message["Message-ID"],
    }


def transmit(outgoing: email_service.Outgoing, timeout: float = SMTP_TIMEOUT) -> None:
    """One SMTP session: connect (TLS as configured), log in, hand the message over."""
    settings = outgoing.settings
    security = email_service.Security
    client: smtplib.SMTP
    if settings.security is security.SSL:
        client = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    try:
        client.ehlo()
        if settings.security is security.STARTTLS:
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if settings.username:
            client.login(settings.username, settings.password)
        # Raises unless the server accepted the message for every recipient.
        client.send_message(
            outgoing.message, from_addr=outgoing.sender, to_addrs=outgoing.recipients
        )
    except BaseException:
        client.close()
        raise
    # Accepted: a failing QUIT must not fail the job (that would send it again).
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
