"""Who is in the demo: the members, and about 200 contacts each with a story and its days.

Everything comes from one seeded ``random.Random``; nothing here touches the database.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

from tenure.domain.access import Role
from tenure.domain.contacts import ContactKind
from tenure.services.demo import data
from tenure.services.demo.calendar import DemoCalendar


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: Role
    given_name: str
    full_name: str


class Story(StrEnum):
    CLIENT = "client"
    FORMER = "former"
    RETURNED = "returned"  # client, former client, client again
    RETURNED_FORMER = "returned_former"  # … and former again
    PROSPECT = "prospect"
    PLAIN = "plain"


#: How many contacts of each kind live each story (orgs, people): 80 clients, 25 former
#: clients, 8 reactivations, 200 contacts.
CAST: dict[Story, tuple[int, int]] = {
    Story.CLIENT: (24, 50),
    Story.RETURNED: (2, 4),
    Story.FORMER: (6, 17),
    Story.RETURNED_FORMER: (1, 1),
    Story.PROSPECT: (4, 12),
    Story.PLAIN: (3, 76),
}

#: Days a story needs after its contact is created (people join existing organizations).
ROOM: dict[Story, int] = {
    Story.PLAIN: 1,
    Story.PROSPECT: 30,
    Story.CLIENT: 360,
    Story.FORMER: 360,
    Story.RETURNED: 630,
    Story.RETURNED_FORMER: 630,
}

#: Reasons a relationship ends on the client's side (``agreement_ended`` is set by Tenure).
END_REASONS: tuple[str, ...] = (
    "price",
    "service_quality",
    "no_longer_needed",
    "competitor",
    "moved",
    "unresponsive",
    "completed",
    "other",
)


@dataclass
class Spell:
    """One planned time as a client, in day numbers of the history."""

    start: int
    end: int | None
    #: An ``EndReason`` value; ``agreement_ended`` when a fixed-term primary runs out.
    reason: str | None = None
    imported: bool = False


@dataclass
class Profile:
    kind: ContactKind
    display_name: str
    given_name: str | None
    family_name: str | None
    emails: list[str]
    phones: list[str]
    address: dict[str, str]
    timezone: str | None
    tags: list[str]
    notes: str
    owner: Actor
    story: Story
    created: int = 0
    spells: list[Spell] = field(default_factory=list)
    organization: Profile | None = None
    title: str = ""
    people: list[Profile] = field(default_factory=list)
    id: int | None = None

    @property
    def contact_id(self) -> int:
        assert self.id is not None, f"{self.display_name} is not created yet"
        return self.id

    @property
    def first_name(self) -> str:
        if self.given_name:
            return self.given_name
        if self.people:
            return self.people[0].first_name
        return self.display_name

    @property
    def counterpart(self) -> str:
        """Who the firm deals with: the person, or an organization's first contact person."""
        return self.people[0].display_name if self.people else self.display_name

    @property
    def ever_client(self) -> bool:
        return bool(self.spells)


