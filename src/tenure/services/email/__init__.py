"""Email: outgoing SMTP settings, sandboxed templates, sending through jobs, inbound logging.

One feature in a few modules (past ~600 lines a module becomes a package):

* ``settings``  the workspace's mail server (``workspace.settings["smtp"]``, admins only);
* ``sandbox``   the sandboxed Jinja2 environments and their resource limits;
* ``templates`` template CRUD, the render context (contact, brief, trigger), check renders;
* ``outbound``  ``send`` / ``send_template`` (queue in the caller's transaction), the
  delivery step the ``email.send`` job runs, the email log;
* ``inbound``   raw RFC 5322 messages to interactions (``/inbound/email``, ``tenure email
  import``).

Everything callers need is importable from here: ``from tenure.services import email``.
"""

from __future__ import annotations

from tenure.services.email.inbound import (
    MAX_MESSAGE_BYTES,
    ImportReport,
    InboundResult,
    Matched,
    ParsedEmail,
    import_messages,
    log_parsed,
    parse_message,
    receive,
)
from tenure.services.email.outbound import (
    SEND_KIND,
    EmailView,
    NotConfigured,
    Outgoing,
    Skipped,
    SkipReason,
    get_email,
    list_contact_emails,
    prepare_delivery,
    send,
    send_template,
    send_test,
    send_to_contact,
    skipped,
)
from tenure.services.email.settings import (
    Security,
    SmtpSettings,
    get_smtp_settings,
    read_smtp,
    set_smtp_settings,
)
from tenure.services.email.templates import (
    Rendered,
    create_template,
    delete_template,
    get_template,
    list_templates,
    preview,
    update_template,
)

__all__ = [
    "MAX_MESSAGE_BYTES",
    "SEND_KIND",
    "EmailView",
    "ImportReport",
    "InboundResult",
    "Matched",
    "NotConfigured",
    "Outgoing",
    "ParsedEmail",
    "Rendered",
    "Security",
    "SkipReason",
    "Skipped",
    "SmtpSettings",
    "create_template",
    "delete_template",
    "get_email",
    "get_smtp_settings",
    "get_template",
    "import_messages",
    "list_contact_emails",
    "list_templates",
    "log_parsed",
    "parse_message",
    "prepare_delivery",
    "preview",
    "read_smtp",
    "receive",
    "send",
    "send_template",
    "send_test",
    "send_to_contact",
    "set_smtp_settings",
    "skipped",
    "update_template",
]
