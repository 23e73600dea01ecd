"""Queries about activities, schedules, services, deliveries, cases and calendar feeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy import case as sa_case

from tenure.db.models import Activity, CalendarFeed, Case, Contact, Delivery, Schedule, Service
from tenure.db.repositories.base import Repository
from tenure.db.repositories.keyset import KeysetOrder
from tenure.domain.cases import PRIORITY_RANK

OPEN_DELIVERY_STATUSES = ("requested", "scheduled", "in_progress")
#: How long before a calendar window an item may start and still reach into it (the bound
#: keeps the query on the (status, at) indexes).
CALENDAR_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class ActivityFilter:
    contact_id: int | None = None
    assignee_id: int | None = None
    status: str | None = None
    kind: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class ActivityRepository(Repository[Activity]):
    model = Activity
    noun = "activity"

    def page(
        self, filters: ActivityFilter, *, after: list[Any] | None, limit: int
    ) -> Sequence[Activity]:
        stmt = self.select()
        if filters.contact_id is not None:
            stmt = stmt.where(Activity.contact_id == filters.contact_id)
        if filters.assignee_id is not None:
            stmt = stmt.where(Activity.assignee_id == filters.assignee_id)
        if filters.status:
            stmt = stmt.where(Activity.status == filters.status)
        if filters.kind:
            stmt = stmt.where(Activity.kind == filters.kind)
        if filters.start is not None:
            stmt = stmt.where(Activity.at >= filters.start)
        if filters.end is not None:
            stmt = stmt.where(Activity.at < filters.end)
        order = KeysetOrder(Activity.at, Activity.id)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

    def open_of_contact(self, contact_id: int, limit: int) -> Sequence[Activity]:
        stmt = self.select().where(Activity.contact_id == contact_id, Activity.status == "open")
        return self.session.scalars(stmt.order_by(Activity.at, Activity.id).limit(limit)).all()

    def open_until(
        self, *, assignee_id: int | None, until: datetime, limit: int
    ) -> Sequence[Activity]:
        """Open activities due/starting before ``until`` (overdue included), soonest first."""
        stmt = self.select().where(Activity.status == "open", Activity.at < until)
        if assignee_id is not None:
            stmt = stmt.where(Activity.assignee_id == assignee_id)
        return self.session.scalars(stmt.order_by(Activity.at, Activity.id).limit(limit)).all()

    def overlapping(
        self, *, assignee_id: int, start: datetime, end: datetime, exclude_id: int | None
    ) -> Activity | None:
        """An open timed activity of the assignee that overlaps [start, end)."""
        stmt = self.select().where(
            Activity.assignee_id == assignee_id,
            Activity.status == "open",
            Activity.start_at.is_not(None),
            Activity.start_at < end,
            Activity.end_at > start,
        )
        if exclude_id is not None:
            stmt = stmt.where(Activity.id != exclude_id)
        return self.session.scalars(stmt.order_by(Activity.start_at).limit(1)).first()

    def next_open_at(self, contact_id: int) -> datetime | None:
        stmt = self.select(func.min(Activity.at)).where(
            Activity.contact_id == contact_id, Activity.status == "open"
        )
        value: datetime | None = self.session.scalar(stmt)
        return value

    def open_of_contact_from(self, contact_id: int, start: datetime) -> Sequence[Activity]:
        stmt = self.select().where(
            Activity.contact_id == contact_id, Activity.status == "open", Activity.at >= start
        )
        return self.session.scalars(stmt.order_by(Activity.at)).all()

    def of_schedule_from(self, schedule_id: int, start: datetime) -> Sequence[Activity]:
        stmt = self.select().where(Activity.schedule_id == schedule_id, Activity.at >= start)
        return self.session.scalars(stmt.order_by(Activity.at)).all()

    def of_schedule(self, schedule_id: int) -> Sequence[Activity]:
        stmt = self.select().where(Activity.schedule_id == schedule_id)
        return self.session.scalars(stmt.order_by(Activity.at)).all()

    def occurrence_keys(self, schedule_id: int) -> set[str]:
        stmt = self.select(Activity.occurrence_key).where(Activity.schedule_id == schedule_id)
        return {k for k in self.session.scalars(stmt).all() if k}

    def by_occurrence(self, schedule_id: int, key: str) -> Activity | None:
        stmt = self.select().where(
            Activity.schedule_id == schedule_id, Activity.occurrence_key == key
        )
        return self.session.scalars(stmt).one_or_none()

    def timed_for_feed(
        self, *, assignee_id: int | None, contact_id: int | None, start: datetime, end: datetime
    ) -> Sequence[Activity]:
        stmt = self.select().where(
            Activity.start_at.is_not(None), Activity.at >= start, Activity.at < end
        )
        if assignee_id is not None:
            stmt = stmt.where(Activity.assignee_id == assignee_id)
        if contact_id is not None:
            stmt = stmt.where(Activity.contact_id == contact_id)
        return self.session.scalars(stmt.order_by(Activity.at, Activity.id)).all()

    def calendar(
        self, *, assignee_id: int | None, start: datetime, end: datetime, limit: int
    ) -> list[tuple[Activity, str | None]]:
        """Open and done timed activities meeting [start, end), each with its contact's name,
        by start (one query; at most ``limit`` + 1 rows tell whether more exist)."""
        stmt = (
            select(Activity, Contact.display_name)
            .outerjoin(Contact, Contact.id == Activity.contact_id)
            .where(
                Activity.workspace_id == self.workspace_id,
                Activity.status.in_(("open", "done")),
                Activity.start_at.is_not(None),
                Activity.at >= start - CALENDAR_LOOKBACK,
                Activity.at < end,
                Activity.end_at > start,
            )
        )
        if assignee_id is not None:
            stmt = stmt.where(Activity.assignee_id == assignee_id)
        stmt = stmt.order_by(Activity.at, Activity.id).limit(limit + 1)
        return [(a, name) for a, name in self.session.execute(stmt).all()]


class ServiceRepository(Repository[Service]):
    model = Service
    noun = "service"

    def page(
        self, *, active: bool | None, after: list[Any] | None, limit: int
    ) -> Sequence[Service]:
        stmt = self.select()
        if active is not None:
            stmt = stmt.where(Service.active.is_(active))
        order = KeysetOrder(Service.name, Service.id)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

    def by_name(self, name: str) -> Service | None:
        return self.session.scalars(self.select().where(Service.name == name)).one_or_none()


@dataclass(frozen=True)
class DeliveryFilter:
    contact_id: int | None = None
    assignee_id: int | None = None
    status: str | None = None
    service_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None


class DeliveryRepository(Repository[Delivery]):
    model = Delivery
    noun = "delivery"

    def page(
        self, filters: DeliveryFilter, *, after: list[Any] | None, limit: int
    ) -> Sequence[Delivery]:
        stmt = self.select()
        if filters.contact_id is not None:
            stmt = stmt.where(Delivery.contact_id == filters.contact_id)
        if filters.assignee_id is not None:
            stmt = stmt.where(Delivery.assignee_id == filters.assignee_id)
        if filters.status:
            stmt = stmt.where(Delivery.status == filters.status)
        if filters.service_id is not None:
            stmt = stmt.where(Delivery.service_id == filters.service_id)
        if filters.start is not None:
            stmt = stmt.where(Delivery.scheduled_start >= filters.start)
        if filters.end is not None:
            stmt = stmt.where(Delivery.scheduled_start < filters.end)
        # Unscheduled (requested) deliveries have no start: list by id in that case.
        order = KeysetOrder(Delivery.id, Delivery.id, descending=True)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

    def holds_relationship(self, contact_id: int, now: datetime) -> bool:
        """Whether an upcoming scheduled or an in-progress delivery keeps the relationship."""
        stmt = self.select(Delivery.id).where(
            Delivery.contact_id == contact_id,
            or_(
                Delivery.status == "in_progress",
                (Delivery.status == "scheduled") & (Delivery.scheduled_start >= now),
            ),
        )
        return self.session.scalars(stmt.limit(1)).first() is not None

    def upcoming_of_contact(self, contact_id: int, now: datetime, limit: int) -> Sequence[Delivery]:
        stmt = self.select().where(
            Delivery.contact_id == contact_id,
            or_(
                Delivery.status.in_(("requested", "in_progress")),
                (Delivery.status == "scheduled") & (Delivery.scheduled_start >= now),
            ),
        )
        stmt = stmt.order_by(Delivery.scheduled_start, Delivery.id).limit(limit)
        return self.session.scalars(stmt).all()

    def next_scheduled_at(self, contact_id: int) -> datetime | None:
        stmt = self.select(func.min(Delivery.scheduled_start)).where(
            Delivery.contact_id == contact_id, Delivery.status == "scheduled"
        )
        value: datetime | None = self.session.scalar(stmt)
        return value

    def last_delivered_at(self, contact_id: int) -> datetime | None:
        stmt = self.select(func.max(func.coalesce(Delivery.actual_end, Delivery.updated_at))).where(
            Delivery.contact_id == contact_id, Delivery.status == "delivered"
        )
        value: datetime | None = self.session.scalar(stmt)
        return value

    def open_of_contact_from(self, contact_id: int, start: datetime) -> Sequence[Delivery]:
        """Requested (undated) or scheduled-from-``start`` deliveries that an end cancels."""
        stmt = self.select().where(
            Delivery.contact_id == contact_id,
            or_(
                Delivery.status == "requested",
                (Delivery.status == "scheduled") & (Delivery.scheduled_start >= start),
            ),
        )
        return self.session.scalars(stmt.order_by(Delivery.id)).all()

    def overlapping(
        self, *, assignee_id: int, start: datetime, end: datetime, exclude_id: int | None
    ) -> Delivery | None:
        stmt = self.select().where(
            Delivery.assignee_id == assignee_id,
            Delivery.status.in_(("scheduled", "in_progress")),
            Delivery.scheduled_start < end,
            Delivery.scheduled_end > start,
        )
        if exclude_id is not None:
            stmt = stmt.where(Delivery.id != exclude_id)
        return self.session.scalars(stmt.order_by(Delivery.scheduled_start).limit(1)).first()

    def of_schedule_from(self, schedule_id: int, start: datetime) -> Sequence[Delivery]:
        stmt = self.select().where(
            Delivery.schedule_id == schedule_id, Delivery.scheduled_start >= start
        )
        return self.session.scalars(stmt.order_by(Delivery.scheduled_start)).all()

    def of_schedule(self, schedule_id: int) -> Sequence[Delivery]:
        stmt = self.select().where(Delivery.schedule_id == schedule_id)
        return self.session.scalars(stmt.order_by(Delivery.scheduled_start)).all()

    def occurrence_keys(self, schedule_id: int) -> set[str]:
        stmt = self.select(Delivery.occurrence_key).where(Delivery.schedule_id == schedule_id)
        return {k for k in self.session.scalars(stmt).all() if k}

    def by_occurrence(self, schedule_id: int, key: str) -> Delivery | None:
        stmt = self.select().where(
            Delivery.schedule_id == schedule_id, Delivery.occurrence_key == key
        )
        return self.session.scalars(stmt).one_or_none()

    def scheduled_for_feed(
        self, *, assignee_id: int | None, contact_id: int | None, start: datetime, end: datetime
    ) -> Sequence[Delivery]:
        stmt = self.select().where(
            Delivery.scheduled_start.is_not(None),
            Delivery.scheduled_start >= start,
            Delivery.scheduled_start < end,
        )
        if assignee_id is not None:
            stmt = stmt.where(Delivery.assignee_id == assignee_id)
        if contact_id is not None:
            stmt = stmt.where(Delivery.contact_id == contact_id)
        return self.session.scalars(stmt.order_by(Delivery.scheduled_start, Delivery.id)).all()

    def due_within(
        self, *, assignee_id: int | None, start: datetime | None, end: datetime, limit: int
    ) -> Sequence[Delivery]:
        """Scheduled or in-progress deliveries overlapping [start, end), soonest first
        (``start`` None: everything before ``end`` too, the overdue ones included)."""
        stmt = self.select().where(
            Delivery.status.in_(("scheduled", "in_progress")),
            Delivery.scheduled_start < end,
        )
        if start is not None:
            stmt = stmt.where(Delivery.scheduled_end > start)
        if assignee_id is not None:
            stmt = stmt.where(Delivery.assignee_id == assignee_id)
        stmt = stmt.order_by(Delivery.scheduled_start, Delivery.id).limit(limit)
        return self.session.scalars(stmt).all()

    def calendar(
        self, *, assignee_id: int | None, start: datetime, end: datetime, limit: int
    ) -> list[tuple[Delivery, str]]:
        """Scheduled, in-progress and delivered deliveries meeting [start, end), each with its
        contact's name, by start (one query)."""
        stmt = (
            select(Delivery, Contact.display_name)
            .join(Contact, Contact.id == Delivery.contact_id)
            .where(
                Delivery.workspace_id == self.workspace_id,
                Delivery.status.in_(("scheduled", "in_progress", "delivered")),
                Delivery.scheduled_start >= start - CALENDAR_LOOKBACK,
                Delivery.scheduled_start < end,
                Delivery.scheduled_end > start,
            )
        )
        if assignee_id is not None:
            stmt = stmt.where(Delivery.assignee_id == assignee_id)
        stmt = stmt.order_by(Delivery.scheduled_start, Delivery.id).limit(limit + 1)
        return [(d, name) for d, name in self.session.execute(stmt).all()]