class Casting:
    """Invents the contacts (organizations first, so people can join them) and their days."""

    def __init__(self, rng: random.Random, calendar: DemoCalendar, staff: list[Actor]) -> None:
        self.rng = rng
        self.cal = calendar
        self.staff = staff
        #: The members who own contacts and act; viewers never write.
        self.writers = [a for a in staff if a.role is not Role.VIEWER]
        self.profiles: list[Profile] = []
        self._emails: set[str] = set()
        self._phones: set[str] = set()

    # --- the cast ------------------------------------------------------------------------------

    def cast(self) -> list[Profile]:
        organizations = self._organizations()
        self._people(organizations)
        return self.profiles

    def _stories(self, index: int) -> list[Story]:
        stories = [story for story, counts in CAST.items() for _ in range(counts[index])]
        self.rng.shuffle(stories)
        return stories

    def _organizations(self) -> list[Profile]:
        rng = self.rng
        companies = rng.sample(data.COMPANIES, sum(c[0] for c in CAST.values()))
        orgs: list[Profile] = []
        for company, story in zip(companies, self._stories(0), strict=True):
            city = rng.choice(data.UK_CITIES)
            email = self._unique_email(
                rng.choice(("info", "accounts", "hello", "office")), company.domain
            )
            org = Profile(
                kind=ContactKind.ORGANIZATION,
                display_name=company.name,
                given_name=None,
                family_name=None,
                emails=[email],
                phones=[self._landline(city)],
                address=self._address(city, business=True),
                timezone=None,
                tags=[company.industry.replace(" ", "-")],
                notes=rng.choice(data.ORG_NOTES),
                owner=self._owner(),
                story=story,
            )
            self._plan_days(org, floor=0)
            orgs.append(org)
        self.profiles.extend(orgs)
        return orgs

    def _people(self, orgs: list[Profile]) -> None:
        rng = self.rng
        stories = self._stories(1)
        europeans = list(data.EUROPEANS)
        names: list[tuple[str, str, data.City]] = []
        taken: set[tuple[str, str]] = set()
        for given, family, city_name in europeans:
            city = next(c for c in data.EU_CITIES if c.name == city_name)
            names.append((given, family, city))
            taken.add((given, family))
        while len(names) < len(stories):
            pair = (rng.choice(data.GIVEN_NAMES), rng.choice(data.FAMILY_NAMES))
            if pair not in taken:
                taken.add(pair)
                names.append((pair[0], pair[1], rng.choice(data.UK_CITIES)))
        rng.shuffle(names)
        affiliation_odds = {
            Story.PLAIN: 0.85,
            Story.PROSPECT: 0.4,
            Story.CLIENT: 0.3,
            Story.FORMER: 0.3,
            Story.RETURNED: 0.2,
            Story.RETURNED_FORMER: 0.2,
        }
        for (given, family, city), story in zip(names, stories, strict=True):
            org: Profile | None = None
            if city.country == "United Kingdom" and rng.random() < affiliation_odds[story]:
                # A story needs room after the organization exists to play out.
                choices = [o for o in orgs if o.created <= self.cal.last - ROOM[story]]
                if choices:
                    weights = [3 if o.ever_client else 1 for o in choices]
                    org = rng.choices(choices, weights)[0]
            person = self._person(given, family, city, story, org)
            self._plan_days(person, floor=org.created + 1 if org else 0)
            self.profiles.append(person)

    def _person(
        self, given: str, family: str, city: data.City, story: Story, org: Profile | None
    ) -> Profile:
        rng = self.rng
        local = _ascii(given).lower()
        surname = _ascii(family).lower().replace(" ", "").replace("'", "")
        emails: list[str] = []
        if org is not None:
            domain = org.emails[0].split("@", 1)[1]
            emails.append(self._unique_email(f"{local}.{surname}", domain))
        if org is None or rng.random() < 0.3:
            style = rng.choice((f"{local}.{surname}", f"{local}{surname}", f"{local[0]}{surname}"))
            emails.append(self._unique_email(style, rng.choice(data.PERSONAL_DOMAINS)))
        phones = [self._mobile()] if city.country == "United Kingdom" else []
        if org is None or rng.random() < 0.2:
            phones.append(self._landline(city))
        person = Profile(
            kind=ContactKind.PERSON,
            display_name=f"{given} {family}",
            given_name=given,
            family_name=family,
            emails=emails,
            phones=phones,
            address=self._address(city, business=False) if org is None else {},
            timezone=city.timezone,
            tags=[],
            notes=rng.choice(data.PERSON_NOTES),
            owner=org.owner if org is not None and rng.random() < 0.7 else self._owner(),
            story=story,
            organization=org,
            title=rng.choice(data.JOB_TITLES) if org is not None else "",
        )
        if org is not None:
            org.people.append(person)
        return person

    def _owner(self) -> Actor:
        return self.rng.choices(self.writers, weights=[3, 4, 4][: len(self.writers)])[0]

    def _unique_email(self, local: str, domain: str) -> str:
        candidate, n = f"{local}@{domain}", 1
        while candidate in self._emails:
            n += 1
            candidate = f"{local}{n}@{domain}"
        self._emails.add(candidate)
        return candidate

    def _unique_number(self, prefix: str, digits: int) -> str:
        while True:
            number = prefix + "".join(str(self.rng.randrange(10)) for _ in range(digits))
            if number not in self._phones:
                self._phones.add(number)
                return number

    def _landline(self, city: data.City) -> str:
        return self._unique_number(city.phone_prefix, 3)

    def _mobile(self) -> str:
        return self._unique_number(data.MOBILE_PREFIX, 3)

    def _address(self, city: data.City, *, business: bool) -> dict[str, str]:
        rng = self.rng
        street = rng.choice(data.STREETS)
        if business:
            line = rng.choice(data.BUSINESS_ADDRESSES).format(n=rng.randint(1, 48), street=street)
        else:
            line = f"{rng.randint(1, 140)} {street}"
        district = rng.choice(city.postcodes)
        if city.country == "United Kingdom":
            letters = "".join(rng.choice(data.POSTCODE_LETTERS) for _ in range(2))
            postcode = f"{district} {rng.randint(1, 9)}{letters}"
        else:
            postcode = district
        return {
            "street": line,
            "locality": city.name,
            "region": city.region,
            "postal_code": postcode,
            "country": city.country,
        }

    # --- days of each story --------------------------------------------------------------------

    def _plan_days(self, profile: Profile, *, floor: int) -> None:
        rng, last, story = self.rng, self.cal.last, profile.story
        floor = min(floor, last)
        imported = floor <= 15 and rng.random() < 0.4
        if story is Story.PLAIN:
            profile.created = self.cal.workday(floor + int(rng.random() ** 1.5 * (last - floor)))
        elif story is Story.PROSPECT:
            profile.created = self.cal.workday(rng.randint(floor, max(floor, last - 10)))
        elif story is Story.CLIENT:
            if imported:
                start = self.cal.workday(rng.randint(floor, 20))
                profile.created = start
            else:
                start = self.cal.workday(rng.randint(max(floor + 10, 25), last - 5))
                profile.created = self.cal.workday(max(floor, start - rng.randint(10, 60)))
            profile.spells = [Spell(start, None, imported=imported)]
        elif story is Story.FORMER:
            length = rng.randint(45, 480)
            if imported:
                start = self.cal.workday(rng.randint(floor, 20))
                profile.created = start
            else:
                start = self.cal.workday(rng.randint(max(floor + 10, 25), last - 50))
                profile.created = self.cal.workday(max(floor, start - rng.randint(10, 60)))
            end = self.cal.workday(min(start + length, last))
            profile.spells = [Spell(start, end, self._end_reason(), imported=imported)]
        else:
            first, gap, second = rng.randint(60, 260), rng.randint(30, 150), rng.randint(30, 120)
            tail = rng.randint(10, 60) if story is Story.RETURNED_FORMER else 0
            total = first + gap + second + tail + 10
            low = max(floor + 10, 20)
            start = self.cal.workday(rng.randint(low, max(low, last - total)))
            profile.created = self.cal.workday(max(floor, start - rng.randint(10, 45)))
            end = self.cal.workday(start + first)
            again = self.cal.workday(end + gap)
            reason = rng.choice(("price", "competitor", "moved", "other", "no_longer_needed"))
            profile.spells = [Spell(start, end, reason)]
            if story is Story.RETURNED_FORMER:
                profile.spells.append(
                    Spell(again, self.cal.workday(again + second), self._end_reason())
                )
            else:
                profile.spells.append(Spell(again, None))

    def _end_reason(self) -> str:
        return "agreement_ended" if self.rng.random() < 0.3 else self.rng.choice(END_REASONS)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
