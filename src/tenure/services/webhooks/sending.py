"""Sending one webhook request: where the URL leads (every resolved address judged, unless the
operator allows private addresses), the Standard Webhooks signature, and the HTTP POST to the
checked address itself. No database here: the caller need not hold a transaction.

Server-side request forgery: the URL's host is resolved at creation (``check_url``) and again at
every attempt (``send``: a name can be re-pointed at an internal address after it was checked,
DNS rebinding), and the request is sent to the address just checked, with the name in ``Host``
and in TLS SNI (certificates are still verified against the name), so there is no second lookup
for an attacker to answer differently. Redirects are not followed, proxies from the environment
are not used, and every connection is new (a kept-alive connection verified for one name is never
reused for another).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from tenure import __version__
from tenure.clock import utcnow
from tenure.config import get_settings
from tenure.domain.errors import InvalidInput
from tenure.domain.webhooks import (
    Target,
    is_success,
    parse_url,
    refusal_message,
    refused_addresses,
)

#: Seconds to connect, and between bytes while sending and reading the answer.
REQUEST_TIMEOUT = 10.0
#: How much of a failed answer's body is kept in the delivery log.
ERROR_BODY_BYTES = 500
USER_AGENT = f"Tenure-Webhooks/{__version__}"

#: Host name resolution, a seam for tests: (host, port) -> addresses, in the resolver's order.
Resolver = Callable[[str, int], list[str]]


def system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


resolve_host: Resolver = system_resolve


def private_allowed() -> bool:
    return get_settings().webhook_allow_private


def check_url(url: str) -> Target:
    """The URL's shape and, unless private addresses are allowed, where its host leads (a name
    that cannot be resolved cannot be checked, so it is refused too)."""
    target = parse_url(url)
    if private_allowed():
        return target
    refused = refused_addresses(target.host, [])  # "localhost": no lookup needed
    if not refused:
        try:
            refused = refused_addresses(target.host, _addresses(target))
        except OSError as exc:
            raise InvalidInput.one(
                "url", "resolve", f"the host {target.host} cannot be resolved ({exc})"
            ) from None
    if refused:
        raise InvalidInput.one("url", "private-address", refusal_message(target.host, refused))
    return target


def _addresses(target: Target) -> list[str]:
    if target.literal:
        return [target.host]
    addresses = resolve_host(target.host, target.port)
    if not addresses:
        raise OSError("no address")
    return addresses


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    error: str = ""
    #: No point in trying again (the subscription was switched off, the URL is no longer valid).
    final: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and is_success(self.status_code) and not self.error


def body_of(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(secret: str, webhook_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for this body, signed now (per attempt)."""
    signature = Webhook(secret).sign(webhook_id, at.astimezone(UTC), body.decode())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def send(url: str, secret: str, webhook_id: str, payload: Mapping[str, Any]) -> Outcome:
    """One signed POST to the subscription's URL, to an address checked just now."""
    try:
        target = parse_url(url)
    except InvalidInput as exc:
        return Outcome(error=f"the URL is no longer valid: {exc.message}", final=True)
    allowed = private_allowed()
    if not allowed and (named := refused_addresses(target.host, [])):
        return Outcome(error="refused: " + refusal_message(target.host, named))
    try:
        addresses = _addresses(target)
    except OSError as exc:
        return Outcome(error=f"cannot resolve {target.host}: {exc}")
    if not allowed and (refused := refused_addresses(target.host, addresses)):
        # Checked again at every attempt: the name may point somewhere else by now.
        return Outcome(error="refused: " + refusal_message(target.host, refused))
    body = body_of(payload)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **signed_headers(secret, webhook_id, body, utcnow()),
    }
    return _post(target, addresses, headers, body)


_client_lock = threading.Lock()
_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _client  # noqa: PLW0603 (one client per process, made on first use)
    with _client_lock:
        if _client is None:
            _client = httpx.Client(
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_keepalive_connections=0),
            )
        return _client


def _post(target: Target, addresses: list[str], headers: dict[str, str], body: bytes) -> Outcome:
    url = httpx.URL(target.url)
    host_header = url.netloc.decode("ascii")
    last_error = ""
    for address in addresses:
        request = _http().build_request(
            "POST",
            url.copy_with(host=address.split("%", 1)[0]),
            headers={**headers, "host": host_header},
            content=body,
            timeout=REQUEST_TIMEOUT,
            extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
        )
        started = time.monotonic()
        try:
            response = _http().send(request, stream=True)
        except httpx.ConnectError as exc:
            last_error = f"cannot connect to {address}: {exc}"
            continue  # the next address of the name, if any
        except httpx.TimeoutException as exc:
            return Outcome(error=f"timed out after {time.monotonic() - started:.1f} s ({exc!r})")
        except httpx.HTTPError as exc:
            return Outcome(error=f"request failed: {exc!r}")
        try:
            return _outcome(response)
        finally:
            response.close()
    return Outcome(error=last_error or "no address to connect to")


def _outcome(response: httpx.Response) -> Outcome:
    code = response.status_code
    if is_success(code):
        return Outcome(status_code=code)
    if response.is_redirect:
        where = response.headers.get("location", "")
        return Outcome(status_code=code, error=f"HTTP {code}: redirect to {where!r} not followed")
    snippet = b""
    try:
        for chunk in response.iter_bytes():
            snippet += chunk
            if len(snippet) >= ERROR_BODY_BYTES:
                break
    except httpx.HTTPError:
        pass
    text = snippet[:ERROR_BODY_BYTES].decode("utf-8", "replace").strip()
    return Outcome(status_code=code, error=f"HTTP {code}" + (f": {text}" if text else ""))