class ScheduleRepository(Repository[Schedule]):
    model = Schedule
    noun = "schedule"

    def page(
        self, *, contact_id: int | None, status: str | None, after: list[Any] | None, limit: int
    ) -> Sequence[Schedule]:
        stmt = self.select()
        if contact_id is not None:
            stmt = stmt.where(Schedule.contact_id == contact_id)
        if status:
            stmt = stmt.where(Schedule.status == status)
        order = KeysetOrder(Schedule.id, Schedule.id, descending=True)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

    def active_needing_extension(
        self, until: datetime, *, after_id: int = 0, limit: int | None = None
    ) -> Sequence[Schedule]:
        stmt = self.select().where(
            Schedule.status == "active",
            or_(Schedule.materialized_until.is_(None), Schedule.materialized_until < until),
            Schedule.id > after_id,
        )
        return self.session.scalars(stmt.order_by(Schedule.id).limit(limit)).all()

    def active_of_contact(
        self, contact_id: int, *, agreement_id: int | None = None
    ) -> Sequence[Schedule]:
        stmt = self.select().where(Schedule.contact_id == contact_id, Schedule.status == "active")
        if agreement_id is not None:
            stmt = stmt.where(Schedule.agreement_id == agreement_id)
        return self.session.scalars(stmt.order_by(Schedule.id)).all()


