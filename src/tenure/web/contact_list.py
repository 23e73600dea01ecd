"""The contact list's query string (filters, search, sort) as the web app reads it: one parser
for the list page and for its downloads (CSV, vCard), so a link carrying the page's query
string always selects the same contacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from tenure.db.repositories.contacts import ContactFilter
from tenure.domain.errors import InvalidInput
from tenure.domain.health import BANDS, band_range
from tenure.web.deps import WebCtx

#: The sorts the list page offers, with their labels (the API has a few more).
SORTS = {
    "name": "Name",
    "-created": "Newest",
    "last_touch": "Last touch (oldest first)",
    "-last_touch": "Last touch (newest first)",
    "next_activity": "Next activity",
    "health": "Health (lowest first)",
    "-health": "Health (highest first)",
    "client_since": "Client since (longest first)",
}
MAX_RENEWAL_DAYS = 3660


@dataclass(frozen=True)
class ContactListQuery:
    filters: ContactFilter
    #: A sort the page offers (an unknown one is the default, not an error).
    sort: str
    #: The query's non-empty values, for the links that keep them (next page, downloads).
    params: dict[str, str] = field(default_factory=dict)


def _int(value: str | None, field: str, maximum: int = 10**18) -> int | None:
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidInput.one(field, "integer", "not a number")
    if int(value) > maximum:
        raise InvalidInput.one(field, "range", f"at most {maximum}")
    return int(value)


def contact_list_query(
    ctx: WebCtx,
    stage: str | None = None,
    tag: str | None = None,
    owner_id: str | None = None,
    health: str | None = None,
    touch: str | None = None,
    renewal: str | None = None,
    q: str | None = None,
    sort: str = "name",
) -> ContactListQuery:
    """A FastAPI dependency: the list's query parameters, checked (each error names its
    parameter), as a repository filter."""
    if q and "\x00" in q:
        raise InvalidInput.one("q", "text", "contains a NUL character")
    if health and health not in {name for name, _, _ in BANDS}:
        raise InvalidInput.one("health", "choice", ", ".join(name for name, _, _ in BANDS))
    renewal_days = _int(renewal, "renewal", maximum=MAX_RENEWAL_DAYS)
    filters = ContactFilter(
        stage=stage or None,
        tag=tag or None,
        owner_id=_int(owner_id, "owner_id"),
        q=q or None,
        health=band_range(health) if health else None,
        touch_due_before=ctx.today if touch == "overdue" else None,
        renewal_between=(ctx.today, ctx.today + timedelta(days=renewal_days))
        if renewal_days is not None
        else None,
    )
    values = {
        "stage": stage,
        "tag": tag,
        "owner_id": owner_id,
        "health": health,
        "touch": touch,
        "renewal": renewal,
        "q": q,
        "sort": sort,
    }
    return ContactListQuery(
        filters=filters,
        sort=sort if sort in SORTS else "name",
        params={k: v for k, v in values.items() if v},
    )
