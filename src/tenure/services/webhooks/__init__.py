"""Webhooks: subscriptions, the delivery of events to them, and the delivery log.

A subscription says where to POST which event types. Every delivery is a row
(``WebhookDelivery``) with a ``webhook_id`` chosen once, at random, so that every attempt of the
same message carries the same ``webhook-id`` header and receivers can deduplicate (the Standard
Webhooks spec asks them to). Bodies are signed with the subscription's secret by the
``standardwebhooks`` library; addresses, signing and HTTP are in ``.sending``.

How a delivery fits the worker's transaction model (``tenure.worker.runner``): a job handler's
database effects commit in one transaction together with the job being marked done, and a
handler that raises has them rolled back. A failed HTTP attempt is not an error of the job: it
is an outcome to record. So an attempt never raises for a refused, failed or timed-out request:
``record_attempt`` writes it on the delivery row (attempts, response status, error) and, in the
same transaction, enqueues the next attempt as a *new* job (``run_at`` = now + backoff, key
``webhook:<delivery id>:<attempt>``), or marks the delivery dead after the last attempt; the
handler then returns normally, so the record of the attempt, the next attempt and the job being
done commit together, once. The engine's own retries are left for real errors (the database
going away): the attempt is then not recorded and is made again, with the same ``webhook-id``.

Why not let the handler raise and the engine retry? The rollback would erase the record of the
attempt (the delivery log would show nothing until the end), and the schedule would be the
engine's generic one rather than the webhook schedule. And why three steps (``prepare_attempt``,
``make_attempt``, ``record_attempt``)? So that the worker holds no database transaction while a
receiver takes its time (see ``tenure.worker.handlers.webhooks``).

At-least-once: a worker that dies after the receiver got the message and before its record
committed leaves the job to be claimed again, and the receiver gets the message twice, with the
same ``webhook-id``. Each attempt job checks, under a row lock, that its attempt is the next one
to make (``attempt`` in the payload against ``attempts`` on the row), before sending and again
before recording, so a stale or repeated job sends nothing once its attempt was recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tenure.db.models import TimelineEvent, WebhookDelivery, WebhookSubscription
from tenure.db.repositories.jobs import JobRepository
from tenure.db.repositories.pagination import Page, check_limit, decode_cursor, encode_cursor
from tenure.db.repositories.webhooks import WebhookDeliveryRepository, WebhookSubscriptionRepository
from tenure.domain.access import Permission
from tenure.domain.errors import FieldError, InvalidInput, PreconditionFailed
from tenure.domain.events import EventType
from tenure.domain.webhooks import (
    DEFAULT_RETRY_SCHEDULE,
    TEST_EVENT,
    DeliveryStatus,
    can_attempt,
    check_event_types,
    check_retry,
    matches,
    new_secret,
    new_webhook_id,
    retry_delay,
)
from tenure.services import audit, automation, jobs
from tenure.services.context import Ctx
from tenure.services.webhooks.sending import Outcome, check_url, send

DELIVER_KIND = "webhook.deliver"
#: Seconds between attempts (tests shorten it); its length + 1 is the number of attempts.
RETRY_SCHEDULE: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
#: Job-level retries, for errors of Tenure itself (the HTTP outcome never raises).
JOB_MAX_ATTEMPTS = 5
EDITABLE = frozenset({"url", "event_types", "description", "active"})
STATUSES = tuple(s.value for s in DeliveryStatus)


@dataclass(frozen=True)
class NewSecret:
    """A subscription with its signing secret: returned once, at creation or rotation."""

    subscription: WebhookSubscription
    secret: str


# --- subscriptions ----------------------------------------------------------------------------


def _subs(ctx: Ctx) -> WebhookSubscriptionRepository:
    return WebhookSubscriptionRepository(ctx.session, ctx.workspace_id)


def _deliveries(ctx: Ctx) -> WebhookDeliveryRepository:
    return WebhookDeliveryRepository(ctx.session, ctx.workspace_id)


def known_event_types() -> list[str]:
    return [t.value for t in EventType]


def _check_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated, normalized values for the editable fields given (all errors at once)."""
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    for name, value in values.items():
        try:
            if name == "url":
                if not isinstance(value, str):
                    raise InvalidInput.one("url", "required", "give the URL to send events to")
                out["url"] = check_url(value).url
            elif name == "event_types":
                out["event_types"] = check_event_types(list(value or []), known_event_types())
            elif name == "description":
                out["description"] = str(value or "").strip()
            elif name == "active":
                if not isinstance(value, bool):
                    raise InvalidInput.one("active", "type", "must be true or false")
                out["active"] = value
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return out


