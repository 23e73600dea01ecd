"""Firing rules: on events (from the outbox dispatch), and the due occurrences of time-based
triggers that the ``rules.time`` job (``time_job``) walks in bounded batches.

Each occurrence of a trigger has a key (``event:12``, ``date:agreement.renews_on:7:2026-05-01``
…); a rule's run for a key is a ``RuleRun`` row, unique per (rule, key), inserted *before* the
actions run, so an occurrence fires once however often it is looked at. The actions run in a
SAVEPOINT under ``Ctx.automation``: a failing action undoes that rule's effects only, and the
run records ``failed`` with the error; other rules go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from tenure.db.models import Contact, Rule, RuleRun, TimelineEvent
from tenure.db.repositories.rules import RuleRepository, TriggerCandidates
from tenure.domain import rules as R
from tenure.domain.errors import DomainError
from tenure.domain.recurrence import expand
from tenure.services import automation
from tenure.services.context import Ctx
from tenure.services.rules import facts as F
from tenure.services.rules.actions import Origin, describe_error, run_action

log = logging.getLogger("tenure.rules")

#: Per ``rules.time`` job (one write transaction, ``time_job.Budget``): occurrences looked at,
#: and occurrences fired or checked against their conditions; past either the job enqueues a
#: continuation. Sized so a job stays well under ~100 ms on SQLite at 100k contacts. They live
#: here with the walk's other sizes, and are read at call time (tests shrink them).
MAX_EXAMINED_PER_JOB = 1000
MAX_BUILT_PER_JOB = 5
#: Rows read per candidate query page.
PAGE = 500
#: A recurrence catching up after downtime fires at most this many past occurrences.
MAX_CATCH_UP_OCCURRENCES = 100


# --- one occurrence --------------------------------------------------------------------------


def origin_of(rule: Rule, target: F.Target) -> Origin:
    return Origin(rule_id=rule.id, owner_id=rule.owner_id, key=target.key, rule_name=rule.name)


def fire(ctx: Ctx, rule: Rule, target: F.Target, *, record_skips: bool) -> str:
    """Fire ``rule`` for one occurrence: ``done``, ``failed``, ``skipped`` or ``already``."""
    failures = R.explain(rule.conditions or {}, target.facts)
    if failures:
        if record_skips and _claim(ctx, rule, target, "skipped", "; ".join(failures)) is None:
            return "already"
        return "skipped"
    run = _claim(ctx, rule, target, "done", "")
    if run is None:
        return "already"
    previous = ctx.automation
    ctx.automation = {"rule_id": rule.id, "depth": target.depth + 1}
    effects: list[dict[str, Any]] = []
    origin = origin_of(rule, target)
    index = 0
    try:
        with ctx.session.begin_nested():
            for index, action in enumerate(rule.actions or []):
                effects.append(run_action(ctx, action, index, target, origin, dry=False))
            run.effects = effects
            ctx.session.flush()
    except StaleDataError:
        raise  # a concurrent write, not the rule's fault: the caller retries the occurrence
    except Exception as exc:
        action_type = (rule.actions or [{}])[index].get("type", "?") if rule.actions else "?"
        error = f"actions[{index}] ({action_type}): {describe_error(exc)}"
        if effects:
            error += f"; the {len(effects)} action(s) before it were undone"
        if not isinstance(exc, DomainError):
            log.warning("rule %s failed for %s: %s", rule.id, target.key, error)
        run.outcome = "failed"
        run.effects = []
        run.error = error[:4000]
        ctx.session.flush()
        return "failed"
    finally:
        ctx.automation = previous
    return "done"


def _claim(ctx: Ctx, rule: Rule, target: F.Target, outcome: str, error: str) -> RuleRun | None:
    """Insert the run for (rule, key); None when one exists (the occurrence already fired)."""
    run = RuleRun(
        workspace_id=ctx.workspace_id,
        rule_id=rule.id,
        trigger_key=target.key,
        contact_id=target.contact.id if target.contact else None,
        event_id=target.event.id if target.event else None,
        outcome=outcome,
        effects=[],
        error=error[:4000],
        created_at=ctx.now,
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.add(run)
            ctx.session.flush()
    except IntegrityError:
        return None
    return run


# --- events ----------------------------------------------------------------------------------


def on_event(ctx: Ctx, event: TimelineEvent) -> dict[str, Any]:
    """Fire the enabled rules whose trigger is this event's type (called by the dispatch job)."""
    rules = RuleRepository(ctx.session, ctx.workspace_id).enabled_for_event(event.type)
    result: dict[str, list[int]] = {}
    if not rules:
        return {}
    origin = (event.data or {}).get("automation")
    for rule in rules:
        guard = R.loop_guard(rule.id, origin, automation.MAX_DEPTH)
        if guard is not None:
            result.setdefault(guard, []).append(rule.id)
            continue
        # Built per rule: a rule before it may have changed the contact.
        target = event_target(ctx, event, origin)
        outcome = fire(ctx, rule, target, record_skips=True)
        result.setdefault(outcome, []).append(rule.id)
    return result


