"""Everything the brief shows about one contact, in one statement.

The brief needs ten short lists (organizations, transitions, active agreements, current
knowledge, recent interactions with their authors, events since last time, open commitments,
activities, deliveries and cases) plus the owner's name. Ten queries would be ten round trips
on every brief; here each list is one member of a ``UNION ALL`` over the same generic columns
(``s1``…``s4`` text, ``t1`` a time, ``d1``/``d2`` dates, ``n1`` a number, ``flag``), each with its
own filter, order and limit, and ``rank`` keeps each list's order. Every member is scoped by
the workspace.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    Text,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from tenure.db.models import (
    Activity,
    Affiliation,
    Agreement,
    Case,
    Commitment,
    Contact,
    Interaction,
    KnowledgeEntry,
    TimelineEvent,
    Transition,
    User,
)
from tenure.db.models import Delivery as DeliveryModel
from tenure.db.types import UTCDateTime

#: The generic columns and their types (NULL is cast to them so PostgreSQL can match the
#: members of the union).
COLUMNS: dict[str, Any] = {
    "id": BigInteger(),
    "s1": Text(),
    "s2": Text(),
    "s3": Text(),
    "s4": Text(),
    "t1": UTCDateTime(),
    "d1": Date(),
    "d2": Date(),
    "n1": BigInteger(),
    "flag": Integer(),
}

_ORG = aliased(Contact, name="brief_org")


def _member(part: str, order: Sequence[Any], **values: Any) -> list[Any]:
    """One list's columns under the generic names, ranked by its own order."""
    columns = [literal(part, Text()).label("part")]
    columns.append(func.row_number().over(order_by=list(order)).label("rank"))
    for name, type_ in COLUMNS.items():
        value = values.get(name)
        columns.append((cast(null(), type_) if value is None else value).label(name))
    return columns