def create_subscription(
    ctx: Ctx,
    *,
    url: str,
    event_types: Sequence[str],
    description: str = "",
    active: bool = True,
) -> NewSecret:
    ctx.require(Permission.ADMIN)
    fields = _check_fields(
        {"url": url, "event_types": event_types, "description": description, "active": active}
    )
    secret = new_secret()
    subscription = WebhookSubscription(
        **fields, secret=secret, created_by=ctx.user_id, created_at=ctx.now, updated_at=ctx.now
    )
    _subs(ctx).add(subscription)
    ctx.session.flush()
    automation.forget_subscriptions(ctx)
    audit.log(ctx, "webhook.created", webhook=subscription.id, url=subscription.url)
    return NewSecret(subscription, secret)


def get_subscription(ctx: Ctx, subscription_id: int) -> WebhookSubscription:
    ctx.require(Permission.ADMIN)
    return _subs(ctx).get(subscription_id)


def list_subscriptions(
    ctx: Ctx, *, active: bool | None = None, cursor: str | None = None, limit: int = 50
) -> Page:
    ctx.require(Permission.ADMIN)
    check_limit(limit)
    after = None
    if cursor:
        (last,) = decode_cursor(cursor, arity=1, types=(int,))
        after = [last, last]
    rows = list(_subs(ctx).page(active=active, after=after, limit=limit))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].id])
    return Page(rows, next_cursor)


def update_subscription(
    ctx: Ctx, subscription_id: int, *, expected_version: int, changes: Mapping[str, Any]
) -> WebhookSubscription:
    ctx.require(Permission.ADMIN)
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise InvalidInput([FieldError(n, "read-only", "cannot be changed") for n in unknown])
    subscription = _subs(ctx).get(subscription_id, for_update=True)
    if subscription.version != expected_version:
        raise PreconditionFailed(
            f"webhook {subscription_id} is at version {subscription.version}, "
            f"not {expected_version}",
            current_version=subscription.version,
        )
    fields = _check_fields(changes)
    for name, value in fields.items():
        setattr(subscription, name, value)
    subscription.updated_at = ctx.now
    ctx.session.flush()
    automation.forget_subscriptions(ctx)
    audit.log(ctx, "webhook.updated", webhook=subscription.id, fields=sorted(fields))
    return subscription


def rotate_secret(ctx: Ctx, subscription_id: int) -> NewSecret:
    """A new signing secret, in force at once (deliveries from now on are signed with it)."""
    ctx.require(Permission.ADMIN)
    subscription = _subs(ctx).get(subscription_id, for_update=True)
    secret = new_secret()
    subscription.secret = secret
    subscription.updated_at = ctx.now
    ctx.session.flush()
    audit.log(ctx, "webhook.secret_rotated", webhook=subscription.id)
    return NewSecret(subscription, secret)


def delete_subscription(ctx: Ctx, subscription_id: int) -> None:
    """Deletes the subscription and its delivery log; attempts still queued find nothing."""
    ctx.require(Permission.ADMIN)
    subscription = _subs(ctx).get(subscription_id, for_update=True)
    url = subscription.url
    ctx.session.delete(subscription)
    ctx.session.flush()
    automation.forget_subscriptions(ctx)
    audit.log(ctx, "webhook.deleted", webhook=subscription_id, url=url)


# --- creating deliveries ----------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_payload(event: TimelineEvent) -> dict[str, Any]:
    """The Standard Webhooks envelope of a timeline event."""
    return {
        "type": event.type,
        "timestamp": _iso(event.recorded_at),
        "data": {
            "id": event.id,
            "contact_id": event.contact_id,
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "summary": event.summary,
            "occurred_at": _iso(event.occurred_at),
            "data": event.data,
        },
    }


def _attempt_key(delivery_id: int, attempt: int) -> str:
    return f"webhook:{delivery_id}:{attempt}"


def _enqueue_attempt(
    ctx: Ctx,
    delivery_id: int,
    *,
    attempt: int,
    first: int,
    run_at: datetime | None = None,
    key: str | None = None,
) -> int | None:
    return jobs.enqueue(
        ctx,
        DELIVER_KIND,
        {"delivery_id": delivery_id, "attempt": attempt, "first": first},
        key=key or _attempt_key(delivery_id, attempt),
        run_at=run_at,
        max_attempts=JOB_MAX_ATTEMPTS,
    )


