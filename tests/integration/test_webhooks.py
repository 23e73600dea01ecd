"""Webhooks against a real receiver on 127.0.0.1: signatures, the same webhook-id on every
retry, backoff, dead deliveries and their retry, timeouts, redirects, refused addresses (at
creation and, against DNS rebinding, at every attempt), idempotency, the CLI."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tenure.clock import utcnow
from tenure.config import get_settings
from tenure.db.models import Job, TimelineEvent, WebhookDelivery
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import InvalidInput, NotFound
from tenure.services import contacts, jobs, webhooks
from tenure.services.webhooks import sending
from tenure.worker.runner import Worker, WorkerConfig
from tests.factories.webhooks import Receiver, running_receiver


@pytest.fixture(autouse=True)
def allow_private(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The receiver is on loopback: allowed here as the operator would for development."""
    monkeypatch.setenv("TENURE_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def refuse_private(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENURE_WEBHOOK_ALLOW_PRIVATE", "false")
    get_settings.cache_clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


class Clock:
    """The wall clock, moved forward by the test (to reach the next attempt at once)."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.shift

    def advance(self, **delta: float) -> None:
        self.shift += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(db, clock) -> Worker:
    return Worker(db.engine, WorkerConfig(worker_id="test-worker"), clock=clock)


def subscribe(db, tenant, receiver: Receiver | None, url: str | None = None, **fields: Any):
    fields.setdefault("event_types", ["*"])
    with unit_of_work(session_factory(db.engine)) as session:
        new = webhooks.create_subscription(tenant.ctx(session), url=url or receiver.url, **fields)
    if receiver is not None:
        receiver.secrets.append(new.secret)
    return new.subscription.id, new.secret


def send(db, tenant, subscription_id: int, key: str = "k1", **data: Any) -> int | None:
    with unit_of_work(session_factory(db.engine)) as session:
        return webhooks.send_to_subscription(
            tenant.ctx(session),
            subscription_id=subscription_id,
            event_type="contact.updated",
            payload={"n": key, **data},
            key=key,
        )


def delivery(db, delivery_id: int) -> WebhookDelivery:
    with db.session() as s:
        row = s.get(WebhookDelivery, delivery_id)
        assert row is not None
        s.expunge(row)
        return row


def jobs_of(db, delivery_id: int) -> list[Job]:
    with db.session() as s:
        rows = s.scalars(select(Job).where(Job.kind == webhooks.DELIVER_KIND).order_by(Job.id))
        return [j for j in rows if j.payload.get("delivery_id") == delivery_id]


def run_until_settled(worker: Worker, clock: Clock, rounds: int = 20) -> None:
    """Run what is due, then jump past the next backoff, until nothing is left."""
    for _ in range(rounds):
        worker.run_until_idle()
        clock.advance(hours=13)
        if worker.run_until_idle() == 0:
            return


# --- delivering --------------------------------------------------------------------------------


def test_an_event_reaches_the_receiver_signed_with_the_standard_headers(
    db, tenant, receiver, worker
) -> None:
    sub_id, secret = subscribe(db, tenant, receiver, event_types=["contact.created"])
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        view = contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name="Ada Lovelace")
        contact_id = view.contact.id if hasattr(view, "contact") else view.id
        event = session.scalars(
            select(TimelineEvent).where(TimelineEvent.type == "contact.created")
        ).one()
        # What the dispatch job does for webhooks (run twice: one delivery all the same).
        first = webhooks.on_event(ctx, event)
        again = webhooks.on_event(ctx, event)
    assert len(first["deliveries"]) == 1 and again == {"deliveries": []}
    worker.run_until_idle()

    [arrival] = receiver.arrivals
    assert arrival.verified and arrival.answered == 200
    assert arrival.path == "/hook"
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(arrival.headers)
    assert arrival.headers["webhook-signature"].startswith("v1,")
    assert arrival.headers["content-type"] == "application/json"
    body = json.loads(arrival.body)
    assert body["type"] == "contact.created"
    assert body["timestamp"].endswith("Z")
    data = body["data"]
    assert data["id"] == event.id and data["contact_id"] == contact_id
    assert data["subject_type"] == "contact" and data["summary"] == event.summary
    assert set(data) == {
        "id",
        "contact_id",
        "subject_type",
        "subject_id",
        "summary",
        "occurred_at",
        "data",
    }
    row = delivery(db, first["deliveries"][0])
    assert row.status == "delivered" and row.attempts == 1 and row.response_status == 200
    assert row.delivered_at is not None and row.last_error == ""
    assert row.webhook_id == arrival.webhook_id and row.webhook_id.startswith("msg_")
    assert row.event_id == event.id and row.subscription_id == sub_id


def test_the_outbox_dispatch_hands_events_to_webhooks(db, tenant, receiver, worker) -> None:
    """The whole path: a change → its event → the dispatch job → a delivery → the receiver."""
    rules = pytest.importorskip("tenure.services.rules", reason="no rules engine yet")
    if not hasattr(rules, "on_event"):
        pytest.skip("the rules engine is still being written")
    subscribe(db, tenant, receiver, event_types=["contact.created"])
    with unit_of_work(session_factory(db.engine)) as session:
        contacts.create_contact(tenant.ctx(session), kind=ContactKind.PERSON, display_name="Bo")
    worker.run_until_idle()
    assert [json.loads(a.body)["type"] for a in receiver.arrivals] == ["contact.created"]
    assert not receiver.unverified()


def test_only_active_subscriptions_for_the_type_get_a_delivery(db, tenant, receiver) -> None:
    every, _ = subscribe(db, tenant, receiver, event_types=["*"])
    cases, _ = subscribe(db, tenant, receiver, event_types=["case.opened"])
    created, _ = subscribe(db, tenant, receiver, event_types=["contact.created"])
    off, _ = subscribe(db, tenant, receiver, event_types=["contact.created"], active=False)
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name="Cy")
        event = session.scalars(select(TimelineEvent)).first()
        result = webhooks.on_event(ctx, event)
    with db.session() as s:
        subs = set(
            s.scalars(
                select(WebhookDelivery.subscription_id).where(
                    WebhookDelivery.id.in_(result["deliveries"])
                )
            )
        )
    assert subs == {every, created}
    assert cases not in subs and off not in subs


def test_failures_retry_with_backoff_keeping_the_webhook_id_then_deliver(
    db, tenant, receiver, worker, clock
) -> None:
    sub_id, _ = subscribe(db, tenant, receiver)
    receiver.fail(3, status=500)
    delivery_id = send(db, tenant, sub_id)
    assert worker.run_until_idle() == 1

    # The failed attempt is recorded in a committed transaction (read from a new session) ...
    row = delivery(db, delivery_id)
    assert row.status == "failed" and row.attempts == 1 and row.response_status == 500
    assert "HTTP 500" in row.last_error and "receiver says no" in row.last_error
    # ... and the next attempt is a new job, due after the first step of the schedule.
    first_job, next_job = jobs_of(db, delivery_id)
    assert first_job.status == "done" and first_job.result["status"] == "failed"
    assert next_job.status == "queued" and next_job.payload["attempt"] == 2
    wait = (next_job.run_at - first_job.finished_at).total_seconds()
    assert 9.5 <= wait <= 11.01, wait
    assert worker.run_until_idle() == 0  # not due yet

    steps = [webhooks.RETRY_SCHEDULE[0], webhooks.RETRY_SCHEDULE[1], webhooks.RETRY_SCHEDULE[2]]
    for step in steps:
        clock.advance(seconds=step * 1.1 + 1)
        assert worker.run_until_idle() == 1

    row = delivery(db, delivery_id)
    assert row.status == "delivered" and row.attempts == 4 and row.response_status == 200
    assert row.last_error == ""
    assert receiver.ids() == [row.webhook_id] * 4
    assert [a.answered for a in receiver.arrivals] == [500, 500, 500, 200]
    assert not receiver.unverified()
    # Every attempt signed afresh: the timestamp header is per attempt, the id is not.
    assert all(a.headers["webhook-id"] == row.webhook_id for a in receiver.arrivals)
    assert all(j.status == "done" for j in jobs_of(db, delivery_id))


def test_a_delivery_dies_after_its_last_attempt_and_can_be_retried(
    db, tenant, receiver, worker, clock, monkeypatch
) -> None:
    monkeypatch.setattr(webhooks, "RETRY_SCHEDULE", (5.0, 5.0))  # three attempts
    sub_id, _ = subscribe(db, tenant, receiver)
    receiver.always = 503
    delivery_id = send(db, tenant, sub_id)
    run_until_settled(worker, clock)

    row = delivery(db, delivery_id)
    assert row.status == "dead" and row.attempts == 3 and row.response_status == 503
    assert len(receiver.arrivals) == 3
    assert len(set(receiver.ids())) == 1
    # Dead is the delivery's state: every job that made an attempt finished normally.
    assert [j.status for j in jobs_of(db, delivery_id)] == ["done"] * 3
    with unit_of_work(session_factory(db.engine)) as session:
        dead = webhooks.list_deliveries(tenant.ctx(session), status="dead")
        assert [d.id for d in dead.items] == [delivery_id]

    receiver.always = None
    with unit_of_work(session_factory(db.engine)) as session:
        again = webhooks.retry_delivery(tenant.ctx(session), delivery_id)
        assert again.status == "pending"
    run_until_settled(worker, clock)
    row = delivery(db, delivery_id)
    assert row.status == "delivered" and row.attempts == 4
    assert receiver.ids() == [row.webhook_id] * 4
    assert receiver.delivered() == {row.webhook_id: 1}


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(
    db, tenant, receiver, worker, clock, monkeypatch
) -> None:
    monkeypatch.setattr(sending, "REQUEST_TIMEOUT", 0.5)
    sub_id, _ = subscribe(db, tenant, receiver)
    receiver.stall(1, seconds=2.0)
    delivery_id = send(db, tenant, sub_id)
    worker.run_until_idle()
    row = delivery(db, delivery_id)
    assert row.status == "failed" and row.response_status is None
    assert "timed out" in row.last_error
    run_until_settled(worker, clock)
    row = delivery(db, delivery_id)
    assert row.status == "delivered" and row.attempts == 2
    assert receiver.ids() == [row.webhook_id] * 2


def test_no_database_transaction_is_held_while_the_receiver_answers(
    db, tenant, receiver, worker
) -> None:
    """While the request is out, others can write, even the delivery's own row (SQLite has one
    write lock; PostgreSQL would show the row lock: NOWAIT fails at once)."""
    sub_id, _ = subscribe(db, tenant, receiver)
    delivery_id = send(db, tenant, sub_id)
    meanwhile: list[object] = []

    def write_while_answering(count: int) -> None:
        started = time.monotonic()
        try:
            with unit_of_work(session_factory(db.engine)) as session:
                stmt = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                session.scalars(stmt.with_for_update(nowait=True)).one()
                jobs.enqueue(tenant.ctx(session), "test.noop", key="meanwhile")
            meanwhile.append(time.monotonic() - started)
        except Exception as exc:
            meanwhile.append(exc)

    receiver.on_arrival = write_while_answering
    worker.run_until_idle()
    [took] = meanwhile
    assert isinstance(took, float) and took < 2, took
    assert delivery(db, delivery_id).status == "delivered"


def test_redirects_are_not_followed(db, tenant, receiver, worker) -> None:
    sub_id, _ = subscribe(db, tenant, receiver)
    receiver.redirect(f"http://127.0.0.1:{receiver.port}/elsewhere")
    delivery_id = send(db, tenant, sub_id)
    worker.run_until_idle()
    row = delivery(db, delivery_id)
    assert row.status == "failed" and row.response_status == 302
    assert "redirect" in row.last_error and "not followed" in row.last_error
    assert [a.path for a in receiver.arrivals] == ["/hook"]


def test_a_refused_connection_is_a_failed_attempt(db, tenant, worker) -> None:
    with running_receiver() as gone:
        url = gone.url
    sub_id, _ = subscribe(db, tenant, None, url=url)
    delivery_id = send(db, tenant, sub_id)
    worker.run_until_idle()
    row = delivery(db, delivery_id)
    assert row.status == "failed" and row.attempts == 1 and "connect" in row.last_error


def test_an_inactive_or_deleted_subscription_is_not_sent_to(db, tenant, receiver, worker) -> None:
    sub_id, _ = subscribe(db, tenant, receiver)
    first = send(db, tenant, sub_id, key="a")
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        version = webhooks.get_subscription(ctx, sub_id).version
        webhooks.update_subscription(
            ctx, sub_id, expected_version=version, changes={"active": False}
        )
    worker.run_until_idle()
    row = delivery(db, first)
    assert row.status == "dead" and "inactive" in row.last_error
    assert receiver.arrivals == []
    assert send(db, tenant, sub_id, key="b") is None  # nothing new for an inactive one

    other, _ = subscribe(db, tenant, receiver)
    queued = send(db, tenant, other, key="c")
    with unit_of_work(session_factory(db.engine)) as session:
        webhooks.delete_subscription(tenant.ctx(session), other)
    worker.run_until_idle()
    [job] = jobs_of(db, queued)
    assert job.status == "done" and "no longer exists" in job.result["skipped"]
    assert receiver.arrivals == []


def test_sending_is_idempotent_by_key_and_scoped_to_the_workspace(
    db, tenant, other_tenant, receiver
) -> None:
    sub_id, _ = subscribe(db, tenant, receiver)
    first = send(db, tenant, sub_id, key="rule:1:run:7")
    assert first is not None
    assert send(db, tenant, sub_id, key="rule:1:run:7") == first
    assert send(db, tenant, sub_id, key="x" * 500) == send(db, tenant, sub_id, key="x" * 500)
    assert send(db, other_tenant, sub_id, key="rule:1:run:7") is None
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 2
    assert send(db, tenant, 10**6, key="nope") is None


def test_a_stale_attempt_job_sends_nothing(db, tenant, receiver, worker) -> None:
    """A repeated job (its attempt already recorded) must not send the message again."""
    sub_id, _ = subscribe(db, tenant, receiver)
    delivery_id = send(db, tenant, sub_id)
    worker.run_until_idle()
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        result = webhooks.deliver(ctx, delivery_id=delivery_id, attempt=1, first=1)
    assert "skipped" in result
    assert len(receiver.arrivals) == 1


def test_a_rotated_secret_signs_from_then_on(db, tenant, receiver, worker) -> None:
    sub_id, old = subscribe(db, tenant, receiver)
    with unit_of_work(session_factory(db.engine)) as session:
        new = webhooks.rotate_secret(tenant.ctx(session), sub_id).secret
    assert new != old and new.startswith("whsec_")
    receiver.secrets[:] = [old]
    send(db, tenant, sub_id, key="after-rotation")
    worker.run_until_idle()
    assert receiver.unverified()  # the old secret no longer verifies
    receiver.arrivals.clear()
    receiver.secrets[:] = [new]
    send(db, tenant, sub_id, key="after-rotation-2")
    worker.run_until_idle()
    assert len(receiver.arrivals) == 1 and not receiver.unverified()


# --- refused addresses -------------------------------------------------------------------------

REFUSED_URLS = [
    "http://127.0.0.1:9/hook",
    "http://127.1.2.3/hook",
    "http://10.0.0.1/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://100.64.0.1/hook",
    "http://localhost:8000/hook",
    "http://api.localhost/hook",
]


@pytest.fixture
def no_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Literal addresses and loopback names are judged without asking any resolver."""
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        raise AssertionError(f"{host} should not have been looked up")

    monkeypatch.setattr(sending, "resolve_host", resolver)
    return asked


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_private_addresses_are_refused_unless_allowed(
    db, tenant, url, monkeypatch, no_lookups
) -> None:
    refuse_private(monkeypatch)
    with (
        unit_of_work(session_factory(db.engine)) as session,
        pytest.raises(InvalidInput) as caught,
    ):
        webhooks.create_subscription(tenant.ctx(session), url=url, event_types=["*"])
    [error] = caught.value.errors
    assert error.field == "url" and error.rule == "private-address", error
    assert "TENURE_WEBHOOK_ALLOW_PRIVATE" in error.message
    assert no_lookups == []