# --- the clock -------------------------------------------------------------------------------


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def window_start(ctx: Ctx, rule_created: datetime, evaluated_until: datetime | None) -> date:
    zone = ZoneInfo(ctx.workspace_timezone)
    return R.window_start(
        _local_day(evaluated_until, zone) if evaluated_until else None,
        _local_day(rule_created, zone),
    )


#: A position in the walk over a trigger's occurrences (JSON, for the job's payload): the
#: occurrences after it are still to do.
Position = list[Any]


@dataclass(frozen=True)
class Candidate:
    """An occurrence found by a trigger, before its facts are built (most are already fired:
    checking the key first keeps the hourly walk cheap)."""

    position: Position
    key: str
    make: Callable[[], F.Target]


def due_targets(
    ctx: Ctx,
    trigger: R.Trigger,
    *,
    created_at: datetime,
    evaluated_until: datetime | None,
) -> Iterator[F.Target]:
    """Every occurrence of a time-based trigger that is due now (by pages, lazily)."""
    for candidate in due_candidates(
        ctx, trigger, created_at=created_at, evaluated_until=evaluated_until
    ):
        yield candidate.make()


def due_candidates(
    ctx: Ctx,
    trigger: R.Trigger,
    *,
    created_at: datetime,
    evaluated_until: datetime | None,
    resume: Position | None = None,
) -> Iterator[Candidate]:
    """The due occurrences in a stable order (by record id), from after ``resume``."""
    zone = ZoneInfo(ctx.workspace_timezone)
    today = ctx.today
    found = TriggerCandidates(ctx.session, ctx.workspace_id)
    if isinstance(trigger, R.DateTrigger):
        since = window_start(ctx, created_at, evaluated_until)
        yield from _date_targets(ctx, trigger, since, today, zone, found, resume)
    elif isinstance(trigger, R.InactivityTrigger):
        yield from _quiet_targets(ctx, trigger, today, zone, found, resume)
    elif isinstance(trigger, R.RecurrenceTrigger):
        yield from _recurrence_targets(ctx, trigger, created_at, evaluated_until, found, resume)


def _candidate(
    ctx: Ctx,
    position: Position,
    key: str,
    contact: Contact | None,
    record: object | None,
    record_type: str | None,
    trigger: dict[str, Any],
) -> Candidate:
    return Candidate(
        position, key, lambda: _target(ctx, key, contact, record, record_type, trigger)
    )


def _target(
    ctx: Ctx,
    key: str,
    contact: Contact | None,
    record: object | None,
    record_type: str | None,
    trigger: dict[str, Any],
) -> F.Target:
    trigger = {**trigger, "key": key}
    return F.Target(
        key=key,
        contact=contact,
        facts=F.build(ctx, contact=contact, record=record, event=None, trigger=trigger),
        record_type=record_type,
        record_id=getattr(record, "id", None),
        trigger=trigger,
    )


def _after(resume: Position | None) -> int:
    return int(resume[0]) if resume else 0


def _date_targets(
    ctx: Ctx,
    trigger: R.DateTrigger,
    since: date,
    today: date,
    zone: ZoneInfo,
    found: TriggerCandidates,
    resume: Position | None,
) -> Iterator[Candidate]:
    if trigger.field in ("agreement.renews_on", "agreement.ends_on"):
        yield from _agreement_targets(ctx, trigger, since, today, found, resume)
    elif trigger.field == "delivery.delivered_at":
        yield from _delivered_targets(ctx, trigger, since, today, zone, found, resume)
    elif trigger.field == "contact.client_since":
        yield from _client_since_targets(ctx, trigger, since, today, found, resume)
    else:
        yield from _anniversary_targets(ctx, trigger, since, today, found, resume)


