"""Queries about automation rules, their runs, playbooks and playbook runs, and the candidate
records of time-based triggers (agreements renewing, deliveries delivered, quiet clients)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import Session

from tenure.db.models import (
    Agreement,
    Contact,
    Delivery,
    Job,
    Playbook,
    PlaybookRun,
    Rule,
    RuleRun,
)
from tenure.db.repositories.base import Repository
from tenure.db.repositories.keyset import KeysetOrder

#: IN lists are chunked below this size (SQLite's variable limit, PostgreSQL's planner).
CHUNK = 500


def chunks(ids: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


@dataclass(frozen=True)
class RuleFilter:
    enabled: bool | None = None
    trigger_type: str | None = None


class RuleRepository(Repository[Rule]):
    model = Rule
    noun = "rule"

    def page(self, filters: RuleFilter, *, after: list[Any] | None, limit: int) -> Sequence[Rule]:
        stmt = self.select()
        if filters.enabled is not None:
            stmt = stmt.where(Rule.enabled.is_(filters.enabled))
        if filters.trigger_type:
            stmt = stmt.where(Rule.trigger["type"].as_string() == filters.trigger_type)
        order = KeysetOrder(Rule.id, Rule.id)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

    def enabled_for_event(self, event_type: str) -> Sequence[Rule]:
        stmt = self.select().where(Rule.enabled.is_(True), Rule.event_type == event_type)
        return self.session.scalars(stmt.order_by(Rule.id)).all()

    def enabled_time_based(self) -> Sequence[Rule]:
        stmt = self.select().where(Rule.enabled.is_(True), Rule.event_type.is_(None))
        return self.session.scalars(stmt.order_by(Rule.id)).all()

    def by_builtin(self) -> dict[str, Rule]:
        stmt = self.select().where(Rule.builtin.is_not(None))
        return {r.builtin: r for r in self.session.scalars(stmt).all() if r.builtin}

    def all_rules(self) -> Sequence[Rule]:
        return self.session.scalars(self.select().order_by(Rule.id)).all()

    def set_evaluated_until(self, rule_id: int, moment: datetime) -> None:
        """Without touching ``version``: the worker's bookkeeping must not make a person's
        If-Match stale."""
        self.session.execute(
            update(Rule)
            .where(Rule.workspace_id == self.workspace_id, Rule.id == rule_id)
            .values(evaluated_until=moment)
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class RunFilter:
    rule_id: int | None = None
    contact_id: int | None = None
    outcome: str | None = None


class RuleRunRepository(Repository[RuleRun]):
    model = RuleRun
    noun = "rule run"

    def page(self, filters: RunFilter, *, after: list[Any] | None, limit: int) -> Sequence[RuleRun]:
        stmt = self.select()
        if filters.rule_id is not None:
            stmt = stmt.where(RuleRun.rule_id == filters.rule_id)
        if filters.contact_id is not None:
            stmt = stmt.where(RuleRun.contact_id == filters.contact_id)
        if filters.outcome:
            stmt = stmt.where(RuleRun.outcome == filters.outcome)
        order = KeysetOrder(RuleRun.id, RuleRun.id, descending=True)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

    def fired_keys(self, rule_id: int, keys: Sequence[str]) -> set[str]:
        """Which of these trigger keys the rule already has a run for."""
        found: set[str] = set()
        for part in chunks(list(keys)):
            stmt = select(RuleRun.trigger_key).where(
                RuleRun.rule_id == rule_id, RuleRun.trigger_key.in_(part)
            )
            found.update(self.session.scalars(stmt).all())
        return found


class PlaybookRepository(Repository[Playbook]):
    model = Playbook
    noun = "playbook"

    def page(self, *, after: list[Any] | None, limit: int) -> Sequence[Playbook]:
        order = KeysetOrder(Playbook.id, Playbook.id)
        return self.session.scalars(order.apply(self.select(), after, limit)).all()

    def by_builtin(self) -> dict[str, Playbook]:
        stmt = self.select().where(Playbook.builtin.is_not(None))
        return {p.builtin: p for p in self.session.scalars(stmt).all() if p.builtin}

    def by_name(self, name: str) -> Playbook | None:
        return self.session.scalars(self.select().where(Playbook.name == name)).first()

    def existing_ids(self, ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        stmt = self.select(Playbook.id).where(Playbook.id.in_(list(ids)))
        return set(self.session.scalars(stmt).all())

    def names(self, ids: Sequence[int]) -> dict[int, str]:
        if not ids:
            return {}
        stmt = self.select(Playbook.id, Playbook.name).where(Playbook.id.in_(list(ids)))
        return {int(i): str(n) for i, n in self.session.execute(stmt).all()}


class PlaybookRunRepository(Repository[PlaybookRun]):
    model = PlaybookRun
    noun = "playbook run"

    def of_contact(self, contact_id: int, *, status: str | None = None) -> Sequence[PlaybookRun]:
        stmt = self.select().where(PlaybookRun.contact_id == contact_id)
        if status:
            stmt = stmt.where(PlaybookRun.status == status)
        return self.session.scalars(stmt.order_by(PlaybookRun.id.desc())).all()

    def running_of_contact(
        self, contact_id: int, *, playbook_id: int | None = None, for_update: bool = False
    ) -> Sequence[PlaybookRun]:
        stmt = self.select().where(
            PlaybookRun.contact_id == contact_id, PlaybookRun.status == "running"
        )
        if playbook_id is not None:
            stmt = stmt.where(PlaybookRun.playbook_id == playbook_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt.order_by(PlaybookRun.id)).all()

    def of_playbook(self, playbook_id: int, *, limit: int) -> Sequence[PlaybookRun]:
        """A playbook's runs, running ones first, then newest first."""
        running = case((PlaybookRun.status == "running", 0), else_=1)
        stmt = self.select().where(PlaybookRun.playbook_id == playbook_id)
        stmt = stmt.order_by(running, PlaybookRun.id.desc()).limit(limit)
        return self.session.scalars(stmt).all()

    def contact_names(self, contact_ids: Sequence[int]) -> dict[int, str]:
        if not contact_ids:
            return {}
        stmt = select(Contact.id, Contact.display_name).where(
            Contact.workspace_id == self.workspace_id, Contact.id.in_(list(contact_ids))
        )
        return {int(i): str(n) for i, n in self.session.execute(stmt).all()}

    def count_of_playbook(self, playbook_id: int) -> int:
        stmt = self.select(PlaybookRun.id).where(PlaybookRun.playbook_id == playbook_id).limit(1)
        return len(self.session.scalars(stmt).all())

    def step_jobs(self, run_ids: Sequence[int]) -> list[Job]:
        """The step jobs of these runs (their keys start with ``playbook-step:<run id>:``)."""
        if not run_ids:
            return []
        prefixes = [Job.key.like(f"playbook-step:{run_id}:%") for run_id in run_ids]
        stmt = select(Job).where(Job.workspace_id == self.workspace_id, or_(*prefixes))
        return list(self.session.scalars(stmt.order_by(Job.id)).all())


