"""Retention analytics in SQL, on the real database, against the day-by-day brute force.

Random histories (``tests.factories.retention``) are written as rows: contacts with owners and
tags, agreements, and transitions inserted one by one in a random interleaving across contacts
(as back-dated history entry produces them: ids do not follow dates across contacts). A second
workspace gets the same histories, so any leak across workspaces doubles a figure. Every report
of the analytics service, for the whole workspace, one owner and one tag, must equal the brute
force over the matching contacts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from tenure.db.models import Agreement, Contact, ContactTag, Transition
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.agreements import AgreementKind, BillingPeriod
from tenure.domain.contacts import ContactKind
from tenure.domain.errors import InvalidInput
from tenure.domain.lifecycle import EndReason
from tenure.domain.retention import (
    Month,
    Period,
)
from tenure.domain.retention.reference import (
    AgreementRecord,
    History,
    TransitionRecord,
    brute_churn_reasons,
    brute_cohorts,
    brute_retention,
    brute_revenue,
    brute_tenure,
)
from tenure.services import agreements as agreement_service
from tenure.services import analytics
from tenure.services import contacts as contact_service
from tenure.services import lifecycle as lifecycle_service
from tenure.services.context import Ctx
from tests.conftest import Database, Tenant, count_statements, make_tenant
from tests.factories.retention import Scenario, scenarios

TAG = "vip"


def _ctx(session: Session, tenant: Tenant, today: date, role: Role = Role.VIEWER) -> Ctx:
    return Ctx(
        session=session,
        workspace_id=tenant.workspace_id,
        user_id=None,
        role=role,
        source="test",
        now=datetime.combine(today, time(12), tzinfo=UTC),
    )


def _write(
    session: Session,
    workspace_id: int,
    histories: Sequence[History],
    owners: Sequence[int | None],
    tagged: Sequence[bool],
    shuffle: random.Random,
) -> None:
    ids: list[int] = []
    for i, h in enumerate(histories):
        contact = Contact(
            workspace_id=workspace_id,
            kind="person",
            display_name=f"Client {i}",
            sort_name=f"client {i}",
            owner_id=owners[i],
            tags=[TAG] if tagged[i] else [],
            stage=h.transitions[-1].to_stage if h.transitions else "contact",
        )
        session.add(contact)
        session.flush()
        ids.append(contact.id)
        if tagged[i]:
            session.add(ContactTag(workspace_id=workspace_id, contact_id=contact.id, tag=TAG))
        for n, a in enumerate(h.agreements):
            session.add(
                Agreement(
                    workspace_id=workspace_id,
                    contact_id=contact.id,
                    title=f"Agreement {n}",
                    kind=AgreementKind.SUBSCRIPTION.value,
                    status=a.status,
                    starts_on=a.starts_on,
                    ends_on=a.ends_on,
                    ended_on=a.ended_on,
                    value_minor=a.value_minor,
                    currency=a.currency,
                    billing_period=a.billing_period,
                )
            )
    # One contact's transitions keep their order; across contacts the order is random.
    queues = [list(h.transitions) for h in histories]
    pending = [i for i, q in enumerate(queues) for _ in q]
    shuffle.shuffle(pending)
    for i in pending:
        t = queues[i].pop(0)
        session.execute(
            insert(Transition).values(
                workspace_id=workspace_id,
                contact_id=ids[i],
                from_stage=t.from_stage,
                to_stage=t.to_stage,
                effective_on=t.effective_on,
                recorded_at=datetime.combine(LATE_RECORDING, time(9), tzinfo=UTC),
                reason=t.reason,
            )
        )
    session.flush()


#: Every row is recorded long after its effective date: history entered after the fact.
LATE_RECORDING = date(2026, 12, 31)


def _check_all(
    session: Session,
    tenant: Tenant,
    s: Scenario,
    histories: Sequence[History],
    **scope: object,
) -> None:
    ctx = _ctx(session, tenant, s.today)
    period = s.period
    kw = {"start": period.start, "end": period.end, **scope}

    report = analytics.retention(ctx, **kw)
    assert report.months == brute_retention(histories, period)
    reasons = analytics.churn_reasons_report(ctx, **kw)
    assert reasons.reasons == brute_churn_reasons(histories, period)
    assert reasons.ended == sum(m.ended for m in report.months)

    cohorts = analytics.cohorts(ctx, months=s.cohort_months, **kw)
    observable = s.today + timedelta(days=1)
    assert cohorts.as_of == observable
    assert cohorts.cohorts == brute_cohorts(
        histories, period, months=s.cohort_months, as_of=observable
    )

    tenure = analytics.tenure(ctx, **kw)
    assert tenure.tenure == brute_tenure(histories, period, as_of=period.as_of(s.today))

    revenue = analytics.revenue(ctx, **kw)
    assert revenue.currencies == brute_revenue(histories, period)


@pytest.fixture
def tenants(db: Database) -> tuple[Tenant, Tenant, int]:
    tenant = make_tenant(db, "acme")
    other = make_tenant(db, "globex")
    member = tenant.member(Role.MEMBER).user_id
    return tenant, other, member


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(s=scenarios(), data=st.data())
def test_sql_figures_equal_the_brute_force(
    db: Database, tenants: tuple[Tenant, Tenant, int], s: Scenario, data: st.DataObject
) -> None:
    tenant, other, member = tenants
    n = len(s.histories)
    owners = data.draw(
        st.lists(st.sampled_from([None, tenant.owner.user_id, member]), min_size=n, max_size=n)
    )
    tagged = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    seed = data.draw(st.integers(0, 2**32))
    factory = session_factory(db.engine)
    with unit_of_work(factory) as session:
        for ws in (tenant.workspace_id, other.workspace_id):
            session.execute(delete(Contact).where(Contact.workspace_id == ws))
        _write(session, tenant.workspace_id, s.histories, owners, tagged, random.Random(seed))
        # The other workspace: the same histories, every contact tagged, owned by its owner.
        _write(
            session,
            other.workspace_id,
            s.histories,
            [other.owner.user_id] * n,
            [True] * n,
            random.Random(seed + 1),
        )
    with unit_of_work(factory, write=False) as session:
        _check_all(session, tenant, s, s.histories)
        _check_all(
            session,
            tenant,
            s,
            [h for h, o in zip(s.histories, owners, strict=True) if o == member],
            owner_id=member,
        )
        _check_all(
            session,
            tenant,
            s,
            [h for h, t in zip(s.histories, tagged, strict=True) if t],
            tag=" VIP ",
        )


def _monthly(value: int, start: str, ended: str | None = None, period: str = "monthly"):
    return AgreementRecord(
        "ended" if ended else "active",
        date.fromisoformat(start),
        None,
        date.fromisoformat(ended) if ended else None,
        value,
        period,
        "EUR",
    )


def _moves(*steps: str) -> tuple[TransitionRecord, ...]:
    """``"2025-03-01"`` alternately converts (or reactivates) and ends (reason: price)."""
    out: list[TransitionRecord] = []
    stage = "contact"
    for step in steps:
        to = "former_client" if stage == "client" else "client"
        reason = "price" if to == "former_client" else None
        out.append(TransitionRecord(stage, to, date.fromisoformat(step), reason))
        stage = to
    return tuple(out)


#: Each history sits on an edge of the period 2025-03..2025-05 (today 2025-08-31, 3 cohort
#: months: the May cohort's last month, August, is just observable).
EDGES = Scenario(
    histories=[
        # Ends on the period's first day: a client at its start, ended in its first month.
        History(_moves("2025-02-10", "2025-03-01"), (_monthly(900, "2025-02-10", "2025-03-01"),)),
        # Converts and ends on the first day: a flow, never a stock.
        History(_moves("2025-03-01", "2025-03-01"), (_monthly(100, "2025-03-01", "2025-03-01"),)),
        # Converts on the last day of the period, leaves on the last day of August.
        History(
            _moves("2025-05-31", "2025-08-31"), (_monthly(1200, "2025-05-31", period="yearly"),)
        ),
        # Ends on the day after the period: ongoing at its end.
        History(
            _moves("2025-01-01", "2025-06-01"), (_monthly(301, "2025-01-01", period="quarterly"),)
        ),
        # Leaves and comes back on month boundaries, with a bigger plan.
        History(
            _moves("2024-12-31", "2025-04-01", "2025-05-01"),
            (_monthly(50, "2024-12-31", "2025-04-01"), _monthly(70, "2025-05-01")),
        ),
    ],
    period=Period(Month(2025, 3), Month(2025, 5)),
    today=date(2025, 8, 31),
    cohort_months=3,
)


def test_edges(db: Database, tenants: tuple[Tenant, Tenant, int]) -> None:
    tenant, _, _ = tenants
    factory = session_factory(db.engine)
    n = len(EDGES.histories)
    with unit_of_work(factory) as session:
        _write(
            session, tenant.workspace_id, EDGES.histories, [None] * n, [False] * n, random.Random(1)
        )
    with unit_of_work(factory, write=False) as session:
        _check_all(session, tenant, EDGES, EDGES.histories)
        ctx = _ctx(session, tenant, EDGES.today)
        march, april, may = analytics.retention(ctx, start="2025-03", end="2025-05").months
        assert (march.clients_start, march.new, march.ended, march.clients_end) == (3, 1, 2, 2)
        assert (april.ended, may.reactivated, may.new, may.clients_end) == (1, 1, 1, 3)
        may_cohort = analytics.cohorts(ctx, start="2025-05", end="2025-05", months=3).cohorts[0]
        assert may_cohort.retained == (1, 1, 0)
        tenure = analytics.tenure(ctx, start="2025-03", end="2025-05").tenure
        assert tenure.as_of == date(2025, 6, 1)
        assert tenure.ongoing.count == 3  # the May convert, the June leaver, the returner
        (eur,) = analytics.revenue(ctx, start="2025-03", end="2025-05").currencies
        assert eur.months[0].mrr_start == 900 + 301 // 3 + 50  # not the same-day 100
        assert eur.months[0].churned == 900


def _gbp_yearly(value: int, start: str) -> AgreementRecord:
    return AgreementRecord("active", date.fromisoformat(start), None, None, value, "yearly", "GBP")


#: Revenue around the start of the period 2025-01..2025-04 (the running sums start from the
#: status and value in force on its first day), and a conversion month without a value event.
REVENUE_EDGES = Scenario(
    histories=[
        # Two currencies; the GBP plan starts in January (expansion), the client leaves in March
        # (churned in both).
        History(
            _moves("2024-11-10", "2025-03-20"),
            (_monthly(1000, "2024-11-10"), _gbp_yearly(12000, "2025-01-15")),
        ),
        # The agreement predates the conversion: February's new value has no agreement event.
        History(_moves("2025-02-03"), (_monthly(500, "2024-12-15"),)),
        # A plan ending on the period's first day is in force at its start; the smaller one
        # starting that day is not yet (contraction in January).
        History(
            _moves("2024-06-01"),
            (_monthly(300, "2024-06-01", "2025-01-01"), _monthly(200, "2025-01-01")),
        ),
        # Ended before the period (no value in it), then the client leaves in it.
        History(_moves("2024-03-01", "2025-02-10"), (_monthly(900, "2024-03-01", "2024-12-20"),)),
        # An agreement ending on its first day is never in force.
        History(_moves("2025-04-05"), (_monthly(700, "2025-04-05", "2025-04-05"),)),
    ],
    period=Period(Month(2025, 1), Month(2025, 4)),
    today=date(2025, 6, 30),
    cohort_months=2,
)


def test_revenue_around_the_period_start(db: Database, tenants: tuple[Tenant, Tenant, int]) -> None:
    tenant, _, _ = tenants
    factory = session_factory(db.engine)
    s = REVENUE_EDGES
    n = len(s.histories)
    with unit_of_work(factory) as session:
        _write(session, tenant.workspace_id, s.histories, [None] * n, [False] * n, random.Random(2))
    with unit_of_work(factory, write=False) as session:
        _check_all(session, tenant, s, s.histories)
        ctx = _ctx(session, tenant, s.today)
        eur, gbp = analytics.revenue(ctx, start="2025-01", end="2025-04").currencies
        jan, feb, mar, _ = eur.months
        assert (eur.currency, gbp.currency) == ("EUR", "GBP")
        assert (jan.mrr_start, jan.contraction, jan.mrr_end) == (1000 + 300, 100, 1000 + 200)
        assert (feb.new, feb.churned, mar.churned) == (500, 0, 1000)
        assert (gbp.months[0].expansion, gbp.months[2].churned) == (1000, 1000)
        assert sum(m.new for m in eur.months) == 500  # not the never-in-force 700


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(s=scenarios(), seed=st.integers(0, 2**32))
def test_revenue_cohorts_and_tenure_equal_the_brute_force(
    db: Database, tenant: Tenant, s: Scenario, seed: int
) -> None:
    """The reports that follow each contact's history (running sums, cohort members, spells),
    on more random histories than the all-reports test above."""
    factory = session_factory(db.engine)
    n = len(s.histories)
    with unit_of_work(factory) as session:
        session.execute(delete(Contact).where(Contact.workspace_id == tenant.workspace_id))
        _write(
            session, tenant.workspace_id, s.histories, [None] * n, [False] * n, random.Random(seed)
        )
    with unit_of_work(factory, write=False) as session:
        ctx = _ctx(session, tenant, s.today)
        period = s.period
        kw = {"start": period.start, "end": period.end}
        assert analytics.revenue(ctx, **kw).currencies == brute_revenue(s.histories, period)
        observable = s.today + timedelta(days=1)
        assert analytics.cohorts(ctx, months=s.cohort_months, **kw).cohorts == brute_cohorts(
            s.histories, period, months=s.cohort_months, as_of=observable
        )
        assert analytics.tenure(ctx, **kw).tenure == brute_tenure(
            s.histories, period, as_of=period.as_of(s.today)
        )


def _histories_from_rows(session: Session, workspace_id: int) -> list[History]:
    """What the services wrote, as the brute force's input."""
    transitions = session.execute(
        select(Transition)
        .where(Transition.workspace_id == workspace_id)
        .order_by(Transition.contact_id, Transition.effective_on, Transition.id)
    ).scalars()
    agreements = session.execute(
        select(Agreement).where(Agreement.workspace_id == workspace_id)
    ).scalars()
    by_contact: dict[int, tuple[list[TransitionRecord], list[AgreementRecord]]] = {}
    for t in transitions:
        by_contact.setdefault(t.contact_id, ([], []))[0].append(
            TransitionRecord(t.from_stage, t.to_stage, t.effective_on, t.reason)
        )
    for a in agreements:
        by_contact.setdefault(a.contact_id, ([], []))[1].append(
            AgreementRecord(
                a.status,
                a.starts_on,
                a.ends_on,
                a.ended_on,
                a.value_minor,
                a.billing_period,
                a.currency,
            )
        )
    return [History(tuple(ts), tuple(ags)) for ts, ags in by_contact.values()]


