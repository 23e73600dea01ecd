"""Retention analytics as SQL aggregates (definitions in ``tenure.domain.retention``).

Every query groups in the database and returns a number of rows bounded by the period (months,
reasons, currencies, distinct spell lengths), never one row per contact or transition, so a
series over 100k clients costs a few index range scans and sorts, not a Python loop:

* stocks at a boundary are one ``SUM(+1 to client, -1 to former client)`` over the transitions
  before it (a contact is a client at B iff its sum is 1); later boundaries follow from the
  monthly net flows (``GROUP BY`` month bucket);
* cohorts: one ``GROUP BY (cohort month, month)`` of the members' net flows;
* tenure: spells by ``LEAD()`` over each contact's transitions, grouped by length (a histogram,
  from which the median is read: at most one row per distinct number of days);
* revenue: the value at the first boundary in one aggregate; then, per month, only the contacts
  with something happening in it (a transition, or an agreement starting or ending) are looked
  at, which is all that can change a stock, churn, expand or contract.

The month bucket, the first day of the next month and the days between two dates are spelled
per dialect (``strftime``-style ``date()`` on SQLite, ``date_trunc`` on PostgreSQL).

Cost. The stock at the period's start, the clients at the first revenue boundary and the open
spells each need one pass over the transitions before that day; the rest reads only the
period's rows. That pass reads the covering index ``ix_transitions_ws_effective_cover``
``(workspace_id, effective_on, contact_id, to_stage, from_stage, reason)`` alone, no row
lookups (measured at 100k clients: 0.7 s → 0.04 s for the start stock; migration 0007).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from tenure.db.models import Agreement, Contact, ContactTag, Transition
from tenure.db.repositories.base import Repository
from tenure.domain.agreements import MONTHS_PER_PERIOD
from tenure.domain.lifecycle import Stage
from tenure.domain.retention import (
    COUNTED_AGREEMENT_STATUSES,
    UNSPECIFIED,
    Month,
    MonthFlows,
    Period,
    RevenueFlows,
    Scope,
)

# --- dialect-specific date arithmetic ---------------------------------------------------------


class month_start(FunctionElement[date]):
    """The first day of the date's month: the month bucket."""

    type = Date()
    name = "month_start"
    inherit_cache = True


class month_after(FunctionElement[date]):
    """The first day of the month after the date's month."""

    type = Date()
    name = "month_after"
    inherit_cache = True


class days_between(FunctionElement[int]):
    """``days_between(a, b)``: b - a in whole days."""

    type = Integer()
    name = "days_between"
    inherit_cache = True