def on_event(ctx: Ctx, event: TimelineEvent) -> dict[str, Any]:
    """Hand one event to every active subscription that wants its type (run by the dispatch
    job; idempotent: one delivery per subscription and event, however often it runs)."""
    created: list[int] = []
    for subscription in _subs(ctx).active():
        if not matches(subscription.event_types, event.type):
            continue
        delivery_id = _deliveries(ctx).insert_once(
            {
                "subscription_id": subscription.id,
                "event_id": event.id,
                "event_type": event.type,
                "webhook_id": new_webhook_id(),
                "payload": event_payload(event),
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "last_error": "",
                "created_at": ctx.now,
            }
        )
        if delivery_id is not None:
            _enqueue_attempt(ctx, delivery_id, attempt=1, first=1)
            created.append(delivery_id)
    return {"deliveries": created}


def _send_key(subscription_id: int, key: str) -> str:
    raw = f"webhook.send:{subscription_id}:{key}"
    if len(raw) <= 200:
        return raw
    return f"webhook.send:{subscription_id}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def send_to_subscription(
    ctx: Ctx, *, subscription_id: int, event_type: str, payload: dict[str, Any], key: str
) -> int | None:
    """Send one message to one subscription (the rules' "call a webhook" action, test pings).

    ``payload`` is the ``data`` of the envelope (``{"type", "timestamp", "data"}``). Idempotent
    by ``key``: the same key sends once and answers the same delivery id. None when the
    subscription does not exist (in this workspace) or is inactive (except for test pings).
    """
    subscription = _subs(ctx).find(subscription_id)
    if subscription is None or not (subscription.active or event_type == TEST_EVENT):
        return None
    if not event_type or len(event_type) > 60:
        raise InvalidInput.one("event_type", "length", "must have 1 to 60 characters")
    job_key = _send_key(subscription_id, key)
    job_repo = JobRepository(ctx.session, ctx.workspace_id)
    earlier = job_repo.by_key(job_key)
    if earlier is not None:
        return int(earlier.payload["delivery_id"])
    delivery = WebhookDelivery(
        subscription_id=subscription.id,
        event_id=None,
        event_type=event_type,
        webhook_id=new_webhook_id(),
        payload={"type": event_type, "timestamp": _iso(ctx.now), "data": payload},
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        last_error="",
        created_at=ctx.now,
    )
    _deliveries(ctx).add(delivery)
    ctx.session.flush()
    if _enqueue_attempt(ctx, delivery.id, attempt=1, first=1, key=job_key) is None:
        # Another transaction sent this key first (the unique job key is the arbiter).
        ctx.session.delete(delivery)
        ctx.session.flush()
        earlier = job_repo.by_key(job_key)
        return int(earlier.payload["delivery_id"]) if earlier is not None else None
    return delivery.id


def send_test(ctx: Ctx, subscription_id: int) -> WebhookDelivery:
    """A ``webhook.test`` ping through the same path as every delivery."""
    ctx.require(Permission.ADMIN)
    subscription = _subs(ctx).get(subscription_id)
    delivery_id = send_to_subscription(
        ctx,
        subscription_id=subscription.id,
        event_type=TEST_EVENT,
        payload={"subscription_id": subscription.id, "message": "Hello from Tenure"},
        key=f"test:{new_webhook_id()}",
    )
    assert delivery_id is not None  # a test ping goes to inactive subscriptions too
    return _deliveries(ctx).get(delivery_id)


# --- the delivery log -------------------------------------------------------------------------


def list_deliveries(
    ctx: Ctx,
    *,
    subscription_id: int | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """Newest first."""
    ctx.require(Permission.ADMIN)
    check_limit(limit)
    if status and status not in STATUSES:
        raise InvalidInput.one("status", "choice", f"one of {', '.join(STATUSES)}")
    if subscription_id is not None:
        _subs(ctx).get(subscription_id)
    after = None
    if cursor:
        (last,) = decode_cursor(cursor, arity=1, types=(int,))
        after = [last, last]
    rows = list(
        _deliveries(ctx).page(
            subscription_id=subscription_id, status=status, after=after, limit=limit
        )
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].id])
    return Page(rows, next_cursor)


def get_delivery(ctx: Ctx, delivery_id: int) -> WebhookDelivery:
    ctx.require(Permission.ADMIN)
    return _deliveries(ctx).get(delivery_id)


