"""A worker killed (SIGKILL) in the middle of 1,000 emails: every message still arrives, each
with the Message-ID fixed when it was queued; a message can only be repeated if the worker
died between the SMTP server accepting it and the commit, and then under the same id.

Two kill moments: whenever 100 messages have arrived (wherever the worker is), and exactly
inside the window (the SMTP server takes the 100th message and the worker dies before it
reads the "250"), which shows the one duplicate the at-least-once guarantee allows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from tenure.db.models import EmailMessage, Interaction, Job
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.contacts import ContactKind
from tenure.services import contacts, email
from tenure.services.contacts import EmailIn
from tests.fixtures.email.sink import SmtpSink, smtp_settings

TOTAL = 1000
KILL_AT = 100


def _start_worker(db) -> subprocess.Popen:
    env = {**os.environ, "TENURE_DATABASE_URL": db.url}
    args = ["worker", "--batch", "5", "--lease", "2", "--poll", "0.05", "--tick", "3600"]
    return subprocess.Popen(
        [sys.executable, "-m", "tenure.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _count(db, model, *where) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


class KillingSink(SmtpSink):
    """Kills a process the moment it has taken message number ``kill_at``, before answering."""

    victim: subprocess.Popen | None = None
    kill_at: int = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.victim is not None and self.count() == self.kill_at:
            os.kill(self.victim.pid, signal.SIGKILL)
        return answer


@pytest.mark.parametrize("moment", ["any", "in-the-window"])
def test_sigkill_mid_batch_every_email_arrives_under_its_own_message_id(
    db, tenant, moment, capsys
) -> None:
    sink = KillingSink().start()
    try:
        with unit_of_work(session_factory(db.engine)) as session:
            ctx = tenant.ctx(session)
            email.set_smtp_settings(ctx, **smtp_settings(sink.port))
            people = [
                contacts.create_contact(
                    ctx,
                    kind=ContactKind.PERSON,
                    display_name=f"Client {n}",
                    emails=[EmailIn(f"client{n}@example.com")],
                ).contact.id
                for n in range(50)
            ]
            row_ids = [
                email.send(
                    ctx,
                    contact_id=people[i % len(people)],
                    subject=f"Statement {i}",
                    text=f"Your statement number {i}.",
                )
                for i in range(TOTAL)
            ]
        with db.session() as s:
            expected = set(s.scalars(select(EmailMessage.message_id)).all())
        assert len(expected) == TOTAL and None not in row_ids

        victim = _start_worker(db)
        if moment == "in-the-window":
            sink.kill_at, sink.victim = KILL_AT, victim
            assert _wait(lambda: victim.poll() is not None, 180), "the worker was never killed"
        else:
            try:
                assert _wait(lambda: sink.count() >= KILL_AT, 180)
            finally:
                os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        sent_at_kill = _count(db, EmailMessage, EmailMessage.status == "sent")
        in_flight = _count(db, Job, Job.kind == "email.send", Job.status == "running")
        assert sent_at_kill < TOTAL, "the worker finished before it could be killed"

        workers = [_start_worker(db) for _ in range(2 if db.backend == "postgresql" else 1)]
        try:
            done = (Job.kind == "email.send", Job.status == "done")
            assert _wait(lambda: _count(db, Job, *done) == TOTAL, 300)
        finally:
            for w in workers:
                w.terminate()
                w.wait(timeout=30)

        arrived = Counter(sink.message_ids())
        assert set(arrived) == expected  # every message, and nothing else
        duplicates = sum(arrived.values()) - len(arrived)
        repeated = [m for m, n in arrived.items() if n > 1]
        assert duplicates <= in_flight, (duplicates, in_flight)
        assert all(arrived[m] == 2 for m in repeated)
        if moment == "in-the-window":
            assert duplicates == 1  # the message the server took as the worker died
        with capsys.disabled():
            sys.stdout.write(
                f"\n[{db.backend}, kill {moment}] {sent_at_kill} committed at the kill, "
                f"{in_flight} in flight, {duplicates} duplicated: {repeated}\n"
            )

        with db.session() as s:
            statuses = Counter(s.scalars(select(EmailMessage.status)).all())
            per_message = Counter(
                s.scalars(select(Interaction.message_id).where(Interaction.channel == "email"))
            )
        assert statuses == {"sent": TOTAL}
        assert set(per_message) == expected and set(per_message.values()) == {1}
    finally:
        sink.stop()
