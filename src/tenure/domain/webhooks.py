"""Webhooks, the pure part: which URLs may be called, which addresses are off limits, which event
types a subscription may name, how deliveries move, and when a failed one is tried again.

Server-side request forgery is the danger of letting users choose where the server sends
requests: a subscription to ``http://169.254.169.254/`` (cloud metadata) or ``http://10.0.0.5/``
would turn Tenure into a proxy into its own network. So a URL whose host resolves to any address
that is not a public unicast address is refused (every resolved address is checked, because a
name may resolve to several and the connection may use any of them), unless the operator allows
private addresses in the settings. The services resolve names; this module only judges.

Deliveries::

    pending ──► delivered
       │  ▲
       ▼  │ (retry by hand)
    failed ──► dead ──► pending
       ▲  │
       └──┘ (next attempt)
"""

from __future__ import annotations

import base64
import ipaddress
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from tenure.domain.errors import FieldError, InvalidInput, InvalidTransition

#: Subscribe to every event type.
ALL_EVENTS = "*"
#: The ping sent by "test this subscription"; no timeline event has this type.
TEST_EVENT = "webhook.test"

#: The Standard Webhooks secret format: "whsec_" + base64 of the key (24 to 64 bytes).
SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
SECRET_BYTES = 32
MAX_URL_LENGTH = 2000

#: Seconds to wait before each retry: attempt 1 is immediate, attempt 2 after 10 s, … attempt 8
#: after 12 h (about 20 hours in all), then the delivery is dead.
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (10, 60, 300, 1800, 7200, 21600, 43200)
#: Each delay is stretched by up to this fraction at random, so that a receiver that comes back
#: after an outage is not hit by every retry in the same second.
RETRY_JITTER = 0.1


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # an attempt failed; the next one is scheduled
    DEAD = "dead"  # no attempt left; retry by hand


DELIVERY_MOVES: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.PENDING: frozenset(
        {DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.DEAD}
    ),
    DeliveryStatus.FAILED: frozenset(
        {DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.DEAD}
    ),
    DeliveryStatus.DEAD: frozenset({DeliveryStatus.PENDING}),
    DeliveryStatus.DELIVERED: frozenset(),
}


def can_move(current: DeliveryStatus, target: DeliveryStatus) -> bool:
    return target in DELIVERY_MOVES[current]


def can_attempt(status: DeliveryStatus) -> bool:
    """Whether a delivery still waits for an attempt (a job for it may run)."""
    return status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


def check_retry(status: DeliveryStatus) -> None:
    if not can_move(status, DeliveryStatus.PENDING):
        raise InvalidTransition(
            f"only a dead delivery can be retried; this one is {status.value}",
            status=status.value,
        )


# --- secrets and ids --------------------------------------------------------------------------


