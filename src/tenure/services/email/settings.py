"""A workspace's outgoing mail server, kept under ``workspace.settings["smtp"]``.

The password has to be readable to log in with, so it is stored as given (like a webhook
secret); it is never returned by any read: callers see ``password_set`` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tenure.db.models import Workspace
from tenure.domain.access import Permission
from tenure.domain.contacts import normalize_email
from tenure.domain.errors import FieldError, InvalidInput, NotFound
from tenure.services import audit
from tenure.services.context import Ctx

SETTINGS_KEY = "smtp"


class Security(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


DEFAULT_PORTS = {Security.NONE: 25, Security.STARTTLS: 587, Security.SSL: 465}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security
    from_address: str
    from_name: str = ""
    username: str = ""
    password: str = field(default="", repr=False)

    @property
    def password_set(self) -> bool:
        return bool(self.password)

    @property
    def from_domain(self) -> str:
        """The sender's domain in ASCII (IDNA), for Message-IDs."""
        domain = self.from_address.rpartition("@")[2]
        try:
            return domain.encode("idna").decode("ascii") or "tenure.invalid"
        except UnicodeError:
            return "tenure.invalid"

    def public(self) -> dict[str, Any]:
        """What a read shows: everything but the password."""
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security.value,
            "username": self.username,
            "password_set": self.password_set,
            "from_address": self.from_address,
            "from_name": self.from_name,
        }

    def stored(self) -> dict[str, Any]:
        return {**self.public(), "password": self.password, "password_set": None}


def _workspace(ctx: Ctx) -> Workspace:
    workspace = ctx.session.get(Workspace, ctx.workspace_id)
    if workspace is None:  # the token's workspace was deleted mid-request
        raise NotFound("workspace not found")
    return workspace


def read_smtp(ctx: Ctx) -> SmtpSettings | None:
    """The settings the sender uses (no permission check: the worker and services call it)."""
    stored = (_workspace(ctx).settings or {}).get(SETTINGS_KEY)
    if not isinstance(stored, dict) or not stored.get("host"):
        return None
    return SmtpSettings(
        host=str(stored["host"]),
        port=int(stored["port"]),
        security=Security(stored.get("security", Security.STARTTLS.value)),
        from_address=str(stored["from_address"]),
        from_name=str(stored.get("from_name") or ""),
        username=str(stored.get("username") or ""),
        password=str(stored.get("password") or ""),
    )


def get_smtp_settings(ctx: Ctx) -> SmtpSettings | None:
    """The workspace's mail server (owners and admins), or None when email is not set up."""
    ctx.require(Permission.ADMIN)
    return read_smtp(ctx)


def set_smtp_settings(
    ctx: Ctx,
    *,
    host: str,
    from_address: str,
    port: int | None = None,
    security: Security = Security.STARTTLS,
    username: str = "",
    password: str | None = None,
    from_name: str = "",
) -> SmtpSettings:
    """Replace the mail server settings (owners and admins).

    ``password`` None keeps the stored one (a form need not resend it), ``""`` clears it.
    Nothing is sent here: ``send_test`` queues a message to check the settings.
    """
    ctx.require(Permission.ADMIN)
    errors: list[FieldError] = []
    try:
        security = Security(security)
    except ValueError:
        raise InvalidInput.one("security", "choice", "none, starttls or ssl") from None
    host = host.strip()
    if not host or len(host) > 253 or any(ch.isspace() or ord(ch) < 32 for ch in host):
        errors.append(FieldError("host", "hostname", "a host name or address, without spaces"))
    port = DEFAULT_PORTS[security] if port is None else port
    if isinstance(port, bool) or not 1 <= port <= 65535:
        errors.append(FieldError("port", "range", "between 1 and 65535"))
    address, error = normalize_email(from_address, "from_address")
    if error:
        errors.append(error)
    for name, value, limit in (
        ("from_name", from_name, 200),
        ("username", username, 320),
        ("password", password or "", 1000),
    ):
        if len(value) > limit:
            errors.append(FieldError(name, "max-length", f"at most {limit} characters"))
        if any(ch in value for ch in "\r\n\0"):
            errors.append(FieldError(name, "single-line", "must not contain line breaks or NUL"))
    if errors:
        raise InvalidInput(errors)
    current = read_smtp(ctx)
    if password is None:
        password = current.password if current else ""
    settings = SmtpSettings(
        host=host,
        port=port,
        security=security,
        from_address=address or "",
        from_name=from_name.strip(),
        username=username.strip(),
        password=password,
    )
    workspace = _workspace(ctx)
    stored = {k: v for k, v in settings.stored().items() if v is not None}
    # A new dict, so the JSON column sees the change.
    workspace.settings = {**(workspace.settings or {}), SETTINGS_KEY: stored}
    ctx.session.flush()
    # Where mail goes is a security setting; the password itself is never logged.
    audit.log(
        ctx,
        "smtp.updated",
        host=host,
        port=port,
        from_address=settings.from_address,
        password_changed=current is None or password != current.password,
    )
    return settings
