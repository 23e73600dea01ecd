"""The demo workspace: its size, a history that obeys every rule, determinism, reloading, and
`tenure demo` end to end."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tenure.cli.main import app
from tenure.config import get_settings
from tenure.db.engine import make_engine
from tenure.db.models import (
    Affiliation,
    Agreement,
    Base,
    Case,
    Commitment,
    Contact,
    Delivery,
    Interaction,
    Job,
    KnowledgeEntry,
    Membership,
    PlaybookRun,
    Rule,
    Schedule,
    Service,
    TimelineEvent,
    Transition,
    User,
    Workspace,
)
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import InvalidInput, NotAuthenticated
from tenure.domain.events import EventType
from tenure.domain.lifecycle import Stage, TransitionFact, replay
from tenure.services import access
from tenure.services import contacts as contact_service
from tenure.services.demo import DEMO_OWNER_EMAIL, DEMO_PASSWORD, DemoResult, load_demo
from tests.conftest import Database, make_tenant

#: A fixed day, so the history (and the digest) does not depend on when the tests run.
TODAY = date(2026, 11, 27)
DEMO_MIDNIGHT = datetime.combine(TODAY, time.min, tzinfo=ZoneInfo("Europe/London"))


def _load(db: Database, *, seed: int = 7, replace: bool = False) -> DemoResult:
    with unit_of_work(session_factory(db.engine)) as session:
        return load_demo(session, seed=seed, today=TODAY, replace=replace)


def _of(session: Session, model: Any, workspace_id: int) -> list[Any]:
    return list(session.scalars(select(model).where(model.workspace_id == workspace_id)).all())


def test_demo_has_the_promised_shape_and_a_legal_history(db: Database) -> None:
    result = _load(db)
    counts = result.counts
    assert result.slug == "demo"
    assert result.owner_email == DEMO_OWNER_EMAIL
    assert result.password == DEMO_PASSWORD
    assert 180 <= counts.contacts <= 220
    assert 70 <= counts.clients <= 90
    assert 20 <= counts.former_clients <= 30
    assert 6 <= counts.reactivations <= 10
    assert counts.agreements >= 150
    assert counts.interactions >= 800
    assert counts.events > counts.interactions + counts.contacts

    with db.session() as session:
        ws = result.workspace_id
        workspace = session.get(Workspace, ws)
        assert workspace is not None
        assert (workspace.name, workspace.timezone) == ("Northwind Accounting", "Europe/London")
        roles = sorted(m.role for m in _of(session, Membership, ws))
        assert roles == ["admin", "member", "owner", "viewer"]

        contacts = _of(session, Contact, ws)
        assert len(contacts) == counts.contacts
        kinds = defaultdict(int)
        for c in contacts:
            kinds[c.kind] += 1
        assert 30 <= kinds["organization"] <= 50
        assert 140 <= kinds["person"] <= 180
        assert len({c.owner_id for c in contacts}) >= 3
        assert all(
            re.fullmatch(r"\+[1-9]\d{7,14}", p["number"]) for c in contacts for p in c.phones
        )
        assert sum(1 for c in contacts if c.address) >= 100
        tags = {t for c in contacts for t in c.tags}
        assert {"vip", "retainer", "payroll", "tax", "referral"} <= tags
        assert len(_of(session, Affiliation, ws)) >= 50

        # Every contact's stage (and the fields derived from it) is the replay of its history.
        history: dict[int, list[Transition]] = defaultdict(list)
        for t in sorted(_of(session, Transition, ws), key=lambda t: (t.effective_on, t.id)):
            history[t.contact_id].append(t)
        spells_by_contact = {}
        for c in contacts:
            standing = replay(
                TransitionFact(Stage(t.from_stage), Stage(t.to_stage), t.effective_on)
                for t in history[c.id]
            )
            assert standing.stage.value == c.stage, c.display_name
            assert standing.client_since == c.client_since, c.display_name
            assert standing.closed_days == c.closed_tenure_days, c.display_name
            spells_by_contact[c.id] = standing.spells
        returned = [cid for cid, spells in spells_by_contact.items() if len(spells) >= 2]
        assert len(returned) == counts.reactivations
        stages = [c.stage for c in contacts]
        assert stages.count("client") == counts.clients
        assert stages.count("former_client") == counts.former_clients

        reasons = {t.reason for ts in history.values() for t in ts if t.to_stage == "former_client"}
        assert len(reasons) >= 5
        assert "agreement_ended" in reasons
        assert all(t.effective_on < TODAY for ts in history.values() for t in ts)

        agreements = _of(session, Agreement, ws)
        assert {a.status for a in agreements} == {"draft", "active", "ended", "cancelled"}
        assert {a.kind for a in agreements} == {"engagement", "contract", "subscription", "one_off"}
        assert {"monthly", "quarterly", "yearly", "one_off"} <= {
            a.billing_period for a in agreements
        }
        assert all(a.currency == "GBP" and (a.value_minor or 0) > 0 for a in agreements)
        # Every client holds an active agreement; nobody else does.
        holders = {a.contact_id for a in agreements if a.status == "active"}
        assert holders == {c.id for c in contacts if c.stage == "client"}

        interactions = _of(session, Interaction, ws)
        assert {i.channel for i in interactions} == {
            "email",
            "call",
            "meeting",
            "message",
            "visit",
            "note",
        }
        assert {i.direction for i in interactions} == {"inbound", "outbound", "internal"}
        per_contact: dict[int, int] = defaultdict(int)
        for i in interactions:
            per_contact[i.contact_id] += 1
        ever_clients = [c for c in contacts if history[c.id]]
        others = [c for c in contacts if not history[c.id]]
        client_average = sum(per_contact[c.id] for c in ever_clients) / len(ever_clients)
        other_average = sum(per_contact[c.id] for c in others) / len(others)
        assert 6 <= client_average <= 16
        assert other_average < client_average / 2
        first_day = datetime.combine(
            date(TODAY.year - 2, TODAY.month, TODAY.day), time.min, tzinfo=UTC
        )
        assert all(first_day <= i.occurred_at < DEMO_MIDNIGHT for i in interactions)
        for c in contacts:
            mine = [i.occurred_at for i in interactions if i.contact_id == c.id]
            assert c.last_interaction_at == (max(mine) if mine else None)

        # The timeline is the history: recorded when it happened, one stage event per move.
        events = _of(session, TimelineEvent, ws)
        assert len(events) == counts.events
        assert all(e.recorded_at < DEMO_MIDNIGHT for e in events)
        stage_events = [
            e
            for e in events
            if e.type
            in {
                EventType.CONTACT_CONVERTED,
                EventType.CONTACT_REACTIVATED,
                EventType.RELATIONSHIP_ENDED,
            }
        ]
        assert len(stage_events) == sum(len(ts) for ts in history.values())
        assert sum(e.type == EventType.CONTACT_REACTIVATED for e in events) == counts.reactivations
        assert sum(e.type == EventType.INTERACTION_LOGGED for e in events) == len(interactions)

        principal = access.authenticate_token(session, result.token)
        assert principal.workspace.id == ws
        assert principal.user.email == DEMO_OWNER_EMAIL
        assert principal.role == "owner"

        _assert_the_present(session, ws, contacts, events)


def _assert_the_present(
    session: Session, ws: int, contacts: list[Contact], events: list[TimelineEvent]
) -> None:
    """The weeks around today: plans with past work done and next weeks booked, a few double
    bookings, cases in every status and priority, knowledge, promises, and automation
    installed after the history with onboarding runs under way."""
    clients = {c.id for c in contacts if c.stage == "client"}
    assert len(_of(session, Service, ws)) >= 6
    plans = _of(session, Schedule, ws)
    assert len({p.contact_id for p in plans}) >= len(clients) // 4
    assert {p.contact_id for p in plans} <= clients
    work = _of(session, Delivery, ws)
    past = [d for d in work if d.scheduled_start < DEMO_MIDNIGHT]
    ahead = [d for d in work if d.scheduled_start >= DEMO_MIDNIGHT]
    assert {d.status for d in past} == {"delivered", "no_show", "cancelled"}
    assert sum(d.status == "delivered" for d in past) >= 30
    assert ahead and all(d.status == "scheduled" for d in ahead)
    overlapping = {
        (a.id, b.id)
        for a in ahead
        for b in ahead
        if a.id < b.id
        and a.assignee_id == b.assignee_id
        and a.scheduled_start < (b.scheduled_end or b.scheduled_start)
        and b.scheduled_start < (a.scheduled_end or a.scheduled_start)
    }
    assert 1 <= len(overlapping) <= 10
    support = _of(session, Case, ws)
    assert {(c.status, c.priority) for c in support} == {
        (s, p)
        for s in ("open", "pending", "resolved", "closed")
        for p in ("low", "normal", "high", "urgent")
    }
    assert all(c.first_response_at for c in support if c.status != "open")
    assert len({k.contact_id for k in _of(session, KnowledgeEntry, ws)}) >= 20
    assert {c.status for c in _of(session, Commitment, ws)} >= {"open", "kept"}

    # Automation came after the history, so nothing in it was dispatched to a rule.
    rules = _of(session, Rule, ws)
    assert len(rules) >= 4 and all(r.enabled for r in rules)
    assert min(r.created_at for r in rules) >= max(e.recorded_at for e in events)
    jobs = _of(session, Job, ws)
    assert {j.kind for j in jobs} == {"playbook.step"}
    runs = _of(session, PlaybookRun, ws)
    assert {r.status for r in runs} == {"running", "completed", "cancelled"}
    running = [r for r in runs if r.status == "running"]
    assert len(running) >= 3 and any(r.steps_done for r in running)
    assert {r.contact_id for r in runs} <= clients


def _digest(db: Database, workspace_id: int) -> str:
    """What a person sees of the demo, without ids or wall-clock times."""
    with db.session() as session:
        names = {c.id: c.display_name for c in _of(session, Contact, workspace_id)}
        rows = {
            "contacts": sorted(
                (c.display_name, c.kind, c.stage, str(c.client_since), c.emails, c.phones, c.tags)
                for c in _of(session, Contact, workspace_id)
            ),
            "agreements": sorted(
                (names[a.contact_id], a.title, a.status, a.value_minor, str(a.starts_on))
                for a in _of(session, Agreement, workspace_id)
            ),
            "interactions": sorted(
                (names[i.contact_id], i.occurred_at.isoformat(), i.subject, i.body)
                for i in _of(session, Interaction, workspace_id)
            ),
            "deliveries": sorted(
                (names[d.contact_id], d.title, d.status, d.scheduled_start.isoformat())
                for d in _of(session, Delivery, workspace_id)
            ),
            "cases": sorted(
                (names[c.contact_id], c.subject, c.status, c.priority)
                for c in _of(session, Case, workspace_id)
            ),
            "runs": sorted(
                (names[r.contact_id], r.status, r.steps_done)
                for r in _of(session, PlaybookRun, workspace_id)
            ),
        }
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def test_the_same_seed_gives_the_same_workspace(db: Database) -> None:
    first = _digest(db, _load(db, seed=11).workspace_id)
    db.clean()
    again = _digest(db, _load(db, seed=11).workspace_id)
    assert again == first


def test_loading_twice_is_refused_and_replace_starts_afresh(db: Database) -> None:
    # Another business shares the installation, and one demo member also works there.
    acme = make_tenant(db, "acme")
    shared_email = "admin@demo.tenure.example"
    with unit_of_work(session_factory(db.engine)) as session:
        ctx = acme.ctx(session)
        access.add_member(ctx, email=shared_email, role=Role.MEMBER)
        kept = contact_service.create_contact(
            ctx, kind=ContactKind.PERSON, given_name="Ada", family_name="Kept"
        ).contact.id

    first = _load(db)
    with pytest.raises(InvalidInput) as refused:
        _load(db)
    assert [e.field for e in refused.value.errors] == ["workspace"]

    second = _load(db, replace=True)
    assert second.counts == first.counts

    with db.session() as session:
        assert sorted(session.scalars(select(Workspace.slug)).all()) == ["acme", "demo"]
        live = set(session.scalars(select(Workspace.id)).all())
        for table in Base.metadata.sorted_tables:
            if "workspace_id" in table.c:
                stray = session.scalar(
                    select(func.count()).select_from(table).where(table.c.workspace_id.not_in(live))
                )
                assert stray == 0, f"{table.name} keeps rows of the deleted demo"
        emails = sorted(session.scalars(select(User.email)).all())
        assert emails == sorted(
            [
                "owner@acme.example",
                shared_email,
                DEMO_OWNER_EMAIL,
                "member@demo.tenure.example",
                "viewer@demo.tenure.example",
            ]
        )
        shared = session.scalars(select(User).where(User.email == shared_email)).one()
        workspaces_of_shared = session.scalars(
            select(Membership.workspace_id).where(Membership.user_id == shared.id)
        ).all()
        assert sorted(workspaces_of_shared) == sorted([acme.workspace_id, second.workspace_id])
        assert session.get(Contact, kept) is not None
        with pytest.raises(NotAuthenticated):
            access.authenticate_token(session, first.token)
        assert access.authenticate_token(session, second.token).workspace.slug == "demo"


@pytest.fixture
def demo_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("TENURE_DATABASE_URL", url)
    for name in ("TENURE_HOST", "TENURE_PORT"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _token_of(output: str) -> str:
    match = re.search(r'curl -H "Authorization: Bearer (tnr_[\w-]+)"', output)
    assert match, output
    return match.group(1)


def test_tenure_demo_loads_keeps_and_replaces(demo_database_url: str) -> None:
    runner = CliRunner()
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output

    loaded = runner.invoke(app, ["demo"])
    assert loaded.exit_code == 0, loaded.output
    out = loaded.output
    assert "Loaded the demo workspace" in out
    assert re.search(r"clients\s+\d+", out)
    assert re.search(r"reactivations\s+\d+", out)
    assert "http://127.0.0.1:8000" in out
    assert "http://127.0.0.1:8000/api/docs" in out
    assert DEMO_OWNER_EMAIL in out and DEMO_PASSWORD in out
    assert '"http://127.0.0.1:8000/api/v1/contacts?stage=client"' in out
    first_token = _token_of(out)

    # `make demo` runs `tenure demo` again on the same database: it keeps the data.
    kept = runner.invoke(app, ["demo"])
    assert kept.exit_code == 0, kept.output
    assert "already exists" in kept.output
    second_token = _token_of(kept.output)
    assert second_token != first_token

    engine = make_engine(demo_database_url)
    try:
        with unit_of_work(session_factory(engine)) as session:
            assert access.authenticate_token(session, first_token).workspace.slug == "demo"
            assert access.authenticate_token(session, second_token).workspace.slug == "demo"
            assert session.scalar(select(func.count()).select_from(Workspace)) == 1
            demo_contacts = session.scalar(select(func.count()).select_from(Contact))
            assert demo_contacts is not None and 180 <= demo_contacts <= 220

        replaced = runner.invoke(app, ["demo", "--replace", "--seed", "3"])
        assert replaced.exit_code == 0, replaced.output
        assert "seed 3" in replaced.output
        third_token = _token_of(replaced.output)
        with unit_of_work(session_factory(engine)) as session:
            with pytest.raises(NotAuthenticated):
                access.authenticate_token(session, first_token)
            assert access.authenticate_token(session, third_token).user.email == DEMO_OWNER_EMAIL
            assert session.scalar(select(func.count()).select_from(Contact)) == demo_contacts
    finally:
        engine.dispose()
