"""The benchmark suite at a tiny size: the generator's data is what the services would have
written, it is deterministic, and every scenario runs through the real runner (a real uvicorn,
HTTP on loopback) with the statement counts the targets ask for. No timing is asserted here:
timing lives in the report."""

from __future__ import annotations

import argparse
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bench.run import _install_rules, run_scenarios
from sqlalchemy import select, text

from bench import generate, load, report
from tenure.db.engine import make_engine
from tenure.db.models import Activity, Contact, Interaction, Transition
from tenure.db.uow import session_factory
from tenure.domain.access import Role
from tenure.domain.lifecycle import Stage, TransitionFact, replay
from tenure.services import activities, cadence, health, search
from tenure.services.context import Ctx
from tests.conftest import Database

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
SCALE = 0.05  # of S: 50 contacts, 5,000 events, three 500-event clients

#: Tables the generator fills (the workspace, members and tokens come from the services,
#: with fresh secrets and clocks, so they are left out of the comparison).
DUMPED = (
    "contacts", "contact_emails", "contact_phones", "contact_tags", "contact_match_keys",
    "agreements", "transitions", "activities", "interactions", "knowledge_entries",
    "commitments", "cases", "timeline_events", "search_documents", "health_snapshots",
)  # fmt: skip


def _generate(url: str, *, pipeline: bool = False) -> dict[str, Any]:
    return generate.generate(url, "S", 3, scale=SCALE, now=NOW, pipeline=pipeline)


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        out = {
            t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))]
            for t in DUMPED
        }
    engine.dispose()
    return out


def test_two_runs_with_one_seed_make_the_same_rows(tmp_path: Path) -> None:
    """The second run draws in a second process (as from PIPELINE_EVENTS on): same rows."""
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    info = _generate(first)
    _generate(second, pipeline=True)
    a, b = _dump(first), _dump(second)
    assert len(a["timeline_events"]) == info["events"] > 4000
    assert len(a["contacts"]) == 50
    assert a == b


def test_generated_rows_are_what_the_services_would_keep(db: Database) -> None:
    info = _generate(db.url)
    with session_factory(db.engine)() as session:
        ctx = Ctx(
            session=session,
            workspace_id=info["workspace_id"],
            user_id=info["owner_user_id"],
            role=Role.OWNER,
            now=NOW,
        )
        contacts = session.scalars(
            select(Contact).where(Contact.workspace_id == ctx.workspace_id).order_by(Contact.id)
        ).all()
        assert {c.stage for c in contacts} == {"contact", "client", "former_client"}
        for contact in contacts:
            rows = session.scalars(
                select(Transition)
                .where(Transition.contact_id == contact.id)
                .order_by(Transition.effective_on, Transition.id)
            ).all()
            standing = replay(
                TransitionFact(Stage(t.from_stage), Stage(t.to_stage), t.effective_on) for t in rows
            )
            assert (standing.stage.value, standing.client_since, standing.closed_days) == (
                contact.stage,
                contact.client_since,
                contact.closed_tenure_days,
            )
            stored = (contact.next_touch_due, contact.next_activity_at, contact.health_score)
            cadence.refresh(ctx, contact)
            activities.refresh_next_activity(ctx, contact)
            _, fresh = health.current(ctx, contact.id)
            assert stored == (
                contact.next_touch_due,
                contact.next_activity_at,
                fresh.score if fresh else None,
            ), contact.id
            last = session.scalar(
                select(Interaction.occurred_at)
                .where(Interaction.contact_id == contact.id)
                .order_by(Interaction.occurred_at.desc())
                .limit(1)
            )
            assert contact.last_interaction_at == last
        person = next(c for c in contacts if c.kind == "person")
        hits = search.search_contacts(ctx, person.display_name, limit=20)
        assert person.id in [h.contact.id for h in hits]
        word = session.scalar(select(Interaction.subject).limit(1)).split()[0]
        assert search.search(ctx, word, kind="interaction", limit=5)
        assert session.scalar(
            select(Activity.id).where(Activity.assignee_id == info["busy_user_id"])
        )
        session.rollback()


def test_every_scenario_runs_through_the_runner(db: Database, tmp_path: Path) -> None:
    info = _generate(db.url)
    _install_rules(db.url, info)
    results = run_scenarios(db.url, info, iterations=1, warmup=0)
    transfer = load.import_export(db.url, info, rows=50, workdir=tmp_path)
    mixed = load.mixed(db.url, info, levels=[2], seconds=0.5, server=_server(), driver="threads")
    args = argparse.Namespace(size="S", scale=SCALE, seed=3, iterations=1)
    data = report.assemble(db.backend, args, info, NOW, results, transfer, mixed)
    written = report.write(data, tmp_path)

    numbers = {r["number"] for r in data["scenarios"]}
    assert numbers == {1, 2, 3, 4, 5, 6}
    assert len(data["scenarios"]) >= 20
    for result in data["scenarios"]:
        assert set(result["statuses"]) <= {"200", "201"}, result
        if result["read"]:
            assert 1 <= result["statements_max"] <= _statement_limit(result["name"]), result
            assert result["floor_ms"] > 0
        for key in ("p50_ms", "p95_ms", "p99_ms"):
            assert result[key] > 0
    assert set(data["relative"]) == {"timeline_largest_vs_smallest", "deep_vs_first_page"}
    assert set(transfer) == {"rows", "import", "export"}
    assert mixed[0]["requests"] > 0 and mixed[0]["errors"] == 0
    assert mixed[0]["peak_rss_mb_per_process"] > 0
    assert mixed[0]["driver"] == "threads"
    assert [p.suffix for p in written] == [".json", ".md"]
    assert "| 4 | timeline page, 500-event client |" in written[1].read_text()


def _statement_limit(name: str) -> int:
    """At most 4 statements per read, authentication included. One known exception, kept
    visible here and in the report: when a name prefix finds fewer than ``FUZZY_BELOW``
    contacts (always, in this 50-contact workspace; not at the bench sizes, where a 4-letter
    prefix finds plenty), ``services.search`` runs its typo fallback, one query per round."""
    if name == "search contacts by name prefix":
        return report.MAX_READ_STATEMENTS + 2
    return report.MAX_READ_STATEMENTS


def _server() -> Any:
    from bench.run import Server

    return Server


@pytest.mark.skipif(shutil.which("wrk") is None, reason="no wrk (.ci/run installs it)")
def test_the_mixed_load_runs_under_wrk(db: Database) -> None:
    info = _generate(db.url)
    (row,) = load.mixed(db.url, info, levels=[2], seconds=1, server=_server(), driver="wrk")
    assert row["driver"] == "wrk"
    assert row["requests"] > 0 and row["errors"] == 0
    # the Lua script draws the same mix as the threads: about a fifth are writes
    assert 0.05 < row["write_share"] < 0.4
    assert 0 < row["p50_ms"] <= row["p95_ms"]