class BriefQueries:
    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.ws = workspace_id

    def lines(
        self,
        contact: Contact,
        *,
        since: datetime,
        exclude_types: Sequence[str],
        now: datetime,
        recent: int,
        events: int,
        items: int,
    ) -> dict[str, list[Any]]:
        """The rows of each list, keyed by part: ``org tr ag kn in ev cm ac dl cs ow``."""
        ws, cid = self.ws, contact.id
        author = func.coalesce(func.nullif(User.name, ""), User.email)
        members = [
            self._part(
                select(
                    *_member("org", [Affiliation.id], s1=_ORG.display_name, s2=Affiliation.title)
                )
                .join(_ORG, _ORG.id == Affiliation.organization_id)
                .where(Affiliation.workspace_id == ws, Affiliation.person_id == cid),
                None,
            ),
            self._part(
                select(*_member(
                    "tr", [Transition.effective_on, Transition.id],
                    s1=Transition.from_stage, s2=Transition.to_stage, s3=Transition.reason,
                    d1=Transition.effective_on,
                )).where(Transition.workspace_id == ws, Transition.contact_id == cid),
                None,
            ),
            self._part(
                select(*_member(
                    "ag", [Agreement.id], id=Agreement.id, s1=Agreement.title,
                    s2=Agreement.kind, s3=Agreement.currency, s4=Agreement.billing_period,
                    d1=Agreement.renews_on, d2=Agreement.ends_on, n1=Agreement.value_minor,
                )).where(
                    Agreement.workspace_id == ws,
                    Agreement.contact_id == cid,
                    Agreement.status == "active",
                ),
                None,
            ),
            self._part(
                select(*_member(
                    "kn", [KnowledgeEntry.pinned.desc(), KnowledgeEntry.id.desc()],
                    id=KnowledgeEntry.id, s1=KnowledgeEntry.kind, s2=KnowledgeEntry.key,
                    s3=KnowledgeEntry.text, t1=KnowledgeEntry.last_confirmed_at,
                    flag=cast(KnowledgeEntry.pinned, Integer()),
                )).where(
                    KnowledgeEntry.workspace_id == ws,
                    KnowledgeEntry.contact_id == cid,
                    KnowledgeEntry.superseded_at.is_(None),
                    KnowledgeEntry.retired_at.is_(None),
                ),
                None,
            ),
            self._part(
                select(*_member(
                    "in", [Interaction.occurred_at.desc(), Interaction.id.desc()],
                    id=Interaction.id, s1=Interaction.channel, s2=Interaction.direction,
                    s3=Interaction.subject, s4=author, t1=Interaction.occurred_at,
                ))
                .outerjoin(User, User.id == Interaction.author_id)
                .where(Interaction.workspace_id == ws, Interaction.contact_id == cid),
                [Interaction.occurred_at.desc(), Interaction.id.desc()],
                recent,
            ),
            self._part(
                select(*_member(
                    "ev", [TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc()],
                    s1=TimelineEvent.type, s2=TimelineEvent.summary, t1=TimelineEvent.occurred_at,
                )).where(
                    TimelineEvent.workspace_id == ws,
                    TimelineEvent.contact_id == cid,
                    TimelineEvent.occurred_at > since,
                    TimelineEvent.type.not_in(exclude_types),
                ),
                [TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc()],
                events,
            ),
            self._part(
                select(*_member(
                    "cm", [Commitment.due_on.is_(None), Commitment.due_on, Commitment.id],
                    id=Commitment.id, s1=Commitment.text, s2=Commitment.promised_to,
                    s3=Commitment.status, d1=Commitment.due_on,
                )).where(
                    Commitment.workspace_id == ws,
                    Commitment.contact_id == cid,
                    Commitment.status == "open",
                ),
                [Commitment.due_on.is_(None), Commitment.due_on, Commitment.id],
                items,
            ),
            self._part(
                select(*_member(
                    "ac", [Activity.at, Activity.id], id=Activity.id, s1=Activity.kind,
                    s2=Activity.title, s3=Activity.location, t1=Activity.at,
                )).where(
                    Activity.workspace_id == ws,
                    Activity.contact_id == cid,
                    Activity.status == "open",
                ),
                [Activity.at, Activity.id],
                items,
            ),
            self._part(
                select(*_member(
                    "dl", [DeliveryModel.scheduled_start, DeliveryModel.id],
                    id=DeliveryModel.id, s1=DeliveryModel.title, s2=DeliveryModel.status,
                    t1=DeliveryModel.scheduled_start,
                )).where(
                    DeliveryModel.workspace_id == ws,
                    DeliveryModel.contact_id == cid,
                    or_(
                        DeliveryModel.status.in_(("requested", "in_progress")),
                        (DeliveryModel.status == "scheduled")
                        & (DeliveryModel.scheduled_start >= now),
                    ),
                ),
                [DeliveryModel.scheduled_start, DeliveryModel.id],
                items,
            ),
            self._part(
                select(*_member(
                    "cs", [Case.opened_at, Case.id], id=Case.id, s1=Case.subject,
                    s2=Case.priority, s3=Case.status, t1=Case.opened_at,
                )).where(
                    Case.workspace_id == ws,
                    Case.contact_id == cid,
                    Case.status.in_(("open", "pending")),
                ),
                [Case.opened_at, Case.id],
                items,
            ),
            self._part(
                select(*_member("ow", [User.id], s1=author)).where(
                    User.id == (contact.owner_id or -1)
                ),
                None,
            ),
        ]  # fmt: skip
        union = union_all(*members).subquery("brief_lines")
        stmt = select(union).order_by(union.c.part, union.c.rank)
        out: dict[str, list[Any]] = defaultdict(list)
        for row in self.session.execute(stmt):
            out[row.part].append(row)
        return out

    @staticmethod
    def _part(stmt: Any, order: Sequence[Any] | None, limit: int | None = None) -> Any:
        """A member with its own order and limit must sit in a subquery of its own."""
        if limit is None:
            return select(stmt.subquery())
        return select(stmt.order_by(*(order or ())).limit(limit).subquery())


def as_date(value: Any) -> date | None:
    """Dates in a UNION come back as text on SQLite."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def as_day(value: Any) -> date:
    day = as_date(value)
    if day is None:
        raise ValueError("a required date is missing")
    return day
