"""Outgoing email end to end: queued in the caller's transaction, sent by the worker to a real
SMTP server on loopback (aiosmtpd), logged on the timeline with the same Message-ID."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tenure.clock import utcnow
from tenure.db.models import EmailMessage, Interaction, Job, Rule, TimelineEvent
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import Conflict, InvalidInput
from tenure.services import contacts, email, jobs
from tenure.services.contacts import EmailIn
from tenure.worker.registry import load_handlers
from tenure.worker.runner import Worker, WorkerConfig
from tests.fixtures.email.sink import SmtpSink, free_port, smtp_settings


@pytest.fixture
def sink():
    with SmtpSink() as running:
        yield running


def uow(db):
    return unit_of_work(session_factory(db.engine))


def configure(db, tenant, port: int, **overrides) -> None:
    with uow(db) as session:
        email.set_smtp_settings(tenant.ctx(session), **smtp_settings(port, **overrides))


def make_contact(db, tenant, name="Ada Lovelace", address="ada@analytical.example", **fields):
    with uow(db) as session:
        given, _, family = name.partition(" ")
        view = contacts.create_contact(
            tenant.ctx(session),
            kind=ContactKind.PERSON,
            given_name=given,
            family_name=family or None,
            emails=[EmailIn(address, primary=True)] if address else [],
            **fields,
        )
        return view.contact.id


def run_worker(db, clock=None) -> int:
    worker = Worker(
        db.engine,
        WorkerConfig(worker_id="test-worker"),
        handlers=load_handlers(),
        **({"clock": clock} if clock else {}),
    )
    return worker.run_until_idle()


def count(db, model, *where) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_template_email_arrives_with_both_parts_the_brief_and_its_message_id(
    db, tenant, sink
) -> None:
    configure(db, tenant, sink.port)
    contact_id = make_contact(db, tenant, name="Ada <b>&Co</b>")
    with uow(db) as session:
        ctx = tenant.ctx(session)
        template = email.create_template(
            ctx,
            name="Welcome",
            subject="Welcome, {{ contact.first_name }}!\n(ignored line break)",
            text_body=(
                "Hi {{ contact.given_name }},\n"
                "You are a {{ brief.relationship.stage }} in {{ brief.who.timezone }}.\n"
                "Because: {{ trigger.event }}\n"
            ),
            html_body="<p>Hello {{ contact.display_name }}</p><p>{{ trigger.event }}</p>",
        )
        row_id = email.send_template(
            ctx,
            contact_id=contact_id,
            template_id=template.id,
            trigger={"event": "contact.converted"},
            rule_id=None,
        )
    assert row_id is not None
    assert sink.count() == 0  # nothing is sent inside the transaction
    with db.session() as s:
        row = s.get(EmailMessage, row_id)
        assert row.status == "queued" and row.message_id.endswith("@brightbooks.example>")
        job = s.scalars(select(Job).where(Job.key == f"email:{row_id}")).one()
        assert job.kind == "email.send" and job.status == "queued"

    assert run_worker(db) >= 1
    assert sink.count() == 1
    received = sink.received[0]
    message = received.message
    assert received.mail_from == "hello@brightbooks.example"
    assert received.rcpt_tos == ["ada@analytical.example"]
    assert str(message["From"]) == "Bright Books <hello@brightbooks.example>"
    assert message["To"].addresses[0].addr_spec == "ada@analytical.example"
    assert str(message["Subject"]) == "Welcome, Ada! (ignored line break)"
    assert str(message["Message-ID"]) == row.message_id
    assert message["Auto-Submitted"] is None  # not sent by a rule
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hi Ada," in text and "You are a contact in UTC." in text
    assert "Because: contact.converted" in text
    # The HTML part is autoescaped; the text part is not HTML.
    assert "<p>Hello Ada &lt;b&gt;&amp;Co&lt;/b&gt;</p>" in html
    assert "<script" not in html

    with db.session() as s:
        row = s.get(EmailMessage, row_id)
        assert row.status == "sent" and row.sent_at is not None and row.template_id == template.id
        interaction = s.get(Interaction, row.interaction_id)
        assert interaction.contact_id == contact_id
        assert (interaction.channel, interaction.direction) == ("email", "outbound")
        assert interaction.message_id == row.message_id == interaction.thread_id
        assert interaction.subject == "Welcome, Ada! (ignored line break)"
        assert "Hi Ada," in interaction.body
        event = s.scalars(
            select(TimelineEvent).where(
                TimelineEvent.type == "interaction.logged",
                TimelineEvent.subject_id == interaction.id,
            )
        ).one()
        assert event.contact_id == contact_id and event.data["channel"] == "email"
        assert s.get(Job, job.id).status == "done"


def test_a_plain_send_has_one_text_part_and_html_adds_an_alternative(db, tenant, sink) -> None:
    configure(db, tenant, sink.port)
    contact_id = make_contact(db, tenant)
    with uow(db) as session:
        ctx = tenant.ctx(session)
        plain = email.send(ctx, contact_id=contact_id, subject="Just text", text="Hello there")
        both = email.send(
            ctx, contact_id=contact_id, subject="Both", text="Text part", html="<b>HTML</b> part"
        )
        html_only = email.send(
            ctx, contact_id=contact_id, subject="HTML", text="", html="<p>Only</p>"
        )
    run_worker(db)
    by_id = {r.message_id: r.message for r in sink.received}
    with db.session() as s:
        rows = {i: s.get(EmailMessage, i) for i in (plain, both, html_only)}
    first = by_id[rows[plain].message_id]
    assert first.get_content_type() == "text/plain"
    assert first.get_content().strip() == "Hello there"
    second = by_id[rows[both].message_id]
    assert second.get_content_type() == "multipart/alternative"
    assert second.get_body(("plain",)).get_content().strip() == "Text part"
    assert second.get_body(("html",)).get_content().strip() == "<b>HTML</b> part"
    third = by_id[rows[html_only].message_id]
    assert third.get_body(("plain",)).get_content().strip() == "Only"  # derived text part
    assert count(db, Interaction, Interaction.contact_id == contact_id) == 3


def test_do_not_email_no_address_and_no_settings_send_nothing_and_say_why(db, tenant) -> None:
    quiet = make_contact(db, tenant, name="Quiet One", do_not_email=True)
    nowhere = make_contact(db, tenant, name="No Address", address=None)
    reachable = make_contact(db, tenant, name="Reachable", address="r@example.com")
    with uow(db) as session:
        ctx = tenant.ctx(session)
        # Email not set up at all yet.
        assert email.send(ctx, contact_id=reachable, subject="s", text="t") is None
        email.set_smtp_settings(ctx, **smtp_settings(free_port()))
        assert email.send(ctx, contact_id=quiet, subject="s", text="t", rule_id=None) is None
        assert email.send(ctx, contact_id=nowhere, subject="s", text="t") is None
        template = email.create_template(ctx, name="T", subject="Hi", text_body="x")
        assert (
            email.send_template(
                ctx, contact_id=quiet, template_id=template.id, trigger={}, rule_id=None
            )
            is None
        )
        reasons = [(s.contact_id, s.reason.value) for s in email.skipped(ctx)]
        assert reasons == [
            (reachable, "email_not_configured"),
            (quiet, "do_not_email"),
            (nowhere, "no_email_address"),
            (quiet, "do_not_email"),
        ]
        with pytest.raises(Conflict) as refused:
            email.send_to_contact(ctx, contact_id=quiet, subject="s", text="t")
        assert refused.value.details == {"reason": "do_not_email"}
    assert count(db, EmailMessage) == 0
    assert count(db, Job, Job.kind == "email.send") == 0


def test_a_contact_marked_do_not_email_after_queueing_is_not_emailed(db, tenant, sink) -> None:
    configure(db, tenant, sink.port)
    contact_id = make_contact(db, tenant)
    with uow(db) as session:
        row_id = email.send(tenant.ctx(session), contact_id=contact_id, subject="s", text="t")
    with uow(db) as session:
        ctx = tenant.ctx(session)
        version = contacts.get_contact(ctx, contact_id).contact.version
        contacts.update_contact(
            ctx, contact_id, expected_version=version, changes={"do_not_email": True}
        )
    run_worker(db)
    assert sink.count() == 0
    with db.session() as s:
        row = s.get(EmailMessage, row_id)
        assert row.status == "failed" and "do-not-email" in row.error
    assert count(db, Interaction) == 0


def test_a_rolled_back_change_queues_no_email(db, tenant, sink) -> None:
    configure(db, tenant, sink.port)
    contact_id = make_contact(db, tenant)
    with pytest.raises(RuntimeError), uow(db) as session:
        email.send(tenant.ctx(session), contact_id=contact_id, subject="s", text="t")
        raise RuntimeError("the change failed")
    run_worker(db)
    assert count(db, EmailMessage) == 0 and count(db, Job, Job.kind == "email.send") == 0
    assert sink.count() == 0


def _run_until_dead(db, job_id: int) -> int:
    now = [utcnow()]
    runs = 0
    for _ in range(20):
        runs += run_worker(db, clock=lambda: now[0])
        with db.session() as s:
            if s.get(Job, job_id).status == "dead":
                return runs
        now[0] += timedelta(hours=2)
    raise AssertionError("the job never died")


@pytest.mark.parametrize("failure", ["550", "down"])
def test_smtp_failures_retry_then_die_and_nothing_is_logged_as_sent(db, tenant, failure) -> None:
    refusing = SmtpSink(refuse="550 5.1.1 <ada@analytical.example>: no such user").start()
    port = refusing.port
    if failure == "down":
        refusing.stop()  # nothing listens on the port any more
    try:
        configure(db, tenant, port)
        contact_id = make_contact(db, tenant)
        with uow(db) as session:
            row_id = email.send(tenant.ctx(session), contact_id=contact_id, subject="s", text="t")
        with db.session() as s:
            job_id = s.scalars(select(Job.id).where(Job.key == f"email:{row_id}")).one()
        runs = _run_until_dead(db, job_id)
        with db.session() as s:
            job = s.get(Job, job_id)
            assert runs == job.attempts == job.max_attempts == 8
            expected = "550" if failure == "550" else "Connection refused"
            assert expected in job.last_error, job.last_error
            row = s.get(EmailMessage, row_id)
            assert row.status == "queued" and row.sent_at is None and row.interaction_id is None
        assert count(db, Interaction) == 0
        assert refusing.count() == 0
        with uow(db) as session:
            view = email.get_email(tenant.ctx(session), row_id)
            assert view.status == "failed" and expected in view.error and view.attempts == 8
    finally:
        refusing.stop()

    # The server is fixed; the dead job is retried by hand and the email goes out once.
    with SmtpSink(port=port) as fixed:
        with uow(db) as session:
            jobs.retry(tenant.ctx(session), job_id)
        run_worker(db)
        assert [r.message_id for r in fixed.received] == [row.message_id]
    with db.session() as s:
        assert s.get(EmailMessage, row_id).status == "sent"
    assert count(db, Interaction) == 1


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_worker_logs_in_when_credentials_are_set(db, tenant) -> None:
    with SmtpSink(credentials=("mailer", "s3cret pass")) as server:
        configure(db, tenant, server.port, username="mailer", password="s3cret pass")
        contact_id = make_contact(db, tenant)
        with uow(db) as session:
            email.send(tenant.ctx(session), contact_id=contact_id, subject="s", text="t")
        run_worker(db)
        assert server.logins == ["mailer"] and server.count() == 1


def test_rule_emails_carry_the_rule_and_the_loop_guard(db, tenant, sink) -> None:
    configure(db, tenant, sink.port)
    contact_id = make_contact(db, tenant)
    with uow(db) as session:
        rule = Rule(
            workspace_id=tenant.workspace_id,
            name="Welcome on conversion",
            enabled=False,
            trigger={"kind": "event", "event_type": "contact.converted"},
            conditions={},
            actions=[],
        )
        session.add(rule)
        session.flush()
        ctx = tenant.ctx(session)
        ctx.automation = {"rule_id": rule.id, "depth": 1}
        row_id = email.send(ctx, contact_id=contact_id, subject="Hi", text="t", rule_id=rule.id)
        rule_id = rule.id
    run_worker(db)
    assert str(sink.received[0].message["Auto-Submitted"]) == "auto-generated"
    with db.session() as s:
        row = s.get(EmailMessage, row_id)
        assert row.rule_id == rule_id
        event = s.scalars(
            select(TimelineEvent).where(
                TimelineEvent.type == "interaction.logged",
                TimelineEvent.subject_id == row.interaction_id,
            )
        ).one()
        # The interaction.logged event says which rule caused it: no rule retriggers itself.
        assert event.data["automation"] == {"rule_id": rule_id, "depth": 1}


def test_a_members_one_off_email_is_authored_by_them(db, tenant, sink) -> None:
    configure(db, tenant, sink.port)
    contact_id = make_contact(db, tenant)
    member = tenant.member(Role.MEMBER)  # before the transaction: SQLite has one writer
    with uow(db) as session:
        row = email.send_to_contact(
            tenant.ctx(session, Role.MEMBER), contact_id=contact_id, subject="Hi", text="t"
        )
    run_worker(db)
    with db.session() as s:
        interaction = s.get(Interaction, s.get(EmailMessage, row.id).interaction_id)
        assert interaction.author_id == member.user_id


def test_a_test_email_goes_to_the_admin_who_asks(db, tenant, sink) -> None:
    configure(db, tenant, sink.port)
    with uow(db) as session:
        row = email.send_test(tenant.ctx(session))
    run_worker(db)
    assert sink.received[0].rcpt_tos == [tenant.owner.email]
    assert str(sink.received[0].message["Subject"]) == "Tenure test email"
    with db.session() as s:
        assert s.get(EmailMessage, row.id).status == "sent"
    assert count(db, Interaction) == 0


# --- templates: errors at save time, the sandbox ----------------------------------------------


def _save_error(db, tenant, **fields) -> dict[str, str]:
    values = {"name": "T", "subject": "Hi", "text_body": "Body", **fields}
    with pytest.raises(InvalidInput) as caught, uow(db) as session:
        email.create_template(tenant.ctx(session), **values)
    return {e.field: e.rule for e in caught.value.errors}


def test_template_errors_name_the_field_at_save_time(db, tenant) -> None:
    assert _save_error(db, tenant, subject="{{ contact.display_name ") == {
        "subject": "template-syntax"
    }
    assert _save_error(db, tenant, text_body="{{ contact.nickname }}") == {
        "text_body": "template-undefined"
    }
    assert _save_error(db, tenant, html_body="{{ brief.who.shoe_size }}") == {
        "html_body": "template-undefined"
    }
    assert _save_error(db, tenant, text_body="{{ nope }}", html_body="{% if %}") == {
        "text_body": "template-undefined",
        "html_body": "template-syntax",
    }
    # The trigger's shape depends on the rule: anything goes at save time …
    with uow(db) as session:
        email.create_template(
            tenant.ctx(session),
            name="Renewal",
            subject="Renews {{ trigger.agreement.renews_on }}",
            text_body="{% if trigger.days > 3 %}{{ trigger.days + 1 }}{% endif %}",
        )
    assert count(db, __import__("tenure.db.models", fromlist=["x"]).EmailTemplate) == 1


def test_trigger_fields_are_checked_when_sending(db, tenant) -> None:
    contact_id = make_contact(db, tenant)
    with uow(db) as session:
        ctx = tenant.ctx(session)
        email.set_smtp_settings(ctx, **smtp_settings(free_port()))
        template = email.create_template(
            ctx, name="Renewal", subject="Renews {{ trigger.renews_on }}", text_body="x"
        )
        template_id = template.id
    # … and a trigger without the field is an error naming the template and the field.
    with pytest.raises(InvalidInput) as caught, uow(db) as session:
        email.send_template(
            tenant.ctx(session),
            contact_id=contact_id,
            template_id=template_id,
            trigger={},
            rule_id=None,
        )
    assert [(e.field, e.rule) for e in caught.value.errors] == [
        ("template[Renewal].subject", "template-undefined")
    ]
    assert count(db, EmailMessage) == 0


ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ contact.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ self._TemplateReference__context.environment }}",
    "{{ contact.emails.append('x') }}",
    "{{ contact.update({'email': 'evil@example.com'}) }}",
    "{{ '{0.__class__}'.format(contact) }}",
    "{{ 'x' * 100000000 }}",
    "{{ 2 ** 100000 }}",
    "{{ '%99999999s' % 'x' }}",
    "{{ 'x'|center(999999999) }}",
    "{{ 'x'.ljust(999999999) }}",
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}",
    "{% set a = 'x' * 900000 %}{{ a ~ a }}",
    "{{ range(100000)|join('x' * 1000) }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_and_resource_bombs_are_refused(db, tenant, source) -> None:
    errors = _save_error(db, tenant, text_body=source)
    assert errors == {"text_body": "template-unsafe"}, errors


@pytest.mark.parametrize("source", ["{% set ns = namespace(n=0) %}", "{{ lipsum(5) }}"])
def test_loop_state_and_lipsum_are_not_available(db, tenant, source) -> None:
    assert _save_error(db, tenant, text_body=source) == {"text_body": "template-undefined"}