def test_every_resolved_address_is_checked(db, tenant, monkeypatch) -> None:
    refuse_private(monkeypatch)
    names = {
        "mixed.example": ["93.184.216.34", "10.1.2.3"],
        "public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
        "nowhere.example": [],
    }
    monkeypatch.setattr(sending, "resolve_host", lambda host, port: names[host])
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        with pytest.raises(InvalidInput) as caught:
            webhooks.create_subscription(ctx, url="https://mixed.example/h", event_types=["*"])
        assert caught.value.errors[0].rule == "private-address"
        assert "10.1.2.3 (private)" in caught.value.errors[0].message
        with pytest.raises(InvalidInput) as caught:
            webhooks.create_subscription(ctx, url="https://nowhere.example/", event_types=["*"])
        assert caught.value.errors[0].rule == "resolve"
        ok = webhooks.create_subscription(ctx, url="https://public.example/h", event_types=["*"])
        assert ok.subscription.id


def test_a_name_rebound_to_a_private_address_is_refused_at_delivery(
    db, tenant, receiver, worker, monkeypatch
) -> None:
    """DNS rebinding: public when checked at creation, loopback when the attempt is made. The
    receiver listens on that loopback port, so any request sent would have arrived there."""
    refuse_private(monkeypatch)
    answers = {"rebind.example": ["93.184.216.34"]}
    monkeypatch.setattr(sending, "resolve_host", lambda host, port: answers[host])
    url = f"http://rebind.example:{receiver.port}/hook"
    sub_id, _ = subscribe(db, tenant, receiver, url=url)
    answers["rebind.example"] = ["127.0.0.1"]
    delivery_id = send(db, tenant, sub_id)
    worker.run_until_idle()
    row = delivery(db, delivery_id)
    assert row.status == "failed" and row.response_status is None
    assert row.last_error.startswith("refused:") and "127.0.0.1 (loopback)" in row.last_error
    assert receiver.arrivals == []


