"""All SQLAlchemy models; importing this package registers every table on ``Base.metadata``."""

from tenure.db.base import Base
from tenure.db.models.automation import (
    EmailMessage,
    EmailTemplate,
    Job,
    Playbook,
    PlaybookRun,
    Rule,
    RuleRun,
    WebhookDelivery,
    WebhookSubscription,
)
from tenure.db.models.contacts import Affiliation, Contact, ContactEmail, ContactPhone, ContactTag
from tenure.db.models.continuity import Commitment, HealthSnapshot, KnowledgeEntry
from tenure.db.models.data import (
    ContactMatchKey,
    ExternalId,
    ImportFile,
    ImportJob,
    SearchDocument,
)
from tenure.db.models.lifecycle import Agreement, Transition
from tenure.db.models.scheduling import (
    Activity,
    CalendarFeed,
    Case,
    Delivery,
    Schedule,
    Service,
)
from tenure.db.models.timeline import Interaction, TimelineEvent
from tenure.db.models.web import AuditEntry, WebSession
from tenure.db.models.workspaces import ApiToken, Membership, User, Workspace

__all__ = [
    "Activity",
    "Affiliation",
    "Agreement",
    "ApiToken",
    "AuditEntry",
    "Base",
    "CalendarFeed",
    "Case",
    "Commitment",
    "Contact",
    "ContactEmail",
    "ContactMatchKey",
    "ContactPhone",
    "ContactTag",
    "Delivery",
    "EmailMessage",
    "EmailTemplate",
    "ExternalId",
    "HealthSnapshot",
    "ImportFile",
    "ImportJob",
    "Interaction",
    "Job",
    "KnowledgeEntry",
    "Membership",
    "Playbook",
    "PlaybookRun",
    "Rule",
    "RuleRun",
    "Schedule",
    "SearchDocument",
    "Service",
    "TimelineEvent",
    "Transition",
    "User",
    "WebSession",
    "WebhookDelivery",
    "WebhookSubscription",
    "Workspace",
]
