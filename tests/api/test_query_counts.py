"""Lists and the timeline run a constant number of SQL statements whatever the page size."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from tenure.db.models import ApiToken
from tests.conftest import count_statements

from .helpers import (
    confirm,
    create_agreement,
    create_contact,
    days_ago,
    get,
    make_client,
    ok,
)

ROWS = 110
#: Authentication (one query for token, user, role and workspace) plus the list itself, plus at
#: most one check that the parent record exists.
MAX_STATEMENTS = 4


def statements(server, api, path: str, *, expect: int | None = None, **params) -> list[str]:
    """The statements one GET runs; ``expect`` items (default: a full page)."""
    get(api, path, **params)  # warm up
    # A token's last-used time is written at most once a minute: make it fresh, so that the
    # request counted never is the one that writes it.
    with server.engine.begin() as conn:
        conn.execute(update(ApiToken).values(last_used_at=datetime.now(UTC)))
    with count_statements(server.engine) as seen:
        page = get(api, path, **params)
    assert len(page["items"]) == (expect if expect is not None else min(params["limit"], ROWS))
    return list(seen)


def test_listing_contacts_is_a_constant_number_of_statements(server, api, tenant) -> None:
    org = create_contact(api, kind="organization", display_name="Parent Org")
    for i in range(ROWS - 1):
        contact = create_contact(
            api,
            display_name=f"Person {i:03d}",
            emails=[{"email": f"p{i}@example.com"}],
            phones=[{"number": f"+4420794600{i % 100:02d}"}],
            tags=["bulk", f"t{i % 5}"],
            owner_id=tenant.owner.user_id,
            organizations=[{"organization_id": org["id"], "title": "Staff"}],
        )
        if i % 10 == 0:
            agreement = create_agreement(api, contact["id"])
            confirm(api, agreement["id"])
    small = statements(server, api, "/contacts", limit=5)
    large = statements(server, api, "/contacts", limit=100)
    full = statements(server, api, "/contacts", limit=200)
    assert len(small) == len(large) == len(full), (small, large)
    assert len(large) <= MAX_STATEMENTS, large
    # and with every filter at once, on a later page
    cursor = get(api, "/contacts", limit=3, tag="bulk")["next_cursor"]
    params = {"tag": "bulk", "stage": "contact", "owner_id": tenant.owner.user_id}
    filtered_small = statements(server, api, "/contacts", limit=5, cursor=cursor, **params)
    filtered_large = statements(
        server, api, "/contacts", limit=100, expect=96, cursor=cursor, **params
    )
    assert len(filtered_small) == len(filtered_large) <= MAX_STATEMENTS
    # a search (q) is one ranked page, with the same filters, in as many statements
    searched_small = statements(server, api, "/contacts", limit=5, q="person", **params)
    searched_large = statements(
        server, api, "/contacts", limit=100, expect=98, q="person", **params
    )
    assert len(searched_small) == len(searched_large) <= MAX_STATEMENTS


def test_the_timeline_is_a_constant_number_of_statements(server, api) -> None:
    contact = create_contact(api, display_name="Chatty")
    for i in range(ROWS - 1):
        ok(
            api.post(
                f"/contacts/{contact['id']}/interactions",
                json={"channel": "call", "subject": f"#{i}", "participants": ["a", "b"]},
            ),
            201,
        )
    path = f"/contacts/{contact['id']}/timeline"
    small = statements(server, api, path, limit=5)
    large = statements(server, api, path, limit=100)
    full = statements(server, api, path, limit=200)
    assert len(small) == len(large) == len(full), (small, large)
    assert len(large) <= MAX_STATEMENTS, large
    cursor = get(api, path, limit=7)["next_cursor"]
    filtered = statements(
        server, api, path, limit=100, expect=100, type="interaction.logged", cursor=cursor
    )
    assert len(filtered) == len(small)


def test_listing_agreements_is_a_constant_number_of_statements(server, api) -> None:
    contact = create_contact(api, display_name="Many agreements")
    for i in range(ROWS):
        create_agreement(api, contact["id"], title=f"A{i}", value_minor=i, currency="EUR")
    path = f"/contacts/{contact['id']}/agreements"
    small = statements(server, api, path, limit=5)
    large = statements(server, api, path, limit=100)
    assert len(small) == len(large) <= MAX_STATEMENTS, large


#: The two writes of bench scenario 1 (issue 8: they ran 22 and 15 statements on SQLite). What
#: each statement is for:
#: create a contact (one email, one tag): the token; the email's uniqueness; the contact; one
#:   INSERT per lookup table (emails, tags); the search document; the duplicate keys (one
#:   multi-row INSERT); the timeline event; the automation subscriptions (rules and webhooks in
#:   one query).
CREATE_STATEMENTS = 9
#: log an interaction on a client: the token; the contact (locked); the interaction; its search
#:   document; the workspace settings (cadence); the health facts (one query, today's snapshot
#:   included); the contact's one UPDATE (touch and health together); the timeline event; the
#:   subscriptions. Plus one upsert of today's health snapshot when the score moved.
INTERACTION_STATEMENTS = 9


def writes(server, api, method: str, path: str, body: dict, status: int) -> list[str]:  # type: ignore[no-untyped-def]
    with server.engine.begin() as conn:  # as in ``statements``: no last-used write counted
        conn.execute(update(ApiToken).values(last_used_at=datetime.now(UTC)))
    with count_statements(server.engine) as seen:
        ok(api.request(method, path, json=body), status)
    return list(seen)


def test_the_writes_of_scenario_one_run_few_statements(server, api) -> None:  # type: ignore[no-untyped-def]
    create_contact(api, display_name="Warm up")
    person = {"display_name": "Counted", "emails": [{"email": "c@example.com"}], "tags": ["x"]}
    created = writes(server, api, "POST", "/contacts", person, 201)
    assert len(created) == CREATE_STATEMENTS, created

    client, _ = make_client(api, display_name="Client", starts_on=days_ago(60))
    assert client["health_score"] < 100
    call = {"channel": "call", "direction": "outbound", "subject": "Check-in"}
    path = f"/contacts/{client['id']}/interactions"
    # The first touch moves the score (the client was overdue): the snapshot is rewritten.
    first = writes(server, api, "POST", path, call, 201)
    assert len(first) == INTERACTION_STATEMENTS + 1, first
    assert sum("health_snapshots" in s for s in first) == 2, first  # read with the facts
    # The second leaves the score as it was: nothing more than the interaction's own rows.
    second = writes(server, api, "POST", path, call, 201)
    assert len(second) == INTERACTION_STATEMENTS, second
    assert sum(s.lstrip().upper().startswith("UPDATE CONTACTS") for s in second) == 1, second