@dataclass(frozen=True)
class CaseFilter:
    contact_id: int | None = None
    assignee_id: int | None = None
    status: str | None = None
    priority: str | None = None


class CaseRepository(Repository[Case]):
    model = Case
    noun = "case"

    def page(self, filters: CaseFilter, *, after: list[Any] | None, limit: int) -> Sequence[Case]:
        stmt = self.select()
        if filters.contact_id is not None:
            stmt = stmt.where(Case.contact_id == filters.contact_id)
        if filters.assignee_id is not None:
            stmt = stmt.where(Case.assignee_id == filters.assignee_id)
        if filters.status:
            stmt = stmt.where(Case.status == filters.status)
        if filters.priority:
            stmt = stmt.where(Case.priority == filters.priority)
        order = KeysetOrder(Case.id, Case.id, descending=True)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

    def active_of_contact(self, contact_id: int, limit: int) -> Sequence[Case]:
        stmt = self.select().where(
            Case.contact_id == contact_id, Case.status.in_(("open", "pending"))
        )
        return self.session.scalars(stmt.order_by(Case.opened_at).limit(limit)).all()

    def queue(
        self,
        *,
        statuses: Sequence[str],
        priority: str | None,
        assignee_id: int | None,
        after: tuple[int, datetime, int] | None,
        limit: int,
    ) -> list[tuple[Case, str]]:
        """Cases by urgency (urgent first), then the oldest first, with the contact's name;
        keyset over (priority rank, opened_at, id); ``limit`` + 1 rows."""
        rank = _priority_rank()
        stmt = (
            select(Case, Contact.display_name)
            .join(Contact, Contact.id == Case.contact_id)
            .where(Case.workspace_id == self.workspace_id)
        )
        if statuses:
            stmt = stmt.where(Case.status.in_(list(statuses)))
        if priority:
            stmt = stmt.where(Case.priority == priority)
        if assignee_id is not None:
            stmt = stmt.where(Case.assignee_id == assignee_id)
        if after is not None:
            r, opened, id_ = after
            stmt = stmt.where(
                or_(
                    rank < r,
                    and_(
                        rank == r,
                        or_(Case.opened_at > opened, and_(Case.opened_at == opened, Case.id > id_)),
                    ),
                )
            )
        stmt = stmt.order_by(rank.desc(), Case.opened_at, Case.id).limit(limit + 1)
        return [(c, name) for c, name in self.session.execute(stmt).all()]


def _priority_rank() -> Any:
    return sa_case(
        *((Case.priority == p.value, r) for p, r in PRIORITY_RANK.items()),
        else_=0,
    )


class CalendarFeedRepository(Repository[CalendarFeed]):
    model = CalendarFeed
    noun = "calendar feed"

    def all(self) -> Sequence[CalendarFeed]:
        return self.session.scalars(self.select().order_by(CalendarFeed.id)).all()


def feed_by_token_hash(session: Any, token_hash: str) -> CalendarFeed | None:
    """The feed a secret URL names (not yet scoped: the token is the credential)."""
    stmt = select(CalendarFeed).where(
        CalendarFeed.token_hash == token_hash, CalendarFeed.revoked_at.is_(None)
    )
    result: CalendarFeed | None = session.scalars(stmt).one_or_none()
    return result
