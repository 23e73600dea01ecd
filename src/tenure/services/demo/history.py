"""What happens to each contact over the two years, as steps that call the services.

Each happening becomes a ``Step``: a historical moment, who acts, and a call into the ordinary
services (contacts, agreements, lifecycle, interactions). ``load_demo`` runs the steps of all
contacts together in time order, so every rule, transition and timeline event of the demo is real.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tenure.db.repositories.contacts import ContactRepository
from tenure.domain.access import Role
from tenure.domain.agreements import AgreementKind, BillingPeriod
from tenure.domain.contacts import ContactKind
from tenure.domain.lifecycle import EndReason
from tenure.services import agreements, contacts, interactions, lifecycle
from tenure.services.context import Ctx
from tenure.services.demo import data
from tenure.services.demo.calendar import DemoCalendar, add_years
from tenure.services.demo.cast import Actor, Profile, Spell, Story
from tenure.services.interactions import Channel, Direction

Action = Callable[[Ctx], None]


@dataclass(frozen=True)
class Step:
    at: datetime
    seq: int
    actor: Actor
    action: Action
    label: str


@dataclass
class Deal:
    """A planned agreement; ``id`` is filled when the step that drafts it runs."""

    offer: data.Offer
    value_minor: int
    id: int | None = None

    @property
    def agreement_id(self) -> int:
        assert self.id is not None
        return self.id


class History:
    """Plans every contact's history as steps (run later, all together, in time order)."""

    def __init__(
        self,
        rng: random.Random,
        calendar: DemoCalendar,
        staff: list[Actor],
        profiles: list[Profile],
    ) -> None:
        self.rng = rng
        self.cal = calendar
        self.staff = staff
        self.writers = [a for a in staff if a.role is not Role.VIEWER]
        self.profiles = profiles
        self.steps: list[Step] = []

    def add(self, day: int, hour: int, minute: int, actor: Actor, label: str, fn: Action) -> None:
        at = self.cal.moment(day, hour, minute)
        self.steps.append(Step(at, len(self.steps), actor, fn, label))

    def actor_for(self, profile: Profile) -> Actor:
        return profile.owner if self.rng.random() < 0.75 else self.rng.choice(self.writers)

    # --- steps ---------------------------------------------------------------------------------

    def plan(self) -> list[Step]:
        """Every contact's history as steps, in planning order (``Step.seq``)."""
        for profile in self.profiles:
            self._create(profile)
            if profile.story is Story.PROSPECT:
                self._prospect(profile)
            elif profile.story is Story.PLAIN:
                self._plain(profile)
            previous: Spell | None = None
            for spell in profile.spells:
                self._spell(profile, spell, previous)
                previous = spell
            if profile.created < self.cal.last and self.rng.random() < 0.06:
                self._change_owner(profile)
        return self.steps

    def _add_at(self, at: datetime, actor: Actor, label: str, fn: Action) -> None:
        self.steps.append(Step(at, len(self.steps), actor, fn, label))

    def _create(self, profile: Profile) -> None:
        rng = self.rng
        if profile.ever_client and rng.random() < 0.18:
            profile.tags.append("referral")
            referrer = rng.choice([p for p in self.profiles if p.ever_client and p is not profile])
            note = f"Referred by {referrer.display_name}."
            profile.notes = f"{profile.notes}\n{note}" if profile.notes else note
        org = profile.organization

        def create(ctx: Ctx) -> None:
            view = contacts.create_contact(
                ctx,
                kind=profile.kind,
                display_name=profile.display_name if profile.given_name is None else None,
                given_name=profile.given_name,
                family_name=profile.family_name,
                emails=[
                    contacts.EmailIn(email, label="work" if org and i == 0 else None)
                    for i, email in enumerate(profile.emails)
                ],
                phones=[
                    contacts.PhoneIn(number, label="mobile" if number.startswith("+447") else None)
                    for number in profile.phones
                ],
                address=dict(profile.address) or None,
                timezone=profile.timezone,
                tags=profile.tags,
                owner_id=profile.owner.user_id,
                organizations=(
                    [contacts.OrganizationLink(org.contact_id, profile.title)] if org else ()
                ),
                notes=profile.notes,
            )
            profile.id = view.contact.id

        self.add(profile.created, 9, rng.randint(0, 59), self.actor_for(profile), "add", create)

    def _prospect(self, profile: Profile) -> None:
        rng = self.rng
        service = self._primary(profile, fixed=False)
        deal = Deal(service, self._value(service))
        for _ in range(rng.randint(2, 4)):
            day = self.cal.workday(rng.randint(profile.created, self.cal.last))
            self._talk(profile, day, rng.choice(data.PROSPECT), deal)
        proposal = self.cal.workday(profile.created + rng.randint(1, 20))
        self._draft(profile, deal, proposal, self.cal.on(proposal) + timedelta(days=30))
        if proposal < self.cal.last - 45:
            self._cancel(profile, deal, self.cal.workday(proposal + rng.randint(7, 40)))

    def _plain(self, profile: Profile) -> None:
        for _ in range(self.rng.choice((0, 0, 1, 1, 2, 3))):
            day = self.cal.workday(self.rng.randint(profile.created, self.cal.last))
            self._talk(profile, day, self.rng.choice(data.CONTACT_ONLY), None)

    def _spell(self, profile: Profile, spell: Spell, previous: Spell | None) -> None:
        """One time as a client: proposal, confirmation, the work, and maybe the end."""
        rng = self.rng
        fixed = spell.reason == "agreement_ended"
        deal = Deal(self._primary(profile, fixed=fixed), 0)
        deal.value_minor = self._value(deal.offer)
        start, stop = spell.start, spell.end if spell.end is not None else self.cal.last
        if spell.imported:
            # An existing client entered from the old records: back-dated to when it began.
            back = rng.randint(30, 200) if fixed else rng.randint(90, 2900)
            starts_on = self.cal.on(start) - timedelta(days=back)
            draft_day = start
        else:
            floor = profile.created if previous is None else (previous.end or start) + 1
            starts_on = self.cal.on(start)
            draft_day = self.cal.workday(max(floor, start - rng.randint(2, 16)))
            if previous is not None:
                self._talk(
                    profile, self.cal.workday(max(floor, draft_day - 5)), data.REACTIVATION[0], deal
                )
            else:
                for _ in range(rng.randint(1, 3)):
                    day = self.cal.workday(rng.randint(profile.created, start))
                    self._talk(profile, day, rng.choice(data.PROSPECT), deal)
        ends_on = self.cal.on(spell.end) if fixed and spell.end is not None else None
        self._draft(profile, deal, draft_day, starts_on, ends_on=ends_on, hour=10)
        self._confirm(profile, deal, start, hour=10 if spell.imported else 11)
        self._add_tags(profile, start, deal.offer.tags, hour=11)
        extras = [] if fixed else self._extras(profile, spell, stop)
        self._conversation(profile, spell, deal, extras, previous is not None)
        if deal.offer.period is BillingPeriod.YEARLY and not fixed:
            self._renewals(profile, deal, starts_on, start, stop)
        upgradable = spell.end is None and deal.offer.title == "Monthly bookkeeping"
        if upgradable and start < self.cal.last - 200 and rng.random() < 0.5:
            self._upgrade(
                profile, deal, self.cal.workday(rng.randint(start + 150, self.cal.last - 20))
            )
        if rng.random() < 0.12 and start + 20 < stop - 40:
            offer = self._extra_service(profile)
            proposal = Deal(offer, self._value(offer))
            day = self.cal.workday(rng.randint(start + 20, stop - 40))
            self._draft(profile, proposal, day, self.cal.on(day) + timedelta(days=30))
            self._cancel(profile, proposal, self.cal.workday(day + rng.randint(7, 30)))
        if spell.end is None and rng.random() < 0.15:
            offer = self._extra_service(profile)
            day = self.cal.workday(
                rng.randint(min(max(start + 1, self.cal.last - 40), self.cal.last), self.cal.last)
            )
            self._draft(
                profile, Deal(offer, self._value(offer)), day, self.cal.on(day) + timedelta(days=14)
            )
        vip_odds = 0.3 if profile.kind is ContactKind.ORGANIZATION else 0.08
        if "vip" not in profile.tags and start + 60 < stop - 1 and rng.random() < vip_odds:
            self._add_tags(
                profile, self.cal.workday(rng.randint(start + 60, stop - 1)), ("vip",), hour=8
            )
            profile.tags.append("vip")
        if spell.end is not None:
            self._end(profile, spell, deal)

    def _extras(self, profile: Profile, spell: Spell, stop: int) -> list[Deal]:
        """Further agreements of a client: payroll, VAT, projects (which end when done)."""
        rng = self.rng
        count = rng.choice(
            (0, 1, 1, 2, 2, 3) if profile.kind is ContactKind.ORGANIZATION else (0, 0, 0, 1)
        )
        pool = data.ORG_EXTRAS if profile.kind is ContactKind.ORGANIZATION else data.PERSON_EXTRAS
        chosen: list[data.Offer] = []
        for service in rng.sample(pool, len(pool)):
            if len(chosen) < count and service.title not in {s.title for s in chosen}:
                chosen.append(service)
        deals: list[Deal] = []
        for service in chosen:
            if spell.start + 7 >= stop - 5:
                break
            deal = Deal(service, self._value(service))
            begin = self.cal.workday(rng.randint(spell.start + 7, stop - 5))
            ends_on: date | None = None
            finish: int | None = None
            if service.term_days is not None:
                planned = begin + rng.randint(*service.term_days)
                ends_on = self.cal.on(planned)
                finishing = self.cal.workday(planned)
                if planned <= self.cal.last and finishing < stop:
                    finish = finishing
            self._draft(
                profile,
                deal,
                self.cal.workday(max(spell.start, begin - rng.randint(1, 7))),
                self.cal.on(begin),
                ends_on=ends_on,
            )
            self._confirm(profile, deal, begin, hour=12)
            self._add_tags(profile, begin, service.tags, hour=12)
            if finish is not None:
                self._end_agreement(
                    profile, deal, finish, EndReason.COMPLETED, "Work completed", hour=14
                )
            deals.append(deal)
        return deals

    def _conversation(
        self, profile: Profile, spell: Spell, deal: Deal, extras: list[Deal], returning: bool
    ) -> None:
        """The interactions of one spell: onboarding, the ongoing work, the goodbye."""
        rng = self.rng
        start, stop = spell.start, spell.end if spell.end is not None else self.cal.last
        if returning:
            self._talk(profile, self.cal.workday(min(start + 1, stop)), data.REACTIVATION[1], deal)
        elif not spell.imported:
            for template in rng.sample(data.ONBOARDING, rng.randint(1, 3)):
                day = self.cal.workday(rng.randint(start, min(start + 30, stop)))
                self._talk(profile, day, template, deal)
        pool = list(data.ONGOING)
        pool += data.ONGOING_PERSON if profile.kind is ContactKind.PERSON else data.ONGOING_ORG
        if any("payroll" in d.offer.tags for d in extras):
            pool += data.ONGOING_PAYROLL * 2
        day = start + (1 if spell.imported else 30) + rng.randint(0, 20)
        while day < stop - 2:
            self._talk(profile, self.cal.workday(day), rng.choice(pool), deal)
            day += rng.randint(30, 95)
        if spell.end is not None:
            ending = data.ENDINGS[spell.reason or "other"]
            self._talk(
                profile, self.cal.workday(max(start, spell.end - rng.randint(3, 14))), ending, deal
            )
            until = self.cal.last
            later = profile.spells[profile.spells.index(spell) + 1 :]
            if later:
                until = later[0].start - 10
            for template in data.AFTER_END[: rng.randint(0, 2)]:
                if spell.end + 1 < until:
                    self._talk(
                        profile, self.cal.workday(rng.randint(spell.end + 1, until)), template, deal
                    )

    def _renewals(
        self, profile: Profile, deal: Deal, starts_on: date, start: int, stop: int
    ) -> None:
        """A yearly agreement rolls its renewal date on each anniversary."""
        years = 1
        while add_years(starts_on, years) <= self.cal.on(start):
            years += 1
        while True:
            due = add_years(starts_on, years)
            day = (due - self.cal.start).days
            if day >= stop or day > self.cal.last:
                return
            following = add_years(starts_on, years + 1)

            def renew(ctx: Ctx, following: date = following) -> None:
                current = agreements.get_agreement(ctx, deal.agreement_id)
                agreements.update_agreement(
                    ctx,
                    deal.agreement_id,
                    expected_version=current.version,
                    changes={"renews_on": following},
                )

            self.add(
                self.cal.workday(day), 8, self.rng.randint(0, 50), profile.owner, "renew", renew
            )
            years += 1

    def _upgrade(self, profile: Profile, deal: Deal, day: int) -> None:
        service = data.Offer(data.UPGRADE_TITLE, data.SUB, data.MONTHLY, 0, 0, ("payroll",))
        better = Deal(service, (deal.value_minor * 8 // 5) // 500 * 500)
        self._draft(profile, better, self.cal.workday(max(0, day - 7)), self.cal.on(day))
        self._confirm(profile, better, day, hour=11)
        self._end_agreement(
            profile, deal, day, EndReason.OTHER, f"Replaced by {service.title}", hour=11, minute=45
        )
        self._add_tags(profile, day, service.tags, hour=12)

    def _end(self, profile: Profile, spell: Spell, deal: Deal) -> None:
        assert spell.end is not None and spell.reason is not None
        if spell.reason == "agreement_ended":
            self._end_agreement(
                profile, deal, spell.end, EndReason.COMPLETED, "Fixed term completed", hour=15
            )
            return
        reason = EndReason(spell.reason)
        note = data.EXIT_NOTES[spell.reason]

        def end(ctx: Ctx) -> None:
            lifecycle.end(ctx, profile.contact_id, reason=reason, note=note)

        self.add(
            spell.end, 15, self.rng.randint(0, 59), self.actor_for(profile), "end relationship", end
        )

    def _change_owner(self, profile: Profile) -> None:
        others = [a for a in self.writers if a.user_id != profile.owner.user_id]
        successor = self.rng.choice(others)
        day = self.cal.workday(self.rng.randint(profile.created + 1, self.cal.last))

        def reassign(ctx: Ctx) -> None:
            current = ContactRepository(ctx.session, ctx.workspace_id).get(profile.contact_id)
            contacts.update_contact(
                ctx,
                profile.contact_id,
                expected_version=current.version,
                changes={"owner_id": successor.user_id},
            )

        self.add(day, 8, self.rng.randint(0, 59), self.staff[0], "reassign", reassign)

    # --- single actions ------------------------------------------------------------------------

    def _draft(
        self,
        profile: Profile,
        deal: Deal,
        day: int,
        starts_on: date,
        *,
        ends_on: date | None = None,
        hour: int = 10,
    ) -> None:
        service = deal.offer
        renews_on = add_years(starts_on, 1) if service.period is BillingPeriod.YEARLY else None
        if service.kind is AgreementKind.CONTRACT:
            renews_on = ends_on
        years = 1
        while renews_on is not None and renews_on <= self.cal.on(day):
            years += 1
            renews_on = add_years(starts_on, years)

        def draft(ctx: Ctx) -> None:
            agreement = agreements.create_agreement(
                ctx,
                profile.contact_id,
                title=service.title,
                kind=service.kind,
                starts_on=starts_on,
                ends_on=ends_on,
                renews_on=renews_on,
                value_minor=deal.value_minor,
                currency="GBP",
                billing_period=service.period,
                terms=_terms(service),
            )
            deal.id = agreement.id

        self.add(day, hour, self.rng.randint(0, 29), self.actor_for(profile), "draft", draft)

    def _confirm(self, profile: Profile, deal: Deal, day: int, *, hour: int) -> None:
        def confirm(ctx: Ctx) -> None:
            agreements.confirm(ctx, deal.agreement_id)

        self.add(day, hour, self.rng.randint(30, 44), self.actor_for(profile), "confirm", confirm)

    def _cancel(self, profile: Profile, deal: Deal, day: int) -> None:
        note = self.rng.choice(data.CANCEL_NOTES)

        def cancel(ctx: Ctx) -> None:
            agreements.cancel(ctx, deal.agreement_id, note=note)

        self.add(day, 12, self.rng.randint(0, 59), self.actor_for(profile), "cancel", cancel)

    def _end_agreement(
        self,
        profile: Profile,
        deal: Deal,
        day: int,
        reason: EndReason,
        note: str,
        *,
        hour: int,
        minute: int | None = None,
    ) -> None:
        def end(ctx: Ctx) -> None:
            agreements.end(ctx, deal.agreement_id, reason=reason, note=note)

        at = self.rng.randint(0, 59) if minute is None else minute
        self.add(day, hour, at, self.actor_for(profile), "end agreement", end)

    def _add_tags(self, profile: Profile, day: int, tags: Sequence[str], *, hour: int) -> None:
        if not tags:
            return

        def tag(ctx: Ctx) -> None:
            current = ContactRepository(ctx.session, ctx.workspace_id).get(profile.contact_id)
            missing = [t for t in tags if t not in current.tags]
            if missing:
                contacts.update_contact(
                    ctx,
                    profile.contact_id,
                    expected_version=current.version,
                    changes={"tags": [*current.tags, *missing]},
                )

        self.add(day, hour, self.rng.randint(46, 59), self.actor_for(profile), "tag", tag)

    def _talk(self, profile: Profile, day: int, template: data.Template, deal: Deal | None) -> None:
        """Log one interaction, a little after it happened."""
        rng = self.rng
        channel, direction, subject, body = template
        actor = self.actor_for(profile)
        hour = rng.randint(10 if day <= profile.created else 9, 16)
        occurred = self.cal.moment(day, hour, rng.randint(0, 59))
        values = self._words(profile, self.cal.on(day), actor, deal)
        participants = [profile.counterpart]
        if channel in {"meeting", "visit"}:
            participants.append(actor.full_name)
        text_subject, text_body = subject.format(**values), body.format(**values)

        def log(ctx: Ctx) -> None:
            interactions.log_interaction(
                ctx,
                profile.contact_id,
                channel=Channel(channel),
                direction=Direction(direction),
                occurred_at=occurred,
                subject=text_subject,
                body=text_body,
                participants=participants,
            )

        logged = occurred + timedelta(minutes=rng.randint(2, 90))
        self._add_at(logged, actor, "log interaction", log)

    # --- values --------------------------------------------------------------------------------

    def _primary(self, profile: Profile, *, fixed: bool) -> data.Offer:
        if profile.kind is ContactKind.ORGANIZATION:
            return self.rng.choice(data.ORG_FIXED_TERM if fixed else data.ORG_PRIMARY)
        return self.rng.choice(data.PERSON_FIXED_TERM if fixed else data.PERSON_PRIMARY)

    def _extra_service(self, profile: Profile) -> data.Offer:
        pool = data.ORG_EXTRAS if profile.kind is ContactKind.ORGANIZATION else data.PERSON_EXTRAS
        return self.rng.choice(pool)

    def _value(self, service: data.Offer) -> int:
        """Pence, rounded to £5."""
        return self.rng.randint(service.low, service.high) // 5 * 5 * 100

    def _words(
        self, profile: Profile, day: date, actor: Actor, deal: Deal | None
    ) -> dict[str, str]:
        rng = self.rng
        previous_month = day.replace(day=1) - timedelta(days=1)
        quarter = (day.month - 1) // 3
        after_april = (day.month, day.day) >= (4, 6)
        tax_end = day.year if after_april else day.year - 1
        service = deal.offer.title if deal else "bookkeeping and tax"
        return {
            "name": profile.first_name,
            "me": actor.given_name,
            "service": service[0].lower() + service[1:] if service[1:2].islower() else service,
            "fee": _money(deal.value_minor, deal.offer.period) if deal else "",
            "month": previous_month.strftime("%B %Y"),
            "quarter": f"Q{quarter} {day.year}" if quarter else f"Q4 {day.year - 1}",
            "year": str(day.year - 1),
            "next_year": str(day.year + 1),
            "tax_year": f"{tax_end - 1}/{tax_end % 100:02d}",
            "topic": rng.choice(data.TOPICS),
            "place": rng.choice(data.MOVE_PLACES),
            "rival": rng.choice(data.RIVALS),
        }


def _money(value_minor: int, period: BillingPeriod) -> str:
    per = {
        BillingPeriod.MONTHLY: " a month",
        BillingPeriod.QUARTERLY: " a quarter",
        BillingPeriod.YEARLY: " a year",
        BillingPeriod.ONE_OFF: "",
    }[period]
    return f"£{value_minor // 100:,}{per}"


def _terms(service: data.Offer) -> str:
    if service.kind is AgreementKind.CONTRACT:
        return "Minimum term as stated, invoiced monthly; 60 days' notice before the end date."
    if service.kind in {AgreementKind.ENGAGEMENT, AgreementKind.ONE_OFF}:
        return "Fixed fee: half on signature, half on completion."
    return {
        BillingPeriod.MONTHLY: "Fixed monthly fee by direct debit; 30 days' notice either side.",
        BillingPeriod.QUARTERLY: "Billed quarterly in advance; 30 days' notice either side.",
        BillingPeriod.YEARLY: "Annual fee in monthly instalments; renews each year unless "
        "cancelled.",
        BillingPeriod.ONE_OFF: "Fixed fee.",
    }[service.period]
