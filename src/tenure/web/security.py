"""Security headers on every web response: a strict CSP with no inline script or style.

The API docs page (Swagger UI, served from the installed package, never a CDN) is the one
exception, and only for itself: its inline start-up script is allowed by its hash, and Swagger
UI sets inline style attributes, so that page alone allows inline styles.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_csp(html: str) -> str:
    """The policy of the API docs page: the app's own, plus the hashes of the page's inline
    scripts (and nothing else inline), plus the inline styles Swagger UI needs."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
    return CSP.replace("script-src 'self'", " ".join(["script-src 'self'", *hashes])).replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    )


#: Added to every response unless the route set its own (the API docs page sets its policy).
Headers = tuple[tuple[bytes, bytes], ...]
_EVERY: Headers = ((b"x-content-type-options", b"nosniff"),)
_PAGES: Headers = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
_HTTPS: Headers = ((b"strict-transport-security", b"max-age=31536000"),)


class SecurityHeaders:
    """Pure ASGI middleware that adds the headers to the response head as it passes.

    Not ``app.middleware("http")``: Starlette's BaseHTTPMiddleware runs the app in a task group
    and pipes the response through a memory stream, which cost about a millisecond per request
    and buffers streamed responses (exports)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _headers_for(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in extra if pair[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _headers_for(scope: Scope) -> Headers:
    extra = _EVERY
    if not scope["path"].startswith("/api/"):
        extra = _PAGES + extra
    if scope.get("scheme") == "https":
        extra = extra + _HTTPS
    return extra