@compiles(month_start)
def _month_start_sqlite(element: month_start, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


@compiles(month_start, "postgresql")
def _month_start_pg(element: month_start, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(date_trunc('month', CAST({arg} AS timestamp)) AS date)"


@compiles(month_after)
def _month_after_sqlite(element: month_after, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month', '+1 month')"


@compiles(month_after, "postgresql")
def _month_after_pg(element: month_after, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(date_trunc('month', CAST({arg} AS timestamp)) + INTERVAL '1 month' AS date)"


@compiles(days_between)
def _days_between_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({b}) - julianday({a}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_between_pg(element: days_between, compiler: Any, **kw: Any) -> str:
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"({b} - {a})"


# --- shared expressions -----------------------------------------------------------------------

#: +1 for a move to client, -1 for a move to former client: a contact's running sum is 1 while
#: it is a client and 0 otherwise.
DELTA = case((Transition.to_stage == Stage.CLIENT.value, 1), else_=-1)


def monthly_value_sql() -> ColumnElement[int]:
    """``domain.agreements.monthly_value`` in SQL, built from the same table of periods."""
    whens = {
        period.value: Agreement.value_minor // months
        for period, months in MONTHS_PER_PERIOD.items()
        if months is not None
    }
    return func.coalesce(case(whens, value=Agreement.billing_period, else_=0), 0)


#: The day an agreement stopped (or will stop) being in force; NULL: open.
AGREEMENT_END = func.coalesce(Agreement.ended_on, Agreement.ends_on)


def _as_date(day: date) -> ColumnElement[date]:
    return literal(day, Date())


class AnalyticsRepository(Repository[Transition]):
    """Aggregates over transitions and agreements, scoped to the workspace and a ``Scope``."""

    model = Transition
    noun = "transition"

    def __init__(self, session: Any, workspace_id: int, scope: Scope | None = None) -> None:
        super().__init__(session, workspace_id)
        self.scope = scope or Scope()

    def _in_scope(self, contact_id: Any) -> list[ColumnElement[bool]]:
        ws = self.workspace_id
        clauses: list[ColumnElement[bool]] = []
        if self.scope.owner_id is not None:
            clauses.append(
                exists().where(
                    Contact.id == contact_id,
                    Contact.workspace_id == ws,
                    Contact.owner_id == self.scope.owner_id,
                )
            )
        if self.scope.tag is not None:
            clauses.append(
                exists().where(
                    ContactTag.workspace_id == ws,
                    ContactTag.tag == self.scope.tag,
                    ContactTag.contact_id == contact_id,
                )
            )
        return clauses

    def _agreements_in_force(self) -> list[ColumnElement[bool]]:
        return [
            Agreement.workspace_id == self.workspace_id,
            Agreement.status.in_(COUNTED_AGREEMENT_STATUSES),
            Agreement.starts_on.is_not(None),
            Agreement.currency.is_not(None),
            monthly_value_sql() > 0,
        ]

    # --- clients ------------------------------------------------------------------------------

    def clients_at(self, boundary: date) -> int:
        """Clients at the start of ``boundary`` (transitions effective before it)."""
        stmt = self.select(func.coalesce(func.sum(DELTA), 0)).where(
            Transition.effective_on < boundary, *self._in_scope(Transition.contact_id)
        )
        return int(self.session.scalar(stmt) or 0)

    def monthly_flows(self, period: Period) -> dict[Month, MonthFlows]:
        bucket = month_start(Transition.effective_on)
        stmt = (
            self.select(bucket, Transition.from_stage, Transition.reason, func.count())
            .where(
                Transition.effective_on >= period.lo,
                Transition.effective_on < period.hi,
                *self._in_scope(Transition.contact_id),
            )
            .group_by(bucket, Transition.from_stage, Transition.reason)
        )
        new: defaultdict[Month, int] = defaultdict(int)
        back: defaultdict[Month, int] = defaultdict(int)
        ended: defaultdict[Month, dict[str, int]] = defaultdict(dict)
        for first, from_stage, reason, n in self.session.execute(stmt):
            month = Month.of(first)
            if from_stage == Stage.CONTACT:
                new[month] += n
            elif from_stage == Stage.FORMER_CLIENT:
                back[month] += n
            else:
                key = reason or UNSPECIFIED
                ended[month][key] = ended[month].get(key, 0) + n
        return {m: MonthFlows(new[m], back[m], ended[m]) for m in set(new) | set(back) | set(ended)}

    # --- cohorts ------------------------------------------------------------------------------

    def cohort_flows(
        self, period: Period, *, months: int
    ) -> tuple[dict[Month, int], dict[tuple[Month, Month], int]]:
        """Sizes of the cohorts of the period and their members' net flows by month."""
        cohort = (
            self.select(
                Transition.contact_id.label("contact_id"),
                month_start(Transition.effective_on).label("cohort"),
            )
            .where(
                Transition.from_stage == Stage.CONTACT.value,
                Transition.effective_on >= period.lo,
                Transition.effective_on < period.hi,
                *self._in_scope(Transition.contact_id),
            )
            .subquery("cohort")
        )
        bucket = month_start(Transition.effective_on)
        first_moves = case((Transition.from_stage == Stage.CONTACT.value, 1), else_=0)
        stmt = (
            select(cohort.c.cohort, bucket, func.sum(DELTA), func.sum(first_moves))
            .select_from(
                cohort.join(
                    Transition,
                    and_(
                        Transition.contact_id == cohort.c.contact_id,
                        Transition.workspace_id == self.workspace_id,
                    ),
                )
            )
            .where(Transition.effective_on < period.end.plus(months).after)
            .group_by(cohort.c.cohort, bucket)
        )
        sizes: dict[Month, int] = {}
        flows: dict[tuple[Month, Month], int] = {}
        for cohort_first, first, net, firsts in self.session.execute(stmt):
            c, m = Month.of(cohort_first), Month.of(first)
            flows[(c, m)] = int(net)
            if firsts:
                sizes[c] = sizes.get(c, 0) + int(firsts)
        return sizes, flows

    # --- tenure -------------------------------------------------------------------------------

    def spell_lengths(self, period: Period, *, as_of: date) -> dict[str, dict[int, int]]:
        """Histograms ``{"completed"|"ongoing": {days: spells}}``; spells whose end is at or after
        ``as_of`` are cut there (the end is not yet known at ``as_of``), so they are ongoing."""
        following = (
            func.lead(Transition.effective_on)
            .over(
                partition_by=Transition.contact_id,
                order_by=(Transition.effective_on, Transition.id),
            )
            .label("ended_on")
        )
        moves = (
            self.select(
                Transition.to_stage.label("to_stage"),
                Transition.effective_on.label("started_on"),
                following,
            )
            .where(Transition.effective_on < as_of, *self._in_scope(Transition.contact_id))
            .subquery("moves")
        )
        ongoing = moves.c.ended_on.is_(None)
        spells = (
            select(
                case((ongoing, "ongoing"), else_="completed").label("kind"),
                case(
                    (ongoing, days_between(moves.c.started_on, _as_date(as_of))),
                    else_=days_between(moves.c.started_on, moves.c.ended_on),
                ).label("days"),
            )
            .where(
                moves.c.to_stage == Stage.CLIENT.value,
                or_(ongoing, moves.c.ended_on >= period.lo),
            )
            .subquery("spells")
        )
        stmt = select(spells.c.kind, spells.c.days, func.count()).group_by(
            spells.c.kind, spells.c.days
        )
        out: dict[str, dict[int, int]] = {"completed": {}, "ongoing": {}}
        for kind, days, n in self.session.execute(stmt):
            out[kind][int(days)] = int(n)
        return out

    # --- revenue ------------------------------------------------------------------------------

    def mrr_at(self, boundary: date) -> dict[str, int]:
        """Per currency: the value of agreements in force at ``boundary`` whose contact is a
        client at it (one pass over the transitions before it, hashed against the agreements)."""
        clients = (
            self.select(Transition.contact_id.label("contact_id"))
            .where(Transition.effective_on < boundary, *self._in_scope(Transition.contact_id))
            .group_by(Transition.contact_id)
            .having(func.sum(DELTA) == 1)
            .subquery("clients")
        )
        stmt = (
            select(Agreement.currency, func.sum(monthly_value_sql()))
            .join(clients, clients.c.contact_id == Agreement.contact_id)
            .where(
                *self._agreements_in_force(),
                Agreement.starts_on < boundary,
                or_(AGREEMENT_END.is_(None), boundary <= AGREEMENT_END),
            )
            .group_by(Agreement.currency)
        )
        return {str(currency): int(total) for currency, total in self.session.execute(stmt)}

    def revenue_flows(self, period: Period) -> dict[tuple[Month, str], RevenueFlows]:
        """Per month and currency: new, expansion, contraction and churned value, from the
        contacts with a transition or an agreement start or end in the month."""
        ws = self.workspace_id
        in_range = (period.lo, period.hi)

        def touched(contact_id: Any, day: Any, *where: Any) -> Any:
            return select(
                contact_id.label("contact_id"),
                month_start(day).label("lo"),
                month_after(day).label("hi"),
            ).where(day >= in_range[0], day < in_range[1], *where, *self._in_scope(contact_id))

        events = union(
            touched(
                Transition.contact_id,
                Transition.effective_on,
                Transition.workspace_id == ws,
            ),
            touched(Agreement.contact_id, Agreement.starts_on, *self._agreements_in_force()),
            touched(Agreement.contact_id, AGREEMENT_END, *self._agreements_in_force()),
        ).cte("touched")

        # Is the contact a client at the month's start (cs) and end (ce)?
        status = (
            select(
                events.c.contact_id,
                events.c.lo,
                func.sum(case((Transition.effective_on < events.c.lo, DELTA), else_=0)).label("cs"),
                func.sum(case((Transition.effective_on < events.c.hi, DELTA), else_=0)).label("ce"),
            )
            .select_from(
                events.join(
                    Transition,
                    and_(
                        Transition.contact_id == events.c.contact_id, Transition.workspace_id == ws
                    ),
                )
            )
            .group_by(events.c.contact_id, events.c.lo)
            .subquery("status")
        )

        def value_at(boundary: Any) -> Any:
            covers = and_(
                Agreement.starts_on < boundary,
                or_(AGREEMENT_END.is_(None), boundary <= AGREEMENT_END),
            )
            return func.sum(case((covers, monthly_value_sql()), else_=0))

        values = (
            select(
                events.c.contact_id,
                events.c.lo,
                Agreement.currency,
                value_at(events.c.lo).label("r0"),
                value_at(events.c.hi).label("r1"),
            )
            .select_from(
                events.join(
                    Agreement,
                    and_(Agreement.contact_id == events.c.contact_id, *self._agreements_in_force()),
                )
            )
            .group_by(events.c.contact_id, events.c.lo, Agreement.currency)
            .subquery("agreement_values")
        )

        cs, ce, r0, r1 = status.c.cs, status.c.ce, values.c.r0, values.c.r1
        stayed = and_(cs == 1, ce == 1)
        stmt = (
            select(
                values.c.lo,
                values.c.currency,
                func.sum(case((and_(cs == 0, ce == 1), r1), else_=0)),
                func.sum(case((and_(stayed, r1 > r0), r1 - r0), else_=0)),
                func.sum(case((and_(stayed, r0 > r1), r0 - r1), else_=0)),
                func.sum(case((and_(cs == 1, ce == 0), r0), else_=0)),
            )
            .select_from(
                values.join(
                    status,
                    and_(status.c.contact_id == values.c.contact_id, status.c.lo == values.c.lo),
                )
            )
            .group_by(values.c.lo, values.c.currency)
        )
        out: dict[tuple[Month, str], RevenueFlows] = {}
        for first, currency, new, expansion, contraction, churned in self.session.execute(stmt):
            flows = RevenueFlows(int(new), int(expansion), int(contraction), int(churned))
            if flows != RevenueFlows():
                out[(Month.of(first), currency)] = flows
        return out
