"""The pure webhook rules: URLs, which addresses are off limits, event types, the delivery
table, secrets and ids, the retry schedule."""

from __future__ import annotations

import base64
import ipaddress
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from tenure.domain.errors import InvalidInput, InvalidTransition
from tenure.domain.events import EventType
from tenure.domain.webhooks import (
    ALL_EVENTS,
    DEFAULT_RETRY_SCHEDULE,
    DELIVERY_MOVES,
    DeliveryStatus,
    address_problem,
    can_attempt,
    check_event_types,
    check_retry,
    host_name_problem,
    matches,
    max_attempts,
    new_secret,
    new_webhook_id,
    parse_url,
    refused_addresses,
    retry_delay,
)

KNOWN = [t.value for t in EventType]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:a00:1::", "private"),  # 6to4 around 10.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 around 169.254.169.254
        ("100.64.0.1", "reserved"),  # carrier-grade NAT
        ("240.0.0.1", "private"),
        ("192.0.2.10", "private"),  # documentation
        ("198.18.0.1", "private"),  # benchmarking
    ],
)
def test_addresses_that_are_not_public_are_named(address: str, reason: str) -> None:
    assert address_problem(address) == reason


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "172.32.0.1"]
)
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(address) is None


def test_not_an_address() -> None:
    assert address_problem("example.com") == "not-an-address"


PRIVATE_NETWORKS = [
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16")
]


@given(st.sampled_from(PRIVATE_NETWORKS), st.integers(min_value=0, max_value=2**24 - 1))
def test_every_address_of_the_private_ranges_is_refused(network, offset) -> None:
    address = network[offset % network.num_addresses]
    assert address_problem(str(address)) is not None
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert address_problem(str(mapped)) is not None


def test_one_bad_address_among_good_ones_refuses_the_host() -> None:
    assert refused_addresses("x.example", ["93.184.216.34", "10.0.0.7"]) == [
        ("10.0.0.7", "private")
    ]
    assert refused_addresses("x.example", ["93.184.216.34"]) == []
    assert refused_addresses("LOCALHOST.", []) == [("LOCALHOST.", "loopback")]
    assert host_name_problem("db.localhost") == "loopback"
    assert host_name_problem("localhost.example.com") is None


def test_url_shapes() -> None:
    target = parse_url("  HTTPS://Hooks.Example.com:8443/in?x=1  ")
    assert (target.scheme, target.host, target.port, target.literal) == (
        "https",
        "hooks.example.com",
        8443,
        False,
    )
    assert target.url == "HTTPS://Hooks.Example.com:8443/in?x=1"
    assert parse_url("http://example.com").port == 80
    assert parse_url("https://example.com").port == 443
    assert parse_url("http://[::1]:9/").literal and parse_url("http://[::1]:9/").host == "::1"
    assert parse_url("http://10.0.0.1/").literal


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("", "required"),
        ("ftp://example.com/", "scheme"),
        ("javascript:alert(1)", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("//example.com/x", "scheme"),
        ("http://", "host"),
        ("http://user@example.com/", "credentials"),
        ("http://u:p@example.com/", "credentials"),
        ("http://example.com/#x", "fragment"),
        ("http://example.com:70000/", "url"),
        ("http://example.com/\r\nX-Injected: 1", "url"),
        ("http://example.com/" + "a" * 2000, "length"),
    ],
)
def test_bad_urls_name_the_rule(url: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_url(url)
    [error] = caught.value.errors
    assert (error.field, error.rule) == ("url", rule)


def test_event_types() -> None:
    assert check_event_types(["case.opened", "contact.created", "case.opened"], KNOWN) == [
        "case.opened",
        "contact.created",
    ]
    assert check_event_types(["case.opened", ALL_EVENTS], KNOWN) == [ALL_EVENTS]
    with pytest.raises(InvalidInput) as caught:
        check_event_types([], KNOWN)
    assert caught.value.errors[0].rule == "required"
    with pytest.raises(InvalidInput) as caught:
        check_event_types(["case.opened", "case.eaten", "x"], KNOWN)
    assert [e.field for e in caught.value.errors] == ["event_types.1", "event_types.2"]
    assert matches(["*"], "anything.at_all")
    assert matches(["case.opened"], "case.opened") and not matches(["case.opened"], "case.closed")


def test_the_delivery_table() -> None:
    assert set(DELIVERY_MOVES) == set(DeliveryStatus)
    assert DELIVERY_MOVES[DeliveryStatus.DELIVERED] == frozenset()
    assert can_attempt(DeliveryStatus.PENDING) and can_attempt(DeliveryStatus.FAILED)
    assert not can_attempt(DeliveryStatus.DEAD) and not can_attempt(DeliveryStatus.DELIVERED)
    check_retry(DeliveryStatus.DEAD)
    for status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.DELIVERED):
        with pytest.raises(InvalidTransition):
            check_retry(status)


def test_secrets_follow_the_standard_webhooks_format() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_secret() != secret
    signature = Webhook(secret).sign("msg_1", datetime.now(UTC), "{}")
    assert signature.startswith("v1,")
    with pytest.raises(ValueError):
        new_secret(16)


def test_webhook_ids_are_unique_and_header_safe() -> None:
    ids = {new_webhook_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(i.startswith("msg_") and i.isascii() and " " not in i for i in ids)


def test_the_retry_schedule() -> None:
    assert max_attempts() == len(DEFAULT_RETRY_SCHEDULE) + 1 == 8
    no_jitter = [retry_delay(n, jitter=0) for n in range(1, 8)]
    assert no_jitter == [timedelta(seconds=s) for s in (10, 60, 300, 1800, 7200, 21600, 43200)]
    assert retry_delay(8) is None  # the eighth attempt was the last
    assert retry_delay(1, (5.0,), jitter=0) == timedelta(seconds=5)
    assert retry_delay(2, (5.0,)) is None
    assert retry_delay(1, ()) is None
    with pytest.raises(ValueError):
        retry_delay(0)


@given(st.integers(min_value=1, max_value=7), st.integers(min_value=0, max_value=2**32))
def test_jitter_only_stretches_a_delay_a_little(attempt: int, seed: int) -> None:
    base = DEFAULT_RETRY_SCHEDULE[attempt - 1]
    delay = retry_delay(attempt, rng=random.Random(seed))
    assert delay is not None
    assert base <= delay.total_seconds() <= base * 1.1 + 1e-9
