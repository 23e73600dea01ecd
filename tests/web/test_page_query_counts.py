"""Page handlers run a constant number of SQL statements whatever the amount of data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.conftest import count_statements


def _grow(db, tenant, contact_id: int, n: int) -> None:
    from tenure.db.uow import session_factory, unit_of_work
    from tenure.domain.activities import ActivityKind
    from tenure.domain.contacts import ContactKind
    from tenure.domain.knowledge import KnowledgeKind
    from tenure.services import activities, commitments, contacts, interactions, knowledge

    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        now = datetime.now(UTC)
        for i in range(n):
            other = contacts.create_contact(
                ctx, kind=ContactKind.PERSON, display_name=f"Filler {i}"
            ).contact.id
            interactions.log_interaction(
                ctx,
                contact_id,
                channel=interactions.Channel.CALL,
                direction=interactions.Direction.OUTBOUND,
                subject=f"call {i}",
                occurred_at=now - timedelta(hours=i + 1),
            )
            activities.create_activity(
                ctx,
                kind=ActivityKind.TASK,
                title=f"task {i}",
                contact_id=contact_id if i % 2 else other,
                due_at=now + timedelta(hours=i - n // 2),
            )
            knowledge.add(ctx, contact_id, kind=KnowledgeKind.FACT, text=f"fact {i}")
            commitments.make(ctx, contact_id, text=f"promise {i}")


def _count(browser, server, path: str) -> int:
    browser.get(path)  # warm: session last-seen and caches
    with count_statements(server.engine) as statements:
        response = browser.get(path)
    assert response.status_code == 200, path
    return len(statements)


def test_today_list_and_client_page_do_not_grow_with_data(browser, server, db, tenant) -> None:
    created = browser.post("/contacts", {"kind": "person", "display_name": "Busy Client"})
    url = created.headers["location"]
    contact_id = int(url.rsplit("/", 1)[1])
    _grow(db, tenant, contact_id, 3)
    small = {p: _count(browser, server, p) for p in ("/", "/contacts", url, "/analytics")}
    _grow(db, tenant, contact_id, 40)
    large = {p: _count(browser, server, p) for p in ("/", "/contacts", url, "/analytics")}
    assert small == large, (small, large)


def test_playbook_pages_do_not_grow_with_runs(browser, server, db, tenant) -> None:
    from tenure.db.uow import session_factory, unit_of_work
    from tenure.domain.contacts import ContactKind
    from tenure.services import contacts, playbooks

    step = {"day": 2, "action": {"type": "create_activity", "kind": "task", "title": "Hi"}}
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = tenant.ctx(session)
        book = playbooks.create_playbook(ctx, name="Onboard", steps=[step] * 3).id
        other = playbooks.create_playbook(ctx, name="Other", steps=[step]).id
        client = contacts.create_contact(ctx, kind=ContactKind.PERSON, display_name="C").contact.id

    def grow(n: int) -> None:
        with unit_of_work(session_factory(db.engine)) as session:
            ctx = tenant.ctx(session)
            for i in range(n):
                someone = contacts.create_contact(
                    ctx, kind=ContactKind.PERSON, display_name=f"Run {i}"
                ).contact.id
                playbooks.start(ctx, playbook_id=book, contact_id=someone)
            for run in playbooks.runs_of_contact(ctx, client):
                playbooks.cancel(ctx, run.run.id)
            playbooks.start(ctx, playbook_id=other, contact_id=client)

    paths = (f"/automation/playbooks/{book}", f"/contacts/{client}", "/automation")
    grow(3)
    small = {p: _count(browser, server, p) for p in paths}
    grow(40)
    large = {p: _count(browser, server, p) for p in paths}
    assert small == large, (small, large)


def test_import_pages_do_not_grow_with_imports(browser, server, db, tenant) -> None:
    from tenure.db.uow import session_factory, unit_of_work
    from tenure.services.imports import drafts
    from tenure.services.imports.jobs import ImportRequest

    content = b"name,email\nAda,ada@example.com\n"

    def grow(n: int) -> int:
        with unit_of_work(session_factory(db.engine)) as session:
            ctx = tenant.ctx(session)
            last = 0
            for i in range(n):
                job = drafts.stage(
                    ctx, content, ImportRequest(), filename=f"f{i}.csv", kind="contacts"
                )
                if i % 2:  # half of them finished, with a report as long as the data
                    job.status, job.options = "done", {}
                    job.report = [
                        {"row": r, "column": "email", "value": "x", "rule": "email", "message": "m"}
                        for r in range(n)
                    ]
                last = job.id
            return last

    grow(3)
    paths = ("/imports", f"/imports/{grow(1)}", f"/imports/{grow(2)}")
    small = {p: _count(browser, server, p) for p in paths}
    grow(30)
    large = {p: _count(browser, server, p) for p in paths}
    assert small == large, (small, large)
