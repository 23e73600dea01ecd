"""CSV import of past interactions: logged back-dated on the right contact's timeline."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tenure.db.models import Interaction, TimelineEvent
from tenure.domain.errors import InvalidInput
from tests.integration.test_import_contacts import contact_named, count, run_import

CONTACTS = (
    "name,email,external_id\nAda Lovelace,ada@example.com,A-1\nAlan Turing,alan@example.com,\n"
)


def test_interactions_are_logged_back_dated(tenant) -> None:
    run_import(tenant, CONTACTS)
    csv = (
        "email,external_id,occurred_at,channel,direction,subject,body\n"
        "ada@example.com,,2025-03-01T09:30:00+00:00,call,outbound,Kick-off,Agreed the scope\n"
        ",A-1,2025-04-02 14:00,Email,Inbound,Question,About invoices\n"
        "alan@example.com,,2025-05-05,note,,Internal,Met at a conference\n"
        "nobody@example.com,,2025-05-05,call,outbound,,\n"
        "alan@example.com,,2099-01-01,call,outbound,,\n"
        "alan@example.com,,yesterday,fax,sideways,,\n"
    )
    result = run_import(tenant, csv, kind="interactions")
    assert result["status"] == "done"
    assert result["counts"]["logged"] == 3
    assert result["counts"]["invalid"] == 3
    problems = {(p["row"], p["column"], p["rule"]) for p in result["report"]}
    assert problems == {
        (5, "email", "not-found"),
        (6, "occurred_at", "not-future"),
        (7, "occurred_at", "datetime"),
        (7, "channel", "choice"),
        (7, "direction", "choice"),
    }
    ada = contact_named(tenant, "Ada Lovelace")
    with tenant.db.session() as session:
        logged = session.execute(
            select(Interaction.channel, Interaction.direction, Interaction.occurred_at)
            .where(Interaction.contact_id == ada.id)
            .order_by(Interaction.occurred_at)
        ).all()
        events = session.scalars(
            select(TimelineEvent.occurred_at).where(
                TimelineEvent.contact_id == ada.id, TimelineEvent.type == "interaction.logged"
            )
        ).all()
    assert [(c, d) for c, d, _ in logged] == [("call", "outbound"), ("email", "inbound")]
    assert logged[0][2].astimezone(UTC) == datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    # Without an offset, a time is the workspace's (UTC here).
    assert logged[1][2].astimezone(UTC) == datetime(2025, 4, 2, 14, 0, tzinfo=UTC)
    assert sorted(e.astimezone(UTC) for e in events) == [
        datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        datetime(2025, 4, 2, 14, 0, tzinfo=UTC),
    ]
    assert contact_named(tenant, "Ada Lovelace").last_interaction_at.astimezone(UTC) == datetime(
        2025, 4, 2, 14, 0, tzinfo=UTC
    )
    alan = contact_named(tenant, "Alan Turing")
    assert count(tenant, Interaction, Interaction.contact_id == alan.id) == 1


def test_interactions_need_a_contact_key_and_a_time_in_the_mapping(tenant) -> None:
    with pytest.raises(InvalidInput) as caught:
        run_import(tenant, "subject,body\nHi,there\n", kind="interactions")
    assert {(e.field, e.rule) for e in caught.value.errors} == {
        ("mapping.email", "required"),
        ("mapping.occurred_at", "required"),
    }