def test_history_made_through_the_services(db: Database, tenant: Tenant) -> None:
    """Conversions by confirming agreements, ends with reasons, reactivation, a same-day spell
    and back-dated entries, made by the services with the clock moved."""
    factory = session_factory(db.engine)

    def act(today: date, fn) -> object:
        with unit_of_work(factory) as session:
            return fn(_ctx(session, tenant, today, Role.OWNER))

    def new_client(name: str, *, starts_on: date, value: int, period: BillingPeriod):
        def run(ctx: Ctx) -> tuple[int, int]:
            contact = contact_service.create_contact(
                ctx, kind=ContactKind.PERSON, given_name=name
            ).contact
            agreement = agreement_service.create_agreement(
                ctx,
                contact.id,
                title=f"{name}'s plan",
                kind=AgreementKind.SUBSCRIPTION,
                starts_on=starts_on,
                value_minor=value,
                currency="EUR",
                billing_period=period,
            )
            agreement_service.confirm(ctx, agreement.id)
            return contact.id, agreement.id

        return run

    d = date.fromisoformat
    # Entered in March 2026, back-dated to January.
    _, ada_plan = act(
        d("2026-03-10"),
        new_client("Ada", starts_on=d("2026-01-05"), value=12000, period=BillingPeriod.YEARLY),
    )
    bob, _ = act(
        d("2026-03-10"),
        new_client("Bob", starts_on=d("2026-01-31"), value=500, period=BillingPeriod.MONTHLY),
    )
    # Bob leaves at the end of February (back-dated), comes back in April with a bigger plan.
    act(
        d("2026-03-10"),
        lambda ctx: lifecycle_service.end(
            ctx, bob, reason=EndReason.PRICE, effective_on=d("2026-02-28")
        ),
    )

    def bob_returns(ctx: Ctx) -> None:
        agreement = agreement_service.create_agreement(
            ctx,
            bob,
            title="Bob again",
            kind=AgreementKind.SUBSCRIPTION,
            starts_on=d("2026-04-02"),
            value_minor=800,
            currency="EUR",
            billing_period=BillingPeriod.MONTHLY,
        )
        agreement_service.confirm(ctx, agreement.id)

    # Cy converts and ends on the same day.
    cy, _ = act(
        d("2026-03-15"),
        new_client("Cy", starts_on=d("2026-03-15"), value=300, period=BillingPeriod.QUARTERLY),
    )
    act(d("2026-03-15"), lambda ctx: lifecycle_service.end(ctx, cy, reason=EndReason.MOVED))
    act(d("2026-04-02"), bob_returns)
    # Ada's agreement ends; that ends her relationship too (agreement_ended).
    act(
        d("2026-05-20"),
        lambda ctx: agreement_service.end(
            ctx, ada_plan, reason=EndReason.COMPLETED, ended_on=d("2026-05-18")
        ),
    )

    today = d("2026-06-10")
    with unit_of_work(factory, write=False) as session:
        histories = _histories_from_rows(session, tenant.workspace_id)
        ctx = _ctx(session, tenant, today)
        period = Period(Month(2026, 1), Month(2026, 6))
        report = analytics.retention(ctx, start="2026-01", end="2026-06")
        assert report.months == brute_retention(histories, period)
        summary = [
            (str(m.month), m.clients_start, m.new, m.reactivated, m.ended, m.clients_end)
            for m in report.months
        ]
        assert summary == [
            ("2026-01", 0, 2, 0, 0, 2),
            ("2026-02", 2, 0, 0, 1, 1),
            ("2026-03", 1, 1, 0, 1, 1),
            ("2026-04", 1, 0, 1, 0, 2),
            ("2026-05", 2, 0, 0, 1, 1),
            ("2026-06", 1, 0, 0, 0, 1),
        ]
        assert report.months[4].ended_by_reason == {"agreement_ended": 1}
        tenure = analytics.tenure(ctx, start="2026-01", end="2026-06")
        assert tenure.tenure == brute_tenure(histories, period, as_of=d("2026-06-11"))
        # Completed: Bob 28 days (Jan 31 - Feb 28), Cy 0, Ada 133 (Jan 5 - May 18).
        assert (tenure.tenure.completed.count, tenure.tenure.completed.median_days) == (3, 28.0)
        assert tenure.tenure.ongoing.total_days == (d("2026-06-11") - d("2026-04-02")).days
        revenue = analytics.revenue(ctx, start="2026-01", end="2026-06")
        assert revenue.currencies == brute_revenue(histories, period)
        (eur,) = revenue.currencies
        assert [m.mrr_end for m in eur.months] == [1500, 1000, 1000, 1800, 800, 800]
        cohorts = analytics.cohorts(ctx, start="2026-01", end="2026-06", months=3)
        assert cohorts.cohorts == brute_cohorts(histories, period, months=3, as_of=d("2026-06-11"))
        assert cohorts.cohorts[0].retained == (1, 1, 2)


