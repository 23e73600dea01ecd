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
  at, which is all that can change a stock, churn, expand or contract: their status and value
  at the month's start and end are running sums (``SUM() OVER``) of those events, in one sort.

The month bucket and the days between two dates are spelled per dialect (``strftime``-style
``date()`` on SQLite, ``date_trunc`` on PostgreSQL).

Cost. The stock at the period's start, the clients at the first revenue boundary and the open
spells each need one pass over the transitions before that day; the rest reads only the
period's rows. That pass reads the covering index ``ix_transitions_ws_effective_cover``
``(workspace_id, effective_on, contact_id, to_stage, from_stage, reason)`` alone, no row
lookups (measured at 100k clients: 0.7 s → 0.04 s for the start stock; migration 0007).
What follows each contact's history (cohort members' transitions, tenure's ``LEAD()``, the
revenue's moves by contact) reads ``ix_transitions_ws_contact_cover`` ``(workspace_id,
contact_id, effective_on, id, from_stage, to_stage)`` alone, in contact order (migration 0008;
at a quarter of size M on SQLite the cohort query's CPU time fell from 45 to 29 ms).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
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
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import Subquery
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

    def _clients_at(self, boundary: date) -> Subquery:
        """``contact_id`` of the clients in scope at ``boundary``."""
        return (
            self.select(Transition.contact_id.label("contact_id"))
            .where(Transition.effective_on < boundary, *self._in_scope(Transition.contact_id))
            .group_by(Transition.contact_id)
            .having(func.sum(DELTA) == 1)
            .subquery("clients")
        )

    def mrr_at(self, boundary: date) -> dict[str, int]:
        """Per currency: the value of agreements in force at ``boundary`` whose contact is a
        client at it (one pass over the transitions before it, hashed against the agreements)."""
        clients = self._clients_at(boundary)
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
        """Per month and currency: new, expansion, contraction and churned value.

        A contact's history is a stream of events, each taking effect during a day: a move to
        client (+1 status) or former client (-1), an agreement's start (+its monthly value) and
        its end (-the value: in force at B iff ``starts_on < B <= end``, so the end takes effect
        on ``end``). Status and value at a boundary are the sums of the events before it. So,
        per (contact, currency, month with an event), running sums in one ordered pass give
        both at the month's end (``ce``, ``r1``), and taking the month's own events off gives
        them at its start (``cs``, ``r0``); a month without events changes nothing. The history
        before the period comes in as one opening event per contact and currency. One sort of
        the events, no join per contact and month (at a quarter of size M: 1.4x less CPU than
        that join on SQLite, 1.3x on PostgreSQL; 2-3x for one owner or tag)."""
        ends = self._month_ends(self._revenue_events(period))
        cs, ce, r0, r1 = ends.c.cs, ends.c.ce, ends.c.r0, ends.c.r1
        stayed = and_(cs == 1, ce == 1)
        stmt = (
            select(
                ends.c.month,
                ends.c.currency,
                func.sum(case((and_(cs == 0, ce == 1), r1), else_=0)),
                func.sum(case((and_(stayed, r1 > r0), r1 - r0), else_=0)),
                func.sum(case((and_(stayed, r0 > r1), r0 - r1), else_=0)),
                func.sum(case((and_(cs == 1, ce == 0), r0), else_=0)),
            )
            # Only after the running sums: the months before the period carry the history in.
            .where(ends.c.month >= period.lo)
            .group_by(ends.c.month, ends.c.currency)
        )
        out: dict[tuple[Month, str], RevenueFlows] = {}
        for first, currency, new, expansion, contraction, churned in self.session.execute(stmt):
            flows = RevenueFlows(int(new), int(expansion), int(contraction), int(churned))
            if flows != RevenueFlows():
                out[(Month.of(first), currency)] = flows
        return out

    def _revenue_events(self, period: Period) -> Subquery:
        """``(contact_id, currency, day, status, value)`` of the contacts in scope: the
        period's events, after one opening event per contact and currency on the day before
        the period (status: a client at its start; value: the agreements in force then), which
        stands for the whole history before it. A move is repeated for each currency its contact
        has agreements in (the status applies to each); a contact without any has no value."""
        lo, hi = period.lo, period.hi
        counted = (
            select(
                Agreement.contact_id.label("contact_id"),
                Agreement.currency.label("currency"),
                Agreement.starts_on.label("starts_on"),
                AGREEMENT_END.label("ends_on"),
                monthly_value_sql().label("value"),
            )
            .where(
                *self._agreements_in_force(),
                Agreement.starts_on < hi,
                # Ending on or before its start, an agreement is in force at no boundary; ending
                # before the period, at none of the period's.
                or_(
                    AGREEMENT_END.is_(None),
                    and_(Agreement.starts_on < AGREEMENT_END, lo <= AGREEMENT_END),
                ),
                *self._in_scope(Agreement.contact_id),
            )
            .cte("counted")
        )
        currencies = select(counted.c.contact_id, counted.c.currency).distinct().cte("currencies")
        c, cur = counted.c, currencies.c
        opening = _as_date(lo - timedelta(days=1))
        none, one = literal(0, Integer()), literal(1, Integer())
        clients = self._clients_at(lo)
        return union_all(
            # The column names are the first select's.
            select(
                cur.contact_id,
                cur.currency,
                opening.label("day"),
                one.label("status"),
                none.label("value"),
            ).join(clients, clients.c.contact_id == cur.contact_id),
            select(cur.contact_id, cur.currency, Transition.effective_on, DELTA, none)
            .join(currencies, cur.contact_id == Transition.contact_id)
            .where(
                Transition.workspace_id == self.workspace_id,
                Transition.effective_on >= lo,
                Transition.effective_on < hi,
            ),
            select(c.contact_id, c.currency, opening, none, c.value).where(c.starts_on < lo),
            select(c.contact_id, c.currency, c.starts_on, none, c.value).where(c.starts_on >= lo),
            select(c.contact_id, c.currency, c.ends_on, none, -c.value).where(c.ends_on < hi),
        ).subquery("events")

    @staticmethod
    def _month_ends(events: Subquery) -> Subquery:
        """Per (contact, currency, month with events): status and value at the month's start
        (``cs``, ``r0``) and end (``ce``, ``r1``)."""
        month = month_start(events.c.day)
        monthly = (
            select(
                events.c.contact_id,
                events.c.currency,
                month.label("month"),
                func.sum(events.c.status).label("status"),
                func.sum(events.c.value).label("value"),
            )
            .group_by(events.c.contact_id, events.c.currency, month)
            .subquery("monthly")
        )
        m = monthly.c
        partition = (m.contact_id, m.currency)
        # One row per partition and month: a ROWS frame (no peer search) sums the same.
        ce = func.sum(m.status).over(partition_by=partition, order_by=m.month, rows=(None, 0))
        r1 = func.sum(m.value).over(partition_by=partition, order_by=m.month, rows=(None, 0))
        return select(
            m.month,
            m.currency,
            (ce - m.status).label("cs"),
            ce.label("ce"),
            (r1 - m.value).label("r0"),
            r1.label("r1"),
        ).subquery("month_ends")
