"""Webhook job kinds: one attempt of one delivery (the retry model: ``services.webhooks``).

The attempt runs in three steps: read what to send (in the job's transaction), end that
transaction and send the request, then record the outcome in a new write transaction, which
the runner commits together with the job being marked done (fenced, as for every job). No
database transaction is open while the receiver takes its time: on SQLite the job's write
transaction would hold the one write lock of the database (every other writer would wait for a
slow receiver), and on PostgreSQL it would sit idle in transaction holding a row lock.

This relies on the runner's contract that a handler starts with nothing written in its session
(the runner only reads the workspace before calling it), so ending the read-only transaction
loses nothing. If the worker dies during the request, nothing of the attempt was recorded:
the job is claimed again after its lease and sends the message again, with the same
``webhook-id``.
"""

from __future__ import annotations

from typing import Any

from tenure.db.engine import WRITE_OPTION
from tenure.services import webhooks
from tenure.services.context import Ctx
from tenure.worker.registry import handler


@handler(webhooks.DELIVER_KIND)
def deliver(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """POST the signed message; records the outcome and schedules the next attempt itself, so
    it returns normally whatever the receiver answered."""
    attempt = webhooks.prepare_attempt(
        ctx,
        delivery_id=int(payload["delivery_id"]),
        attempt=int(payload.get("attempt", 1)),
        first=int(payload.get("first", 1)),
    )
    if isinstance(attempt, str):
        return {"skipped": attempt}
    if ctx.session.in_transaction():
        ctx.session.rollback()  # read-only so far: release locks while the receiver answers
    outcome = webhooks.make_attempt(attempt)
    ctx.session.connection(execution_options={WRITE_OPTION: True})  # BEGIN IMMEDIATE on SQLite
    return webhooks.record_attempt(ctx, attempt, outcome)