def retry_delivery(ctx: Ctx, delivery_id: int) -> WebhookDelivery:
    """A dead delivery gets a fresh round of attempts, with the same ``webhook-id``."""
    ctx.require(Permission.ADMIN)
    delivery = _deliveries(ctx).get(delivery_id, for_update=True)
    check_retry(DeliveryStatus(delivery.status))
    delivery.status = DeliveryStatus.PENDING.value
    attempt = delivery.attempts + 1
    _enqueue_attempt(ctx, delivery.id, attempt=attempt, first=attempt)
    ctx.session.flush()
    return delivery


# --- attempts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One attempt to make: what to send where (read before the request is sent)."""

    delivery_id: int
    number: int
    #: The number of the first attempt of this round (a retry by hand starts a new round).
    first: int
    webhook_id: str
    url: str
    secret: str
    payload: dict[str, Any]
    #: Known before sending (an inactive subscription): record this instead of sending.
    foregone: Outcome | None = None


def _due(ctx: Ctx, delivery_id: int, number: int) -> WebhookDelivery | str:
    delivery = _deliveries(ctx).find(delivery_id, for_update=True)
    if delivery is None:
        return "the delivery no longer exists"
    status = DeliveryStatus(delivery.status)
    if not can_attempt(status) or delivery.attempts + 1 != number:
        return f"attempt {number} is not due ({status.value} after {delivery.attempts})"
    return delivery


def prepare_attempt(ctx: Ctx, *, delivery_id: int, attempt: int, first: int) -> Attempt | str:
    """Read what attempt number ``attempt`` sends; a string says why there is nothing to do
    (a repeated or stale job: that attempt was recorded already)."""
    delivery = _due(ctx, delivery_id, attempt)
    if isinstance(delivery, str):
        return delivery
    subscription = _subs(ctx).get(delivery.subscription_id)
    foregone = None
    if not subscription.active and delivery.event_type != TEST_EVENT:
        foregone = Outcome(error="the subscription is inactive: not sent", final=True)
    return Attempt(
        delivery_id=delivery.id,
        number=attempt,
        first=first,
        webhook_id=delivery.webhook_id,
        url=subscription.url,
        secret=subscription.secret,
        payload=dict(delivery.payload),
        foregone=foregone,
    )


def make_attempt(attempt: Attempt) -> Outcome:
    """The request itself: no database involved (the caller need not hold a transaction)."""
    if attempt.foregone is not None:
        return attempt.foregone
    return send(attempt.url, attempt.secret, attempt.webhook_id, attempt.payload)


def record_attempt(ctx: Ctx, attempt: Attempt, outcome: Outcome) -> dict[str, Any]:
    """Record an attempt's outcome; schedule the next attempt (a new job) or declare the
    delivery dead. Checks again that the attempt is still the one due (another worker that
    took the job over may have recorded it meanwhile)."""
    delivery = _due(ctx, attempt.delivery_id, attempt.number)
    if isinstance(delivery, str):
        return {"skipped": delivery, "response_status": outcome.status_code}
    delivery.attempts = attempt.number
    delivery.response_status = outcome.status_code
    result: dict[str, Any] = {
        "webhook_id": delivery.webhook_id,
        "attempt": attempt.number,
        "response_status": outcome.status_code,
    }
    if outcome.ok:
        delivery.status = DeliveryStatus.DELIVERED.value
        delivery.delivered_at = ctx.now
        delivery.last_error = ""
        ctx.session.flush()
        return {**result, "status": delivery.status}
    delivery.last_error = outcome.error[:2000]
    in_round = attempt.number - attempt.first + 1
    delay = None if outcome.final else retry_delay(in_round, RETRY_SCHEDULE)
    if delay is None:
        delivery.status = DeliveryStatus.DEAD.value
    else:
        delivery.status = DeliveryStatus.FAILED.value
        run_at = ctx.now + delay
        _enqueue_attempt(
            ctx, delivery.id, attempt=attempt.number + 1, first=attempt.first, run_at=run_at
        )
        result["next_attempt_at"] = run_at.isoformat()
    ctx.session.flush()
    return {**result, "status": delivery.status, "error": delivery.last_error}


def deliver(ctx: Ctx, *, delivery_id: int, attempt: int, first: int) -> dict[str, Any]:
    """Prepare, make and record one attempt in the caller's transaction. (The worker's handler
    runs the same three steps but lets go of its transaction during the request.)"""
    prepared = prepare_attempt(ctx, delivery_id=delivery_id, attempt=attempt, first=first)
    if isinstance(prepared, str):
        return {"skipped": prepared}
    return record_attempt(ctx, prepared, make_attempt(prepared))
