"""The filters of the contact list (``GET /contacts``), one dependency for every route that
lists contacts: the page itself, its CSV (``/contacts.csv``) and its vCards (``/contacts.vcf``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import Depends, Query

from tenure.api.deps import CtxDep
from tenure.db.repositories.contacts import ContactFilter
from tenure.domain.contacts import ContactKind
from tenure.domain.health import band_range
from tenure.domain.lifecycle import Stage

NO_NUL = r"^[^\x00]*$"


async def contact_filter(
    ctx: CtxDep,
    stage: Stage | None = None,
    tag: Annotated[str | None, Query(max_length=50, pattern=NO_NUL)] = None,
    owner_id: int | None = None,
    kind: ContactKind | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=NO_NUL,
            description=(
                "Search name, emails, phones, organizations and tags (word prefixes, accents "
                "and case aside, names with typos). With q the answer is one page ranked by "
                "relevance (sort is ignored, next_cursor is null, a cursor is refused)."
            ),
        ),
    ] = None,
    health_band: Annotated[
        Literal["at_risk", "watch", "healthy"] | None, Query(description="Clients by health")
    ] = None,
    touch_overdue: Annotated[bool, Query(description="Only clients overdue for a touch")] = False,
    renewal_within_days: Annotated[
        int | None, Query(ge=0, le=3660, description="Active agreement renewing within N days")
    ] = None,
) -> ContactFilter:
    return ContactFilter(
        stage=stage.value if stage else None,
        tag=tag,
        owner_id=owner_id,
        kind=kind.value if kind else None,
        q=q or None,
        health=band_range(health_band) if health_band else None,
        touch_due_before=ctx.today if touch_overdue else None,
        renewal_between=(ctx.today, ctx.today + timedelta(days=renewal_within_days))
        if renewal_within_days is not None
        else None,
    )


#: Async although it awaits nothing: FastAPI runs a sync dependency in the thread pool, a hop
#: that costs more than building the filter.
ContactFilterDep = Annotated[ContactFilter, Depends(contact_filter)]