# --- candidates of time-based triggers ---------------------------------------------------------


class TriggerCandidates:
    """The records a time-based trigger may fire for, narrowed in SQL by ranges (the domain
    decides exactly which are due), read in pages by id (``after_id``)."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def agreements(
        self, column: str, low: date, high: date, *, after_id: int, limit: int
    ) -> Sequence[Agreement]:
        col = getattr(Agreement, column)
        stmt = select(Agreement).where(
            Agreement.workspace_id == self.workspace_id,
            Agreement.status == "active",
            col >= low,
            col <= high,
            Agreement.id > after_id,
        )
        return self.session.scalars(stmt.order_by(Agreement.id).limit(limit)).all()

    def delivered(
        self, start: datetime, end: datetime, *, after_id: int, limit: int
    ) -> Sequence[Delivery]:
        stmt = select(Delivery).where(
            Delivery.workspace_id == self.workspace_id,
            Delivery.status == "delivered",
            Delivery.actual_end >= start,
            Delivery.actual_end < end,
            Delivery.id > after_id,
        )
        return self.session.scalars(stmt.order_by(Delivery.id).limit(limit)).all()

    def clients_since_between(
        self, low: date, high: date, *, after_id: int, limit: int
    ) -> Sequence[Contact]:
        stmt = select(Contact).where(
            Contact.workspace_id == self.workspace_id,
            Contact.stage == "client",
            Contact.client_since >= low,
            Contact.client_since <= high,
            Contact.id > after_id,
        )
        return self.session.scalars(stmt.order_by(Contact.id).limit(limit)).all()

    def client_anniversaries(self) -> list[tuple[int, date]]:
        """(id, client_since) of every client: two narrow columns, filtered by the domain."""
        stmt = select(Contact.id, Contact.client_since).where(
            Contact.workspace_id == self.workspace_id,
            Contact.stage == "client",
            Contact.client_since.is_not(None),
        )
        rows = self.session.execute(stmt.order_by(Contact.id)).all()
        return [(int(i), d) for i, d in rows if d is not None]

    def quiet_clients(
        self, column: str, *, before: datetime, since_through: date, after_id: int, limit: int
    ) -> Sequence[Contact]:
        """Clients whose last ``column`` (a moment) is before ``before``, or who never had one
        and became clients on or before ``since_through``."""
        col = getattr(Contact, column)
        stmt = select(Contact).where(
            Contact.workspace_id == self.workspace_id,
            Contact.stage == "client",
            or_(col < before, and_(col.is_(None), Contact.client_since <= since_through)),
            Contact.id > after_id,
        )
        return self.session.scalars(stmt.order_by(Contact.id).limit(limit)).all()

    def cadence_overdue(self, due_before: date, *, after_id: int, limit: int) -> Sequence[Contact]:
        stmt = select(Contact).where(
            Contact.workspace_id == self.workspace_id,
            Contact.stage == "client",
            Contact.next_touch_due < due_before,
            Contact.id > after_id,
        )
        return self.session.scalars(stmt.order_by(Contact.id).limit(limit)).all()

    def contacts_in_scope(
        self, *, clients_only: bool, after_id: int, limit: int
    ) -> Sequence[Contact]:
        stmt = select(Contact).where(
            Contact.workspace_id == self.workspace_id, Contact.id > after_id
        )
        if clients_only:
            stmt = stmt.where(Contact.stage == "client")
        return self.session.scalars(stmt.order_by(Contact.id).limit(limit)).all()

    def contacts(self, ids: Sequence[int]) -> dict[int, Contact]:
        out: dict[int, Contact] = {}
        for part in chunks(sorted(set(ids))):
            stmt = select(Contact).where(
                Contact.workspace_id == self.workspace_id, Contact.id.in_(part)
            )
            out.update({c.id: c for c in self.session.scalars(stmt).all()})
        return out
