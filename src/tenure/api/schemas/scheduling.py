"""Activity, agenda, schedule, service and delivery schemas."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from tenure.api.schemas.common import AwareDatetime, Input, Output
from tenure.domain.activities import ActivityKind, ActivityOrigin, ActivityStatus
from tenure.domain.deliveries import DeliveryStatus
from tenure.services.schedules import Produces, ScheduleStatus

# --- activities ------------------------------------------------------------------------------


class ActivityCreate(Input):
    kind: ActivityKind
    title: str = Field(min_length=1, max_length=300)
    contact_id: int | None = Field(default=None, description="Empty for internal work.")
    assignee_id: int | None = Field(default=None, description="Defaults to you.")
    due_at: AwareDatetime | None = Field(default=None, description="Tasks (and calls, reviews).")
    start_at: AwareDatetime | None = Field(default=None, description="Timed activities.")
    end_at: AwareDatetime | None = None
    timezone: str | None = Field(
        default=None,
        max_length=64,
        description="IANA zone; defaults to the contact's or workspace's",
    )
    location: str = Field(default="", max_length=300)
    notes: str = Field(default="", max_length=100_000)
    allow_overlap: bool = Field(
        default=False,
        description="Book an appointment or visit even "
        "when it overlaps another timed activity of the assignee.",
    )


class ActivityUpdate(Input):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    assignee_id: int | None = None
    due_at: AwareDatetime | None = None
    start_at: AwareDatetime | None = None
    end_at: AwareDatetime | None = None
    timezone: str | None = Field(default=None, max_length=64)
    location: str | None = Field(default=None, max_length=300)
    notes: str | None = Field(default=None, max_length=100_000)
    allow_overlap: bool = False


class ActivityComplete(Input):
    note: str = Field(default="", max_length=100_000)
    log_interaction: bool = Field(
        default=False,
        description="Calls, meetings and visits: log the interaction in the same step.",
    )
    interaction_subject: str | None = Field(default=None, max_length=500)
    interaction_body: str | None = Field(default=None, max_length=1_000_000)
    occurred_at: AwareDatetime | None = None


class ReasonBody(Input):
    reason: str = Field(default="", max_length=5000)


class ActivityRead(Output):
    id: int
    kind: ActivityKind
    title: str
    contact_id: int | None
    assignee_id: int | None
    at: datetime
    due_at: datetime | None
    start_at: datetime | None
    end_at: datetime | None
    timezone: str
    location: str
    notes: str
    status: ActivityStatus
    completed_at: datetime | None
    completion_note: str
    origin: ActivityOrigin
    schedule_id: int | None
    occurrence_key: str | None
    interaction_id: int | None
    created_at: datetime
    updated_at: datetime
    version: int


class ActivityPage(Output):
    items: list[ActivityRead]
    next_cursor: str | None


# --- services catalog ------------------------------------------------------------------------


class ServiceCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=100_000)
    default_duration_minutes: int = Field(default=60, ge=1, le=10080)
    default_price_minor: int | None = Field(default=None, ge=0, le=10**15)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    active: bool = True


class ServiceUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=100_000)
    default_duration_minutes: int | None = Field(default=None, ge=1, le=10080)
    default_price_minor: int | None = Field(default=None, ge=0, le=10**15)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    active: bool | None = None


class ServiceRead(Output):
    id: int
    name: str
    description: str
    default_duration_minutes: int
    default_price_minor: int | None
    currency: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int


class ServicePage(Output):
    items: list[ServiceRead]
    next_cursor: str | None


# --- deliveries ------------------------------------------------------------------------------


class DeliveryCreate(Input):
    contact_id: int
    service_id: int | None = None
    agreement_id: int | None = None
    assignee_id: int | None = Field(default=None, description="Defaults to you.")
    title: str | None = Field(
        default=None, max_length=300, description="Defaults to the service's name."
    )
    scheduled_start: AwareDatetime | None = Field(
        default=None, description="With a start the delivery is scheduled, else requested."
    )
    scheduled_end: AwareDatetime | None = Field(
        default=None, description="Defaults to the service's duration."
    )
    timezone: str | None = Field(default=None, max_length=64)
    location: str = Field(default="", max_length=300)
    price_minor: int | None = Field(default=None, ge=0, le=10**15)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    follow_up_due: date | None = None
    allow_overlap: bool = False


class DeliveryUpdate(Input):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    assignee_id: int | None = None
    location: str | None = Field(default=None, max_length=300)
    outcome_notes: str | None = Field(default=None, max_length=100_000)
    follow_up_due: date | None = None
    price_minor: int | None = Field(default=None, ge=0, le=10**15)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    scheduled_start: AwareDatetime | None = None
    scheduled_end: AwareDatetime | None = None
    allow_overlap: bool = False


class DeliverySchedule(Input):
    scheduled_start: AwareDatetime
    scheduled_end: AwareDatetime | None = None
    allow_overlap: bool = False


class DeliveryStart(Input):
    actual_start: AwareDatetime | None = None


class DeliveryDeliver(Input):
    actual_start: AwareDatetime | None = None
    actual_end: AwareDatetime | None = None
    outcome_notes: str = Field(default="", max_length=100_000)
    follow_up_due: date | None = None


class NoteBody(Input):
    note: str = Field(default="", max_length=5000)


class DeliveryRead(Output):
    id: int
    contact_id: int
    service_id: int | None
    agreement_id: int | None
    assignee_id: int | None
    title: str
    status: DeliveryStatus
    scheduled_start: datetime | None
    scheduled_end: datetime | None
    timezone: str
    location: str
    actual_start: datetime | None
    actual_end: datetime | None
    outcome_notes: str
    follow_up_due: date | None
    price_minor: int | None
    currency: str | None
    origin: ActivityOrigin
    schedule_id: int | None
    occurrence_key: str | None
    cancel_reason: str
    created_at: datetime
    updated_at: datetime
    version: int


class DeliveryPage(Output):
    items: list[DeliveryRead]
    next_cursor: str | None


# --- schedules -------------------------------------------------------------------------------


class ScheduleCreate(Input):
    contact_id: int
    produces: Produces = Field(description="`activity` or `delivery`.")
    rrule: str = Field(
        min_length=1,
        max_length=500,
        examples=["FREQ=MONTHLY;BYMONTHDAY=5", "FREQ=WEEKLY;BYDAY=MO;COUNT=10"],
    )
    dtstart: datetime = Field(
        description="Local wall time of the first occurrence, without an "
        "offset (read in `timezone`): 9:00 stays 9:00 across DST."
    )
    timezone: str | None = Field(default=None, max_length=64)
    exdates: list[datetime] = Field(
        default_factory=list, max_length=1000, description="Local starts that do not happen."
    )
    until: datetime | None = Field(default=None, description="Local; or UNTIL in the rule.")
    count: int | None = Field(default=None, ge=1, le=10_000)
    title: str | None = Field(default=None, max_length=300)
    activity_kind: ActivityKind | None = Field(
        default=None, description="When producing activities."
    )
    service_id: int | None = None
    agreement_id: int | None = None
    assignee_id: int | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=1440)
    location: str = Field(default="", max_length=300)
    notes: str = Field(default="", max_length=100_000)


class ScheduleSplit(Input):
    """Change "this and following": from the occurrence at ``at`` on."""

    at: datetime = Field(description="The original local start of the first changed occurrence.")
    rrule: str | None = Field(default=None, max_length=500)
    dtstart: datetime | None = Field(
        default=None,
        description="New local start of the first changed occurrence (moves the time of day).",
    )
    timezone: str | None = Field(default=None, max_length=64)
    title: str | None = Field(default=None, max_length=300)
    assignee_id: int | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=1440)
    location: str | None = Field(default=None, max_length=300)
    notes: str | None = Field(default=None, max_length=100_000)


class OccurrenceCancel(Input):
    local_start: datetime = Field(description="The occurrence's original local start.")
    reason: str = Field(default="", max_length=5000)


class OccurrenceMove(Input):
    local_start: datetime = Field(description="The occurrence's original local start.")
    new_start: AwareDatetime
    new_end: AwareDatetime | None = None
    allow_overlap: bool = False


class ScheduleRead(Output):
    id: int
    contact_id: int
    agreement_id: int | None
    service_id: int | None
    produces: Produces
    activity_kind: ActivityKind | None
    title: str
    notes: str
    assignee_id: int | None
    location: str
    rrule: str
    dtstart_local: str
    timezone: str
    duration_minutes: int
    exdates: list[str]
    status: ScheduleStatus
    stopped_at: datetime | None
    stop_reason: str
    materialized_until: datetime | None
    split_from_id: int | None
    created_at: datetime
    updated_at: datetime
    version: int


class SchedulePage(Output):
    items: list[ScheduleRead]
    next_cursor: str | None


class OccurrenceRead(Output):
    key: str
    local_start: datetime
    start: datetime
    activity: ActivityRead | None
    delivery: DeliveryRead | None


class ExtendResult(Output):
    schedules: int
    occurrences: int


# --- agenda ----------------------------------------------------------------------------------


class AgendaBucket(Output):
    activities: list[ActivityRead]
    deliveries: list[DeliveryRead]


class AgendaRead(Output):
    timezone: str
    assignee_id: int | None
    overdue: AgendaBucket
    today: AgendaBucket
    upcoming: AgendaBucket
