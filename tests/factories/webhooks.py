"""A real HTTP webhook receiver on 127.0.0.1 for the webhook tests.

It verifies every request's signature with ``standardwebhooks.Webhook(secret).verify`` (any of
the secrets it was told), records what arrived, and can be told to fail the next N requests
(an HTTP status, a redirect, or a pause longer than the sender's timeout) before succeeding.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Arrival:
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    payload: Any
    answered: int
    verified: bool
    path: str


@dataclass
class Receiver:
    port: int = 0
    secrets: list[str] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)
    #: What to do with the next requests: ("status", 500), ("sleep", 2.0), ("redirect", "/x").
    plan: deque[tuple[str, Any]] = field(default_factory=deque)
    #: When set, every request is answered with this status (after the plan is used up).
    always: int | None = None
    #: Called with the number of requests so far, before the answer is sent (crash tests).
    on_arrival: Callable[[int], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def fail(self, times: int, status: int = 500) -> None:
        self.plan.extend([("status", status)] * times)

    def stall(self, times: int, seconds: float) -> None:
        self.plan.extend([("sleep", seconds)] * times)

    def redirect(self, location: str) -> None:
        self.plan.append(("redirect", location))

    # --- what arrived -----------------------------------------------------------------------

    def ids(self) -> list[str]:
        with self.lock:
            return [a.webhook_id for a in self.arrivals]

    def delivered(self) -> Counter[str]:
        """webhook-id -> how many times it was answered with 2xx."""
        with self.lock:
            return Counter(a.webhook_id for a in self.arrivals if 200 <= a.answered < 300)

    def unverified(self) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if not a.verified]

    # --- the server -------------------------------------------------------------------------

    def _verify(self, body: bytes, headers: dict[str, str]) -> tuple[bool, Any]:
        for secret in list(self.secrets):
            try:
                return True, Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
        return False, None

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("content-length") or 0)
        body = request.rfile.read(length)
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified, payload = self._verify(body, headers)
        with self.lock:
            action = self.plan.popleft() if self.plan else None
        status, extra = 200, {}
        if not verified:
            status = 401
        elif action is not None and action[0] == "status":
            status = int(action[1])
        elif action is not None and action[0] == "redirect":
            status, extra = 302, {"Location": str(action[1])}
        elif action is not None and action[0] == "sleep":
            status = 599  # answered too late: the sender will have given up (not delivered)
        elif self.always is not None:
            status = self.always
        with self.lock:
            self.arrivals.append(
                Arrival(
                    webhook_id=headers.get("webhook-id", ""),
                    headers=headers,
                    body=body,
                    payload=payload,
                    answered=status,
                    verified=verified,
                    path=request.path,
                )
            )
            count = len(self.arrivals)
        if self.on_arrival is not None:
            self.on_arrival(count)
        if status == 599:
            time.sleep(float(action[1]))  # type: ignore[index]
        try:
            request.send_response(200 if status == 599 else status)
            for name, value in extra.items():
                request.send_header(name, value)
            answer = b"" if 200 <= status < 300 else b"receiver says no"
            request.send_header("Content-Length", str(len(answer)))
            request.end_headers()
            request.wfile.write(answer)
        except OSError:
            pass  # the sender hung up (timeout tests)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the crash test's worker opens a connection per delivery

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a sender that hung up or was killed: expected in these tests
        super().handle_error(request, client_address)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            receiver._handle(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