def test_each_report_takes_a_constant_number_of_queries(db: Database, tenant: Tenant) -> None:
    with unit_of_work(session_factory(db.engine), write=False) as session:
        ctx = _ctx(session, tenant, date(2026, 6, 10))
        expected = {
            analytics.retention: 2,
            analytics.churn_reasons_report: 2,
            analytics.cohorts: 1,
            analytics.tenure: 1,
            analytics.revenue: 2,
        }
        for report, queries in expected.items():
            with count_statements(db.engine) as statements:
                report(ctx, start="2016-07", end="2026-06", tag="vip", owner_id=1)
            assert len(statements) == queries, (report, statements)


def test_bad_ranges_name_the_field(db: Database, tenant: Tenant) -> None:
    with unit_of_work(session_factory(db.engine), write=False) as session:
        ctx = _ctx(session, tenant, date(2026, 6, 10))
        for kwargs, field in [
            ({"start": "2026-05", "end": "2026-04"}, "end"),
            ({"start": "2016-06", "end": "2026-06"}, "end"),
            ({"start": "2026-13"}, "start"),
            ({"end": "soon"}, "end"),
        ]:
            with pytest.raises(InvalidInput) as caught:
                analytics.retention(ctx, **kwargs)
            assert caught.value.errors[0].field == field
        with pytest.raises(InvalidInput) as caught:
            analytics.cohorts(ctx, months=121)
        assert caught.value.errors[0].field == "months"