def _date_info(trigger: R.DateTrigger, field_date: date) -> dict[str, Any]:
    return {
        "type": R.DATE,
        "field": trigger.field,
        "offset_days": trigger.offset_days,
        "field_date": field_date,
        "date": R.due_day(field_date, trigger.offset_days),
    }


def _agreement_targets(
    ctx: Ctx,
    trigger: R.DateTrigger,
    since: date,
    today: date,
    found: TriggerCandidates,
    resume: Position | None,
) -> Iterator[Candidate]:
    column = trigger.field.split(".")[1]
    low, high = R.field_range(trigger.offset_days, since, today)
    after = _after(resume)
    while rows := found.agreements(column, low, high, after_id=after, limit=PAGE):
        people = found.contacts([a.contact_id for a in rows])
        for agreement in rows:
            day = getattr(agreement, column)
            if day is None or not R.is_due(day, trigger.offset_days, since, today):
                continue
            key = R.trigger_key("date", trigger.field, agreement.id, day.isoformat())
            yield _candidate(
                ctx,
                [agreement.id],
                key,
                people.get(agreement.contact_id),
                agreement,
                "agreement",
                _date_info(trigger, day),
            )
        after = rows[-1].id


def _delivered_targets(
    ctx: Ctx,
    trigger: R.DateTrigger,
    since: date,
    today: date,
    zone: ZoneInfo,
    found: TriggerCandidates,
    resume: Position | None,
) -> Iterator[Candidate]:
    low, high = R.field_range(trigger.offset_days, since, today)
    start, end = _local_midnight(low, zone), _local_midnight(high + timedelta(days=1), zone)
    after = _after(resume)
    while rows := found.delivered(start, end, after_id=after, limit=PAGE):
        people = found.contacts([d.contact_id for d in rows])
        for delivery in rows:
            if delivery.actual_end is None:
                continue
            day = _local_day(delivery.actual_end, zone)
            if not R.is_due(day, trigger.offset_days, since, today):
                continue
            key = R.trigger_key("date", trigger.field, delivery.id, day.isoformat())
            yield _candidate(
                ctx,
                [delivery.id],
                key,
                people.get(delivery.contact_id),
                delivery,
                "delivery",
                _date_info(trigger, day),
            )
        after = rows[-1].id


def _client_since_targets(
    ctx: Ctx,
    trigger: R.DateTrigger,
    since: date,
    today: date,
    found: TriggerCandidates,
    resume: Position | None,
) -> Iterator[Candidate]:
    low, high = R.field_range(trigger.offset_days, since, today)
    after = _after(resume)
    while rows := found.clients_since_between(low, high, after_id=after, limit=PAGE):
        for contact in rows:
            day = contact.client_since
            if day is None or not R.is_due(day, trigger.offset_days, since, today):
                continue
            key = R.trigger_key("date", trigger.field, contact.id, day.isoformat())
            info = _date_info(trigger, day)
            yield _candidate(ctx, [contact.id], key, contact, contact, "contact", info)
        after = rows[-1].id


def _anniversary_targets(
    ctx: Ctx,
    trigger: R.DateTrigger,
    since: date,
    today: date,
    found: TriggerCandidates,
    resume: Position | None,
) -> Iterator[Candidate]:
    done = (int(resume[0]), int(resume[1])) if resume else (0, 0)
    due: list[tuple[int, int, date]] = []
    for contact_id, since_day in found.client_anniversaries():  # by contact id
        for year, _ in R.anniversaries_due(since_day, trigger.offset_days, since, today):
            if (contact_id, year) > done:
                due.append((contact_id, year, R.anniversary(since_day, year)))
    for i in range(0, len(due), PAGE):
        part = due[i : i + PAGE]
        people = found.contacts([c for c, _, _ in part])
        for contact_id, year, field_date in part:
            person = people.get(contact_id)
            if person is None:
                continue
            key = R.trigger_key("anniversary", contact_id, year)
            info = {**_date_info(trigger, field_date), "occurrence": year}
            yield _candidate(ctx, [contact_id, year], key, person, person, "contact", info)


