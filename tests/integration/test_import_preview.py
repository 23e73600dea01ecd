"""The preview the mapping screen is built on: detection, the suggested mapping, the first rows
with their problems and what would happen to each; nothing written."""

from __future__ import annotations

import pytest

from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.domain.errors import InvalidInput, PermissionDenied
from tenure.services.imports.jobs import ImportRequest
from tenure.services.imports.preview import preview
from tenure.services.imports.source import open_bytes
from tests.api.helpers import workspace_rows
from tests.integration.test_import_contacts import NOW, fixture, run_import


def _preview(tenant, content: bytes, role: Role = Role.OWNER, **options):  # type: ignore[no-untyped-def]
    tenant.member(role)  # made in its own transaction, before this one takes the write lock
    with unit_of_work(session_factory(tenant.db.engine)) as session:
        ctx = tenant.ctx(session, role)
        ctx.now = NOW
        return preview(ctx, open_bytes(content), ImportRequest(**options), limit=3)


def test_preview_of_a_salesforce_export(tenant) -> None:
    run_import(tenant, "name,email\nHannah,h.schulz@schulz-partner.example\n")
    before = workspace_rows(tenant.db.engine, tenant.workspace_id)
    result = _preview(tenant, fixture("salesforce-contacts.csv"))
    assert workspace_rows(tenant.db.engine, tenant.workspace_id) == before
    assert (result.encoding, result.delimiter, result.preset) == ("utf-8", ",", "salesforce")
    assert result.headers[:3] == ["Contact ID", "Salutation", "First Name"]
    assert result.mapping["fields"]["emails"] == ["Email"]
    assert result.mapping["fields"]["phones"] == ["Phone", "Mobile"]
    assert [r.row for r in result.rows] == [2, 3, 4]
    assert [r.action for r in result.rows] == ["skip", "create", "create"]
    first = result.rows[0]
    assert first.values["given_name"] == "Hannah"
    assert first.values["emails"] == ["h.schulz@schulz-partner.example"]
    assert first.values["external_id"] == "0035g00000AbCdE"


def test_preview_shows_problems_and_refuses_what_cannot_be_read(tenant) -> None:
    result = _preview(tenant, b"name;email\nAda;nope\n")
    assert result.delimiter == ";"
    assert result.rows[0].action == "invalid"
    assert result.rows[0].problems[0]["rule"] == "email"
    with pytest.raises(InvalidInput) as caught:
        _preview(tenant, b"name,email\nAda,a@example.com\n", mapping={"emails": "Mail"})
    assert caught.value.errors[0].field == "mapping.emails"
    with pytest.raises(PermissionDenied):
        _preview(tenant, b"name\nAda\n", role=Role.VIEWER)