def test_cli(
    db: Database, tenants: tuple[Tenant, Tenant, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from tenure.cli.main import app
    from tenure.config import get_settings

    tenant, _, _ = tenants
    factory = session_factory(db.engine)
    n = len(EDGES.histories)
    with unit_of_work(factory) as session:
        _write(
            session, tenant.workspace_id, EDGES.histories, [None] * n, [False] * n, random.Random(1)
        )
    monkeypatch.setenv("TENURE_DATABASE_URL", db.url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        args = ["--start", "2025-03", "--end", "2025-05", "--workspace", "acme"]
        result = runner.invoke(app, ["analytics", "retention", *args, "--json"])
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert [m["clients_end"] for m in data["months"]] == [2, 1, 3]
        assert data["months"][0]["ended_by_reason"] == {"price": 2}
        for command in ["retention", "cohorts", "churn-reasons", "tenure", "revenue"]:
            result = runner.invoke(app, ["analytics", command, *args])
            assert result.exit_code == 0, (command, result.output)
            assert "2025-03" in result.stdout, command
        result = runner.invoke(app, ["analytics", "churn-reasons", *args, "--json"])
        assert json.loads(result.stdout)["reasons"] == [
            {"reason": "price", "ended": 3, "share": 1.0}
        ]
        result = runner.invoke(app, ["analytics", "cohorts", *args, "--months", "2", "--json"])
        assert [c["size"] for c in json.loads(result.stdout)["cohorts"]] == [1, 0, 1]
        result = runner.invoke(
            app, ["analytics", "retention", "--start", "2025-06", "--end", "2025-05", "-w", "acme"]
        )
        assert result.exit_code == 2
        assert "end" in result.output
    finally:
        get_settings.cache_clear()
