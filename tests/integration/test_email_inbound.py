"""Inbound email: raw RFC 5322 messages (the fixtures, and nastier ones) become interactions
on the matched contacts, threads are kept, duplicates and strangers write nothing, and
`tenure email import` does the same from .eml and .mbox files."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import get_settings
from tenure.db.models import EmailMessage, Interaction
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import InvalidInput
from tenure.services import access, contacts, email
from tenure.services.contacts import EmailIn
from tenure.worker.registry import load_handlers
from tenure.worker.runner import Worker, WorkerConfig
from tests.fixtures.email.sink import FIXTURES, SmtpSink, fixture, smtp_settings


def uow(db):
    return unit_of_work(session_factory(db.engine))


def make_contact(db, tenant, name: str, *addresses: str) -> int:
    with uow(db) as session:
        view = contacts.create_contact(
            tenant.ctx(session),
            kind=ContactKind.PERSON,
            display_name=name,
            emails=[EmailIn(a) for a in addresses],
        )
        return view.contact.id


@pytest.fixture
def people(db, tenant) -> dict[str, int]:
    """The fixtures' cast: two clients' people, and Sam, a member of the business."""
    with uow(db) as session:
        ctx = tenant.ctx(session)
        email.set_smtp_settings(ctx, **smtp_settings(2525))
        access.add_member(ctx, email="sam@brightbooks.example", role=Role.MEMBER, name="Sam")
    return {
        "margaret": make_contact(db, tenant, "Margaret Okafor", "margaret@okafordental.example"),
        "tomas": make_contact(db, tenant, "Tomás García López", "tomas@estudioverde.example"),
        "accounts": make_contact(
            db, tenant, "Estudio Verde accounts", "accounts@estudioverde.example"
        ),
    }


def receive(db, tenant, raw: bytes):
    with uow(db) as session:
        return email.receive(tenant.ctx(session), raw)


def interactions_of(db, contact_id: int) -> list[Interaction]:
    with db.session() as s:
        return list(
            s.scalars(
                select(Interaction)
                .where(Interaction.contact_id == contact_id)
                .order_by(Interaction.occurred_at)
            ).all()
        )


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_a_plain_message_is_logged_inbound_at_its_date(db, tenant, people) -> None:
    result = receive(db, tenant, fixture("01-plain.eml"))
    assert not result.duplicate
    assert [(m.contact_id, m.direction) for m in result.matched] == [
        (people["margaret"], "inbound")
    ]
    [logged] = interactions_of(db, people["margaret"])
    assert (logged.channel, logged.direction) == ("email", "inbound")
    assert logged.subject == "November figures"
    assert logged.body.startswith("Hi both,\n\nThe November figures for the York site")
    assert logged.occurred_at == datetime(2026, 11, 10, 14, 32, 5, tzinfo=UTC)
    assert logged.message_id == logged.thread_id == "<CAF1234abcd@mail.okafordental.example>"
    assert logged.participants == [
        "Margaret Okafor <margaret@okafordental.example>",
        "Bright Books <hello@brightbooks.example>",
    ]
    with db.session() as s:
        row = s.scalars(select(EmailMessage)).one()
        assert (row.direction, row.status, row.contact_id) == (
            "inbound",
            "received",
            people["margaret"],
        )
        assert row.interaction_id == logged.id


def test_utf8_headers_are_decoded_text_is_preferred_and_every_matched_contact_gets_it(
    db, tenant, people
) -> None:
    result = receive(db, tenant, fixture("02-multipart-utf8.eml"))
    # The sender first, then the Cc'd contact; Sam (a member, not a contact) matches nothing.
    assert [m.contact_id for m in result.matched] == [people["tomas"], people["accounts"]]
    for who in ("tomas", "accounts"):
        [logged] = interactions_of(db, people[who])
        assert logged.subject == "Re: Presupuesto 2027 \u2013 ¿revisamos?"
        assert logged.body == (
            "Hola Sam,\n\n¿Podemos revisar el presupuesto de 2027 la semana que viene? "
            "Prefiero videollamada.\n\nTomás"
        )
        assert "<div" not in logged.body  # the text/plain part, not the HTML one
        assert logged.participants[0] == "Tomás García López <tomas@estudioverde.example>"
        assert logged.occurred_at == datetime(2026, 11, 12, 8, 5, 41, tzinfo=UTC)
        assert logged.direction == "inbound"


def test_a_reply_keeps_the_thread_and_a_members_copy_is_outbound(db, tenant, people) -> None:
    receive(db, tenant, fixture("01-plain.eml"))
    reply = receive(db, tenant, fixture("03-reply-thread.eml"))
    # Sam is a member: his reply, BCC'd to the inbound address, is the business writing.
    assert [(m.contact_id, m.direction) for m in reply.matched] == [
        (people["margaret"], "outbound")
    ]
    first, second = interactions_of(db, people["margaret"])
    assert second.message_id == "<reply-77@brightbooks.example>"
    assert first.thread_id == second.thread_id == "<CAF1234abcd@mail.okafordental.example>"
    assert second.subject == "Re: November figures" and "Thanks — received." in second.body
    with db.session() as s:
        row = s.scalars(
            select(EmailMessage).where(EmailMessage.message_id == second.message_id)
        ).one()
        assert row.in_reply_to == "<CAF1234abcd@mail.okafordental.example>"


def test_a_duplicate_message_id_is_ignored(db, tenant, people) -> None:
    receive(db, tenant, fixture("01-plain.eml"))
    again = receive(db, tenant, fixture("01-plain.eml"))
    assert again.duplicate and again.matched == []
    assert len(interactions_of(db, people["margaret"])) == 1
    assert count(db, EmailMessage) == 1


def test_two_deliveries_racing_past_the_check_still_log_once(
    db, tenant, people, monkeypatch
) -> None:
    """Both requests saw no row yet; the Message-ID claim (ON CONFLICT DO NOTHING) decides."""
    from tenure.db.repositories.email import EmailMessageRepository

    monkeypatch.setattr(EmailMessageRepository, "by_message_id", lambda self, message_id: None)
    with uow(db) as session:
        ctx = tenant.ctx(session)
        first = email.receive(ctx, fixture("01-plain.eml"))
        second = email.receive(ctx, fixture("01-plain.eml"))
    assert not first.duplicate and second.duplicate and second.matched == []
    assert len(interactions_of(db, people["margaret"])) == 1


def test_an_unmatched_message_writes_nothing(db, tenant) -> None:
    result = receive(db, tenant, fixture("01-plain.eml"))
    assert not result.duplicate and result.matched == []
    assert count(db, EmailMessage) == 0 and count(db, Interaction) == 0
    # Once the contact exists, the same message imports.
    margaret = make_contact(db, tenant, "Margaret", "margaret@okafordental.example")
    assert [m.contact_id for m in receive(db, tenant, fixture("01-plain.eml")).matched] == [
        margaret
    ]


def test_html_only_latin1_is_turned_into_text(db, tenant, people) -> None:
    receive(db, tenant, fixture("04-html-only-latin1.eml"))
    [logged] = interactions_of(db, people["margaret"])  # matched despite the address's case
    assert logged.subject == "Café résumé and a very long folded subject line"
    assert logged.body == "Café & croissants at 10?\n\nSecond line <not a tag>\n\none\n\ntwo"
    assert "alert" not in logged.body and "color" not in logged.body
    assert logged.occurred_at == datetime(2026, 11, 11, 13, 0, tzinfo=UTC)


def test_no_message_id_and_a_future_date(db, tenant, people) -> None:
    before = datetime.now(UTC)
    first = receive(db, tenant, fixture("05-no-message-id-future-date.eml"))
    assert first.message_id.endswith("@generated.tenure.invalid>")
    assert {m.contact_id for m in first.matched} == {people["tomas"], people["accounts"]}
    [logged] = interactions_of(db, people["tomas"])
    assert before <= logged.occurred_at <= datetime.now(UTC)  # clamped to now, not 2039
    # The generated id is stable, so the same bytes are still a duplicate.
    assert receive(db, tenant, fixture("05-no-message-id-future-date.eml")).duplicate


def test_broken_headers_are_read_leniently(db, tenant, people) -> None:
    result = receive(db, tenant, fixture("06-broken-headers.eml"))
    assert {m.contact_id for m in result.matched} == {people["tomas"], people["accounts"]}
    [logged] = interactions_of(db, people["tomas"])
    assert logged.body == "Hello from a broken message!"  # unknown charset: read as UTF-8
    assert logged.thread_id == "<ref-1-xxxxxxxxxxxxxxxxxxxx@example>"
    assert logged.occurred_at <= datetime.now(UTC)  # an unreadable Date is "now"


def test_attachments_and_forwarded_messages_are_not_the_body(db, tenant, people) -> None:
    receive(db, tenant, fixture("07-mixed-attachment-forward.eml"))
    [logged] = interactions_of(db, people["margaret"])
    assert logged.body == (
        "See the invoice below — the total looks wrong to me (€1 200, not €12 000)."
    )


def test_a_reply_that_arrives_before_its_parent_shares_its_thread(db, tenant, people) -> None:
    child = receive(db, tenant, fixture("08-reply-before-parent.eml"))
    parent = receive(db, tenant, fixture("09-parent-arrives-late.eml"))
    assert child.thread_id == parent.thread_id == "<parent-9@brightbooks.example>"


def test_oversized_ids_and_subjects_and_nul_bytes_fit_the_columns(db, tenant, people) -> None:
    first = receive(db, tenant, fixture("10-oversized-fields.eml"))
    assert len(first.message_id) <= 300 and first.message_id.endswith("@hashed.tenure.invalid>")
    [logged] = interactions_of(db, people["margaret"])
    assert len(logged.subject) == 500 and "\0" not in logged.body
    assert receive(db, tenant, fixture("10-oversized-fields.eml")).duplicate


def test_a_reply_to_an_email_tenure_sent_joins_its_thread(db, tenant, people) -> None:
    with SmtpSink() as sink:
        with uow(db) as session:
            ctx = tenant.ctx(session)
            email.set_smtp_settings(ctx, **smtp_settings(sink.port))
            email.send(ctx, contact_id=people["margaret"], subject="Your figures", text="Hi")
        Worker(db.engine, WorkerConfig(worker_id="w"), handlers=load_handlers()).run_until_idle()
        sent = sink.received[0].raw
    sent_id = sink.received[0].message_id
    # The copy of what we sent, forwarded back to the inbound address: a duplicate.
    assert receive(db, tenant, sent).duplicate
    reply = (
        f"Message-ID: <answer-1@okafordental.example>\r\nIn-Reply-To: {sent_id}\r\n"
        f"References: {sent_id}\r\nFrom: margaret@okafordental.example\r\n"
        "To: hello@brightbooks.example\r\nSubject: Re: Your figures\r\n\r\nThanks!\r\n"
    ).encode()
    answer = receive(db, tenant, reply)
    assert answer.thread_id == sent_id
    outbound, inbound = interactions_of(db, people["margaret"])
    assert (outbound.direction, inbound.direction) == ("outbound", "inbound")
    assert outbound.thread_id == inbound.thread_id == sent_id


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "message"),
        (b"   \r\n  ", "message"),
        (b"\x00\x01\x02\xff\xfe binary garbage", "message"),
        (b"Subject: no sender\r\n\r\nbody", "from"),
        (b"From: not an address\r\n\r\nbody", "from"),
    ],
)
def test_malformed_messages_are_refused_naming_the_problem(db, tenant, raw, field) -> None:
    with pytest.raises(InvalidInput) as caught:
        receive(db, tenant, raw)
    assert caught.value.errors[0].field == field
    assert count(db, EmailMessage) == 0


def test_random_bytes_never_crash_the_parser(db, tenant, people) -> None:
    """Mutated fixtures and noise: a clear InvalidInput or a result, never anything else."""
    rng = random.Random(5)
    seeds = [fixture(p.name) for p in sorted(FIXTURES.glob("*.eml"))]
    for _ in range(300):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 30)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        if rng.random() < 0.2:
            raw = bytearray(rng.randbytes(rng.randint(0, 400)))
        try:
            with uow(db) as session:
                email.receive(tenant.ctx(session), bytes(raw))
        except InvalidInput:
            pass


def test_viewers_cannot_log_email(db, tenant, people) -> None:
    from tenure.domain.errors import PermissionDenied

    tenant.member(Role.VIEWER)
    with pytest.raises(PermissionDenied), uow(db) as session:
        email.receive(tenant.ctx(session, Role.VIEWER), fixture("01-plain.eml"))


# --- tenure email import -----------------------------------------------------------------------


@pytest.fixture
def cli(db, monkeypatch):
    monkeypatch.setenv("TENURE_DATABASE_URL", db.url)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.output, result.exception)
        return result.stdout

    yield run
    get_settings.cache_clear()


def test_import_an_eml_then_an_mbox(cli, db, tenant, people, tmp_path) -> None:
    out = cli("email", "import", str(FIXTURES / "01-plain.eml"), "--workspace", "acme")
    assert "1 imported (1 interactions), 0 duplicates, 0 unmatched, 0 rejected" in out
    report = json.loads(
        cli("email", "import", str(FIXTURES / "archive.mbox"), "--workspace", "acme", "--json")
    )
    assert report == {
        "imported": 1,
        "duplicates": 1,
        "unmatched": 1,
        "rejected": 0,
        "interactions": 1,
        "errors": [],
    }
    bodies = [i.body for i in interactions_of(db, people["margaret"])]
    assert 'From the start, this line begins with "From " and is escaped in the mbox.' in bodies
    # A broken message in a mailbox is counted and reported; the others still import.
    mixed = tmp_path / "mixed.mbox"
    mixed.write_bytes(
        b"From x Mon Nov 16 09:00:00 2026\nSubject: no sender at all\n\nbody\n\n"
        b"From x Mon Nov 16 09:00:00 2026\n" + fixture("02-multipart-utf8.eml") + b"\n"
    )
    report = json.loads(cli("email", "import", str(mixed), "--json", code=2))
    assert (report["imported"], report["rejected"]) == (1, 1)
    assert report["errors"] == ["message 1: from: the message has no From address"]
    cli("email", "import", str(tmp_path / "missing.eml"), code=2)