def test_the_request_goes_to_the_checked_address_with_the_name_in_host(
    db, tenant, receiver, worker, monkeypatch
) -> None:
    """No second lookup between the check and the connection: the checked address is used."""
    looked_up: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(sending, "resolve_host", resolver)
    url = f"http://hooks.receiver.example:{receiver.port}/hook"
    sub_id, _ = subscribe(db, tenant, receiver, url=url)
    delivery_id = send(db, tenant, sub_id)
    worker.run_until_idle()
    assert delivery(db, delivery_id).status == "delivered"
    [arrival] = receiver.arrivals
    assert arrival.headers["host"] == f"hooks.receiver.example:{receiver.port}"
    assert looked_up == ["hooks.receiver.example"]  # once, at the attempt (allowed: no check)


def test_url_rules(db, tenant) -> None:
    bad = {
        "ftp://example.com/x": "scheme",
        "example.com/hook": "scheme",
        "http:///nohost": "host",
        "https://user:pw@example.com/": "credentials",
        "https://example.com/#frag": "fragment",
        "https://example.com:99999/": "url",
        "https://exa mple.com/": "url",
    }
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        for url, rule in bad.items():
            with pytest.raises(InvalidInput) as caught:
                webhooks.create_subscription(ctx, url=url, event_types=["*"])
            assert caught.value.errors[0].rule == rule, (url, caught.value.errors)
        with pytest.raises(InvalidInput) as caught:
            webhooks.create_subscription(
                ctx, url="http://127.0.0.1/", event_types=["contact.created", "nope.done"]
            )
        assert [(e.field, e.rule) for e in caught.value.errors] == [("event_types.1", "choice")]
        new = webhooks.create_subscription(
            ctx, url="http://127.0.0.1/", event_types=["contact.created", "*"]
        )
        assert new.subscription.event_types == ["*"]