def _quiet_targets(
    ctx: Ctx,
    trigger: R.InactivityTrigger,
    today: date,
    zone: ZoneInfo,
    found: TriggerCandidates,
    resume: Position | None,
) -> Iterator[Candidate]:
    base = {"type": R.INACTIVITY, "measure": trigger.measure, "days": trigger.days}
    after = _after(resume)
    while True:
        if trigger.measure == "cadence":
            due_before = today - timedelta(days=trigger.days)
            rows = found.cadence_overdue(due_before, after_id=after, limit=PAGE)
        else:
            through = R.quiet_through(today, trigger.days)
            column = "last_touch_at" if trigger.measure == "touch" else "last_service_at"
            rows = found.quiet_clients(
                column,
                before=_local_midnight(through + timedelta(days=1), zone),
                since_through=through,
                after_id=after,
                limit=PAGE,
            )
        if not rows:
            return
        for contact in rows:
            if trigger.measure == "cadence":
                if contact.next_touch_due is None:
                    continue
                key = R.trigger_key("cadence", contact.id, contact.next_touch_due.isoformat())
                info = {**base, "date": contact.next_touch_due}
            else:
                moment = (
                    contact.last_touch_at if trigger.measure == "touch" else contact.last_service_at
                )
                anchor = R.quiet_anchor(
                    _local_day(moment, zone) if moment else None, contact.client_since
                )
                if anchor is None or anchor > R.quiet_through(today, trigger.days):
                    continue
                key = R.trigger_key("quiet", trigger.measure, contact.id, anchor.isoformat())
                info = {**base, "date": anchor, "field_date": anchor}
            yield _candidate(ctx, [contact.id], key, contact, contact, "contact", info)
        after = rows[-1].id


def _recurrence_targets(
    ctx: Ctx,
    trigger: R.RecurrenceTrigger,
    created_at: datetime,
    evaluated_until: datetime | None,
    found: TriggerCandidates,
    resume: Position | None,
) -> Iterator[Candidate]:
    start = evaluated_until or created_at
    occurrences = expand(trigger.recurrence, start, ctx.now + timedelta(seconds=1))
    occurrences = occurrences[-MAX_CATCH_UP_OCCURRENCES:]
    # Positions are (occurrence start in UTC, contact id): a later batch of the same walk may
    # see more occurrences (its clock moved on), never a different order of the earlier ones.
    resumed_at = datetime.fromisoformat(resume[0]) if resume else None
    for occurrence in occurrences:
        if resumed_at is not None and occurrence.start < resumed_at:
            continue
        after = int(resume[1]) if resume and occurrence.start == resumed_at else 0
        at = occurrence.start.isoformat()
        stamp = occurrence.local_start.isoformat()
        info = {"type": R.RECURRENCE, "occurrence": stamp, "date": occurrence.start}
        while True:
            rows = found.contacts_in_scope(
                clients_only=trigger.scope == "clients", after_id=after, limit=PAGE
            )
            if not rows:
                break
            for contact in rows:
                key = R.trigger_key("recurrence", stamp, contact.id)
                yield _candidate(ctx, [at, contact.id], key, contact, contact, "contact", info)
            after = rows[-1].id


def stored_trigger(ctx: Ctx, rule: Rule) -> R.Trigger:
    return R.parse_trigger(rule.trigger, default_timezone=ctx.workspace_timezone)


def recent_events(ctx: Ctx, event_type: str, limit: int) -> list[TimelineEvent]:
    stmt = (
        select(TimelineEvent)
        .where(TimelineEvent.workspace_id == ctx.workspace_id, TimelineEvent.type == event_type)
        .order_by(TimelineEvent.id.desc())
        .limit(limit)
    )
    return list(ctx.session.scalars(stmt).all())


def event_target(ctx: Ctx, event: TimelineEvent, origin: Mapping[str, Any] | None) -> F.Target:
    contact = F.load_contact(ctx, event.contact_id)
    record = F.load_subject(ctx, event.subject_type, event.subject_id)
    trigger = {"type": R.EVENT, "key": R.trigger_key("event", event.id)}
    return F.Target(
        key=trigger["key"],
        contact=contact,
        facts=F.build(ctx, contact=contact, record=record, event=event, trigger=trigger),
        event=event,
        record_type=event.subject_type,
        record_id=event.subject_id,
        depth=R.depth_of(origin),
        trigger=trigger,
    )
