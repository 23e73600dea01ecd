"""All SQLAlchemy models; importing this package registers every table on ``Base.metadata``."""

from tenure.db.base import Base
from tenure.db.models.contacts import Affiliation, Contact, ContactEmail, ContactPhone, ContactTag
from tenure.db.models.lifecycle import Agreement, Transition
from tenure.db.models.timeline import Interaction, TimelineEvent
from tenure.db.models.workspaces import ApiToken, Membership, User, Workspace

__all__ = [
    "Affiliation",
    "Agreement",
    "ApiToken",
    "Base",
    "Contact",
    "ContactEmail",
    "ContactPhone",
    "ContactTag",
    "Interaction",
    "Membership",
    "TimelineEvent",
    "Transition",
    "User",
    "Workspace",
]
