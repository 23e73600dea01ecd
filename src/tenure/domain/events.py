"""The one vocabulary of events.

Every change appends a timeline event named ``<subject>.<past-tense verb>``. The same names are
the automation triggers and the webhook event types, and the event rows are the outbox the worker
reads. Add a name here, nowhere else.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    # contacts
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_MERGED = "contact.merged"
    #: The person's data was erased (GDPR Art. 17); the event says that, never what.
    CONTACT_ERASED = "contact.erased"
    # lifecycle
    CONTACT_CONVERTED = "contact.converted"
    CONTACT_REACTIVATED = "contact.reactivated"
    RELATIONSHIP_ENDED = "relationship.ended"
    # agreements
    AGREEMENT_CREATED = "agreement.created"
    AGREEMENT_UPDATED = "agreement.updated"
    AGREEMENT_CONFIRMED = "agreement.confirmed"
    AGREEMENT_ENDED = "agreement.ended"
    AGREEMENT_CANCELLED = "agreement.cancelled"
    # interactions
    INTERACTION_LOGGED = "interaction.logged"
    # activities
    ACTIVITY_CREATED = "activity.created"
    ACTIVITY_COMPLETED = "activity.completed"
    ACTIVITY_CANCELLED = "activity.cancelled"
    ACTIVITY_RESCHEDULED = "activity.rescheduled"
    # schedules (recurring plans)
    SCHEDULE_CREATED = "schedule.created"
    SCHEDULE_CHANGED = "schedule.changed"
    SCHEDULE_STOPPED = "schedule.stopped"
    # service deliveries
    DELIVERY_REQUESTED = "delivery.requested"
    DELIVERY_SCHEDULED = "delivery.scheduled"
    DELIVERY_RESCHEDULED = "delivery.rescheduled"
    DELIVERY_STARTED = "delivery.started"
    DELIVERY_DELIVERED = "delivery.delivered"
    DELIVERY_CANCELLED = "delivery.cancelled"
    DELIVERY_NO_SHOW = "delivery.no_show"
    # support cases
    CASE_OPENED = "case.opened"
    CASE_PENDING = "case.pending"
    CASE_RESUMED = "case.resumed"
    CASE_RESOLVED = "case.resolved"
    CASE_CLOSED = "case.closed"
    CASE_REOPENED = "case.reopened"
    # knowledge
    KNOWLEDGE_CHANGED = "knowledge.changed"
    KNOWLEDGE_CONFIRMED = "knowledge.confirmed"
    # commitments
    COMMITMENT_MADE = "commitment.made"
    COMMITMENT_CHANGED = "commitment.changed"
    COMMITMENT_KEPT = "commitment.kept"
    COMMITMENT_BROKEN = "commitment.broken"
    COMMITMENT_CANCELLED = "commitment.cancelled"
    # playbooks (a run per client; each step's own effect has its own event)
    PLAYBOOK_STARTED = "playbook.started"
    PLAYBOOK_COMPLETED = "playbook.completed"
    PLAYBOOK_STOPPED = "playbook.stopped"
    PLAYBOOK_CANCELLED = "playbook.cancelled"


#: Event types that change the lifecycle stage.
STAGE_EVENTS = frozenset(
    {EventType.CONTACT_CONVERTED, EventType.CONTACT_REACTIVATED, EventType.RELATIONSHIP_ENDED}
)