def test_a_webhook_of_another_workspace_is_not_found(db, tenant, other_tenant) -> None:
    sub_id, _ = subscribe(db, tenant, None, url="http://127.0.0.1:9/")
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = other_tenant.ctx(session)
        for call in (
            lambda: webhooks.get_subscription(ctx, sub_id),
            lambda: webhooks.rotate_secret(ctx, sub_id),
            lambda: webhooks.send_test(ctx, sub_id),
            lambda: webhooks.list_deliveries(ctx, subscription_id=sub_id),
        ):
            with pytest.raises(NotFound):
                call()


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_lists_subscriptions_without_secrets_and_the_delivery_log(
    db, tenant, receiver, worker, monkeypatch
) -> None:
    from tenure.cli.main import app

    sub_id, secret = subscribe(db, tenant, receiver, description="CRM sync")
    send(db, tenant, sub_id)
    worker.run_until_idle()
    monkeypatch.setenv("TENURE_DATABASE_URL", db.url)
    get_settings.cache_clear()
    runner = CliRunner()
    listed = runner.invoke(app, ["webhooks", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert secret not in listed.stdout and "secret" not in listed.stdout
    [item] = json.loads(listed.stdout)["items"]
    assert item["id"] == sub_id and item["description"] == "CRM sync"
    log = runner.invoke(app, ["webhooks", "deliveries", str(sub_id), "--json"])
    assert log.exit_code == 0, log.output
    [entry] = json.loads(log.stdout)["items"]
    assert entry["status"] == "delivered" and entry["webhook_id"] == receiver.ids()[0]
    table = runner.invoke(app, ["webhooks", "deliveries"])
    assert table.exit_code == 0 and "delivered" in table.stdout
    missing = runner.invoke(app, ["webhooks", "deliveries", "999999"])
    assert missing.exit_code == 3