def new_secret(size: int = SECRET_BYTES) -> str:
    """A signing secret in the Standard Webhooks format, from the system's CSPRNG."""
    if not 24 <= size <= 64:
        raise ValueError("a webhook secret has 24 to 64 bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(size)).decode()


def new_webhook_id() -> str:
    """The message id receivers deduplicate by: random, so it is unique across installations
    (a counter would repeat between two Tenure installations sending to the same receiver)."""
    return "msg_" + secrets.token_urlsafe(18)


# --- event types ------------------------------------------------------------------------------


def check_event_types(types: Sequence[str], known: Iterable[str]) -> list[str]:
    """The normalized list (sorted, no repeats; ``["*"]`` if it names every type)."""
    known_set = frozenset(known)
    if not types:
        raise InvalidInput.one("event_types", "required", 'name at least one event type, or "*"')
    errors = [
        FieldError(f"event_types.{i}", "choice", f"unknown event type {t!r}")
        for i, t in enumerate(types)
        if t != ALL_EVENTS and t not in known_set
    ]
    if errors:
        raise InvalidInput(errors)
    if ALL_EVENTS in types:
        return [ALL_EVENTS]
    return sorted(set(types))


def matches(subscribed: Iterable[str], event_type: str) -> bool:
    return any(t in (ALL_EVENTS, event_type) for t in subscribed)


# --- URLs and addresses -----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: where to connect, and what to call the host (Host header, SNI)."""

    url: str
    scheme: str
    host: str
    port: int
    #: The host is an IP literal (no name to resolve).
    literal: bool


def _url_error(rule: str, message: str) -> InvalidInput:
    return InvalidInput.one("url", rule, message)


def parse_url(url: str) -> Target:
    """Check the shape of a webhook URL: http or https, a host, no credentials, no fragment."""
    text = url.strip()
    if not text:
        raise _url_error("required", "give the URL to send events to")
    if len(text) > MAX_URL_LENGTH:
        raise _url_error("length", f"must be at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 for c in text):
        raise _url_error("url", "must not contain spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise _url_error("url", f"is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _url_error("scheme", "must start with http:// or https://")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise _url_error("host", "must name a host")
    if parts.username is not None or parts.password is not None:
        raise _url_error(
            "credentials",
            "must not contain a user name or password (receivers verify the signature instead)",
        )
    if parts.fragment:
        raise _url_error("fragment", "must not contain a #fragment")
    literal = _ip(host) is not None
    return Target(
        url=text,
        scheme=scheme,
        host=host,
        port=port or (443 if scheme == "https" else 80),
        literal=literal,
    )


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None


def address_problem(address: str) -> str | None:
    """Why a webhook may not be sent to this address, or None for a public unicast address.

    The answer names the first class that matches: ``unspecified``, ``loopback``,
    ``link-local``, ``multicast``, ``private``, ``reserved`` (IETF reserved, documentation,
    benchmarking, carrier-grade NAT and every other range that is not globally routable).
    IPv6 addresses that embed an IPv4 address (mapped, 6to4, Teredo, NAT64) are judged by it.
    """
    ip = _ip(address)
    if ip is None:
        return "not-an-address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = address_problem(str(embedded))
            if inner is not None:
                return inner
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def host_name_problem(host: str) -> str | None:
    """Names that are loopback by definition (RFC 6761), refused before any lookup."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return "loopback"
    return None


def refused_addresses(host: str, addresses: Iterable[str]) -> list[tuple[str, str]]:
    """Every (address, reason) that makes ``host`` unfit; empty when all are public."""
    named = host_name_problem(host)
    if named is not None:
        return [(host, named)]
    return [(a, p) for a in addresses if (p := address_problem(a)) is not None]


def refusal_message(host: str, refused: Sequence[tuple[str, str]]) -> str:
    shown = ", ".join(f"{a} ({reason})" for a, reason in refused[:4])
    return (
        f"{host} resolves to an address webhooks may not be sent to: {shown}; "
        "only public addresses are allowed unless the operator allows private ones "
        "(TENURE_WEBHOOK_ALLOW_PRIVATE)"
    )


# --- retries ----------------------------------------------------------------------------------


def max_attempts(schedule: Sequence[float] = DEFAULT_RETRY_SCHEDULE) -> int:
    return len(schedule) + 1


def retry_delay(
    failed_attempts: int,
    schedule: Sequence[float] = DEFAULT_RETRY_SCHEDULE,
    *,
    jitter: float = RETRY_JITTER,
    rng: random.Random | None = None,
) -> timedelta | None:
    """How long to wait after the ``failed_attempts``-th failed attempt (1-based) before the
    next one, or None when that was the last attempt (the delivery is dead)."""
    if failed_attempts < 1:
        raise ValueError("failed_attempts counts from 1")
    if failed_attempts > len(schedule):
        return None
    base = float(schedule[failed_attempts - 1])
    stretch = (rng or random).uniform(0.0, jitter) if jitter > 0 else 0.0
    return timedelta(seconds=base * (1.0 + stretch))


def is_success(status_code: int) -> bool:
    return 200 <= status_code < 300
