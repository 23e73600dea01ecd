"""The filters of the activity, case and delivery lists: one dependency per list, serving the
list (``GET /activities``) and its CSV (``GET /activities.csv``) alike, so the two accept and
refuse the same query parameters (as ``contact_filters`` does for the contact list)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from tenure.api.schemas.common import AwareDatetime
from tenure.db.repositories.scheduling import ActivityFilter, CaseFilter, DeliveryFilter
from tenure.domain.activities import ActivityKind, ActivityStatus
from tenure.domain.cases import CasePriority, CaseStatus
from tenure.domain.deliveries import DeliveryStatus


def activity_filter(
    assignee_id: int | None = None,
    contact_id: int | None = None,
    status: ActivityStatus | None = None,
    kind: ActivityKind | None = None,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
) -> ActivityFilter:
    return ActivityFilter(
        contact_id=contact_id,
        assignee_id=assignee_id,
        status=status.value if status else None,
        kind=kind.value if kind else None,
        start=start,
        end=end,
    )


def case_filter(
    status: CaseStatus | None = None,
    priority: CasePriority | None = None,
    assignee_id: int | None = None,
    contact_id: int | None = None,
) -> CaseFilter:
    return CaseFilter(
        contact_id=contact_id,
        assignee_id=assignee_id,
        status=status.value if status else None,
        priority=priority.value if priority else None,
    )


def delivery_filter(
    contact_id: int | None = None,
    assignee_id: int | None = None,
    service_id: int | None = None,
    status: DeliveryStatus | None = None,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
) -> DeliveryFilter:
    return DeliveryFilter(
        contact_id=contact_id,
        assignee_id=assignee_id,
        service_id=service_id,
        status=status.value if status else None,
        start=start,
        end=end,
    )


ActivityFilterDep = Annotated[ActivityFilter, Depends(activity_filter)]
CaseFilterDep = Annotated[CaseFilter, Depends(case_filter)]
DeliveryFilterDep = Annotated[DeliveryFilter, Depends(delivery_filter)]
