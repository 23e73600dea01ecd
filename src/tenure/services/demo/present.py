"""The demo's present: the weeks around today, played after the two years of history.

The history (``history.py``) gives contacts, agreements, transitions and interactions. This
adds what a firm that uses Tenure every day also has, all through the ordinary services at
their own moments: a services catalog; recurring service plans for a good share of today's
clients, whose deliveries and visits of the last weeks are done (a few missed or cancelled)
and whose next weeks are scheduled, with a few double bookings; support cases in every status
and priority; knowledge and promises; and, last, the default automation rules and onboarding
playbook, installed once the history is in (so they never fire on past events), with a few
onboarding runs under way.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.rules import PlaybookRepository
from tenure.db.repositories.scheduling import ActivityFilter, DeliveryFilter
from tenure.domain.access import Role
from tenure.domain.activities import ActivityKind
from tenure.domain.cases import CaseAction, CasePriority
from tenure.domain.commitments import CommitmentAction
from tenure.domain.contacts import ContactKind
from tenure.domain.knowledge import KnowledgeKind
from tenure.domain.lifecycle import Stage
from tenure.services import (
    activities,
    cases,
    catalog,
    commitments,
    deliveries,
    knowledge,
    playbooks,
    rules,
    schedules,
)
from tenure.services.context import Ctx
from tenure.services.demo import texts
from tenure.services.demo.calendar import DemoCalendar
from tenure.services.demo.cast import Actor, Profile

#: Builds the context of one action: (actor, moment).
MakeCtx = Callable[[Actor, datetime], Ctx]

#: How far back the service plans begin (their past occurrences are done), in days.
PLANS_SINCE = 56
#: How far ahead their occurrences are scheduled, in days after the last day of history.
PLANS_AHEAD = 35
PLAN_SHARE = 0.45
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")


@dataclass(frozen=True)
class Plan:
    """A recurring service: catalog entry, how often, produces deliveries or visits."""

    service: str
    rrule: str
    produces: schedules.Produces = schedules.Produces.DELIVERY


class Present:
    def __init__(
        self,
        rng: random.Random,
        calendar: DemoCalendar,
        staff: list[Actor],
        profiles: list[Profile],
        make_ctx: MakeCtx,
    ) -> None:
        self.rng = rng
        self.cal = calendar
        self.owner = staff[0]
        self.writers = [a for a in staff if a.role is not Role.VIEWER]
        self.profiles = profiles
        self.ctx = make_ctx
        self.services: dict[str, int] = {}

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        return self.cal.moment(day, hour, minute)

    def run(self) -> None:
        clients = self._clients()
        self._catalog()
        planned = self._plans(clients)
        self._double_bookings(planned)
        self._work_done(planned)
        self._cases(clients)
        self._knowledge(clients)
        self._commitments(clients)
        self._automation(clients)

    # --- who -----------------------------------------------------------------------------------

    def _clients(self) -> list[Profile]:
        """Today's clients, in planning order (deterministic)."""
        ctx = self.ctx(self.owner, self.at(self.cal.last, 18))
        repo = ContactRepository(ctx.session, ctx.workspace_id)
        found = [
            p
            for p in self.profiles
            if p.id is not None
            and p.spells
            and p.spells[-1].end is None
            and repo.get(p.contact_id).stage == Stage.CLIENT.value
        ]
        return found

    def _assignee(self, profile: Profile) -> Actor:
        return profile.owner if profile.owner.role is not Role.VIEWER else self.owner

    # --- the catalog and the plans -------------------------------------------------------------

    def _catalog(self) -> None:
        ctx = self.ctx(self.owner, self.at(0, 8, 30))
        for name, description, minutes, price in texts.CATALOG:
            service = catalog.create_service(
                ctx,
                name=name,
                description=description,
                default_duration_minutes=minutes,
                default_price_minor=price,
                currency="GBP" if price is not None else None,
            )
            self.services[name] = service.id

    def _plan_for(self, profile: Profile) -> Plan:
        rng = self.rng
        day = rng.choice(WEEKDAYS)
        if profile.kind is ContactKind.ORGANIZATION:
            return rng.choice(
                (
                    Plan("Payroll run", f"FREQ=WEEKLY;INTERVAL=2;BYDAY={day}"),
                    Plan("Monthly bookkeeping review", f"FREQ=MONTHLY;BYDAY=1{day}"),
                    Plan("Monthly bookkeeping review", f"FREQ=MONTHLY;BYDAY=3{day}"),
                    Plan("Management accounts meeting", f"FREQ=MONTHLY;BYDAY=2{day}"),
                    Plan(
                        "On-site visit", f"FREQ=MONTHLY;BYDAY=4{day}", schedules.Produces.ACTIVITY
                    ),
                )
            )
        return rng.choice(
            (
                Plan("Monthly check-in call", f"FREQ=MONTHLY;BYDAY=2{day}"),
                Plan("Receipts and records review", f"FREQ=WEEKLY;INTERVAL=4;BYDAY={day}"),
                Plan("Tax planning session", f"FREQ=MONTHLY;INTERVAL=2;BYDAY=1{day}"),
            )
        )

    def _plans(self, clients: list[Profile]) -> list[tuple[Profile, int, datetime]]:
        """Service plans for a share of the clients, begun ``PLANS_SINCE`` days ago; returns
        (client, schedule id, first local start)."""
        created = self.cal.workday(self.cal.last - PLANS_SINCE)
        out: list[tuple[Profile, int, datetime]] = []
        for profile in clients:
            if self.rng.random() >= PLAN_SHARE or profile.spells[-1].start >= created:
                continue
            plan = self._plan_for(profile)
            hour, minute = self.rng.choice((9, 10, 11, 13, 14, 15, 16)), self.rng.choice((0, 30))
            local = datetime.combine(self.cal.on(created), datetime.min.time()).replace(
                hour=hour, minute=minute
            )
            schedule = self._schedule(profile, plan, local, created)
            out.append((profile, schedule, local))
        return out

    def _schedule(
        self, profile: Profile, plan: Plan, local: datetime, day: int, *, count: int | None = None
    ) -> int:
        actor = self._assignee(profile)
        ctx = self.ctx(actor, self.at(day, 8, self.rng.randint(0, 29)))
        horizon = (self.cal.last - day) + PLANS_AHEAD
        visit = plan.produces is schedules.Produces.ACTIVITY
        row = schedules.create_schedule(
            ctx,
            profile.contact_id,
            produces=plan.produces,
            rrule=plan.rrule,
            dtstart=local,
            title=None if not visit else f"{plan.service} at {profile.display_name}",
            service_id=None if visit else self.services[plan.service],
            activity_kind=ActivityKind.VISIT if visit else None,
            assignee_id=actor.user_id,
            count=count,
            horizon_days=horizon,
        )
        return row.id

    def _double_bookings(self, planned: list[tuple[Profile, int, datetime]]) -> None:
        """A few one-off extra sessions booked over an existing plan of the same person: the
        schedule shows them as conflicts to sort out."""
        day = self.cal.workday(self.cal.last - 2)
        for profile, schedule_id, _ in planned[:3]:
            ctx = self.ctx(self._assignee(profile), self.at(day, 9))
            ahead = self.at(self.cal.last + 1, 0)
            upcoming = schedules.occurrences(
                ctx, schedule_id, start=ahead, end=ahead + timedelta(days=PLANS_AHEAD)
            )
            first = upcoming[0] if upcoming else None
            if first is None:
                continue
            others = [p for p, _, _ in planned if p is not profile]
            other = self.rng.choice(others) if others else profile
            start = first.local_start.replace(tzinfo=None)
            weekday = WEEKDAYS[start.weekday()] if start.weekday() < 5 else "MO"
            plan = Plan("Tax planning session", f"FREQ=WEEKLY;BYDAY={weekday}")
            self._schedule_for(other, profile, plan, start - timedelta(minutes=30), day)

    def _schedule_for(
        self, client: Profile, busy: Profile, plan: Plan, local: datetime, day: int
    ) -> None:
        actor = self._assignee(busy)
        ctx = self.ctx(actor, self.at(day, 9, 30))
        schedules.create_schedule(
            ctx,
            client.contact_id,
            produces=plan.produces,
            rrule=plan.rrule,
            dtstart=local,
            service_id=self.services[plan.service],
            assignee_id=actor.user_id,
            count=1,
            horizon_days=PLANS_AHEAD + 5,
        )

    def _work_done(self, planned: list[tuple[Profile, int, datetime]]) -> None:
        """The past occurrences of the plans: delivered (a few no-shows and cancellations),
        visits completed; the future ones stay scheduled."""
        until = self.at(self.cal.last, 18)
        for profile, _, _ in planned:
            actor = self._assignee(profile)
            ctx = self.ctx(actor, until)
            past = deliveries.list_deliveries(
                ctx, filters=DeliveryFilter(contact_id=profile.contact_id, end=until), limit=50
            ).items
            for delivery in sorted(past, key=lambda d: (d.scheduled_start, d.id)):
                if delivery.status != "scheduled" or delivery.scheduled_end is None:
                    continue
                if delivery.scheduled_end >= until:
                    continue
                done = self.ctx(actor, delivery.scheduled_end + timedelta(minutes=20))
                roll = self.rng.random()
                if roll < 0.06:
                    deliveries.no_show(done, delivery.id, note="Client did not join; rebooked.")
                elif roll < 0.11:
                    deliveries.cancel(done, delivery.id, reason="Client asked to skip this one")
                else:
                    deliveries.deliver(done, delivery.id, outcome_notes=self._outcome())
            visits = activities.list_activities(
                ctx,
                filters=ActivityFilter(contact_id=profile.contact_id, status="open"),
                limit=50,
            ).items
            for visit in visits:
                ends = visit.end_at or visit.due_at
                if visit.schedule_id is None or ends is None or ends >= until:
                    continue
                activities.complete_activity(
                    self.ctx(actor, ends + timedelta(minutes=30)),
                    visit.id,
                    note="Visited; records collected.",
                )

    def _outcome(self) -> str:
        return self.rng.choice(texts.DELIVERY_OUTCOMES)

    # --- support -------------------------------------------------------------------------------

    def _cases(self, clients: list[Profile]) -> None:
        """Cases in every status and priority, opened over the last weeks."""
        if not clients:
            return
        moves = {
            "open": [],
            "pending": [CaseAction.MARK_PENDING],
            "resolved": [CaseAction.RESOLVE],
            "closed": [CaseAction.RESOLVE, CaseAction.CLOSE],
        }
        chosen = self.rng.sample(clients, min(len(clients), 22))
        combos = [(s, p) for s in moves for p in CasePriority]
        combos += [("open", CasePriority.HIGH), ("open", CasePriority.NORMAL)]
        combos += [("pending", CasePriority.NORMAL), ("resolved", CasePriority.LOW)]
        combos += [("open", CasePriority.URGENT), ("closed", CasePriority.NORMAL)]
        for (status, priority), profile in zip(combos, chosen, strict=False):
            subject, description, answer = self.rng.choice(texts.CASES)
            actor = self._assignee(profile)
            age = (
                self.rng.randint(1, 6) if status in ("open", "pending") else self.rng.randint(8, 40)
            )
            day = self.cal.workday(self.cal.last - age)
            opened = cases.open_case(
                self.ctx(actor, self.at(day, self.rng.randint(9, 15), self.rng.randint(0, 59))),
                profile.contact_id,
                subject=subject,
                description=description,
                priority=priority,
                assignee_id=actor.user_id,
            )
            later = self.at(day, 16, self.rng.randint(0, 59))
            if status != "open" or self.rng.random() < 0.5:
                cases.respond(self.ctx(actor, later), opened.id, body=answer)
            for step, action in enumerate(moves[status], start=1):
                when = later + timedelta(days=step, hours=-6)
                cases.move(self.ctx(actor, when), opened.id, action, note=answer[:120])

    # --- what the firm knows and promised -------------------------------------------------------

    def _knowledge(self, clients: list[Profile]) -> None:
        for profile in clients:
            if self.rng.random() >= 0.6:
                continue
            actor = self._assignee(profile)
            day = self.cal.workday(max(profile.spells[-1].start, self.cal.last - 300))
            pool = (
                texts.KNOWLEDGE_ORG if profile.kind is ContactKind.ORGANIZATION else texts.KNOWLEDGE
            )
            for i, (kind, text) in enumerate(self.rng.sample(pool, self.rng.randint(1, 3))):
                knowledge.add(
                    self.ctx(actor, self.at(day, 17, 10 + i)),
                    profile.contact_id,
                    kind=KnowledgeKind(kind),
                    text=text.format(name=profile.first_name),
                    pinned=kind == KnowledgeKind.DO_NOT.value,
                )

    def _commitments(self, clients: list[Profile]) -> None:
        for profile in clients:
            if self.rng.random() >= 0.3:
                continue
            actor = self._assignee(profile)
            made = self.cal.workday(self.cal.last - self.rng.randint(3, 40))
            due = self.cal.on(made) + timedelta(days=self.rng.randint(3, 21))
            ctx = self.ctx(actor, self.at(made, 12, self.rng.randint(0, 59)))
            promise = commitments.make(
                ctx,
                profile.contact_id,
                text=self.rng.choice(texts.PROMISES),
                promised_to=profile.first_name,
                due_on=due,
            )
            self._settle(actor, promise.id, due)

    def _settle(self, actor: Actor, commitment_id: int, due: date) -> None:
        """Promises due before today are mostly kept, some broken; later ones stay open."""
        if due >= self.cal.on(self.cal.last):
            return
        day = (due - self.cal.start).days - self.rng.randint(0, 2)
        action = CommitmentAction.KEEP if self.rng.random() < 0.8 else CommitmentAction.BREAK
        if self.rng.random() < 0.2:
            return  # overdue and still open: the Today page shows it
        commitments.resolve(self.ctx(actor, self.at(max(day, 0), 17, 30)), commitment_id, action)

    # --- automation ----------------------------------------------------------------------------

    def _automation(self, clients: list[Profile]) -> None:
        """Install the defaults now (after the history: nothing past fires), then put the
        newest clients through onboarding, each as far as its days allow."""
        now = self.at(self.cal.last, 18)
        rules.install_defaults(self.ctx(self.owner, now))
        ctx = self.ctx(self.owner, now)
        onboarding = (
            PlaybookRepository(ctx.session, ctx.workspace_id).by_builtin().get("onboarding")
        )
        if onboarding is None:
            return
        newest = sorted(clients, key=lambda p: -p.spells[-1].start)[:7]
        for index, profile in enumerate(newest):
            ago = (4, 12, 20, 26, 2, 9, 45)[index]
            started = self.at(self.cal.workday(self.cal.last - ago), 9, 30)
            actor = self._assignee(profile)
            run = playbooks.start(
                self.ctx(actor, started), playbook_id=onboarding.id, contact_id=profile.contact_id
            )
            for step_index, step in enumerate(onboarding.steps or []):
                due = started + timedelta(days=int(step.get("day", 0)), minutes=5)
                if due > now:
                    break
                playbooks.run_step(
                    self.ctx(actor, due),
                    {
                        "run_id": run.id,
                        "index": step_index,
                        "total": len(onboarding.steps or []),
                        "step": step,
                    },
                )
            if index == 3:  # one client said they needed no onboarding
                playbooks.cancel(
                    self.ctx(actor, started + timedelta(days=5)),
                    run.id,
                    reason="Client already set up with us before",
                )
