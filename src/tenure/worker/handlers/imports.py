"""``import.run``: one step of an uploaded CSV import (see ``services.imports.jobs``).

The step's batches, the import's progress cursor and the next step's job commit together with
this job being done, so a worker that dies mid-step leaves nothing of the step behind and the
step runs again from the cursor when its lease runs out.
"""

from __future__ import annotations

from typing import Any

from tenure.services.context import Ctx
from tenure.services.imports import drafts
from tenure.services.imports import jobs as imports
from tenure.worker.periodic import continue_chain, period_of
from tenure.worker.registry import handler

#: Drafts per expiry batch: each may hold a 50 MB file, deleted in the batch's transaction.
EXPIRE_BATCH = 20


@handler(imports.RUN_KIND)
def run_import(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    return imports.run_step(ctx, int(payload["import_id"]))


@handler(drafts.EXPIRE_KIND)
def expire_drafts(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    """Daily: drafts not started within a week, with their files, in batches by id."""
    period = period_of(ctx, payload)
    after = int(payload.get("after") or 0)
    expired, more = drafts.expire_batch(ctx, after_id=after, limit=EXPIRE_BATCH)
    if more is not None:
        continue_chain(ctx, drafts.EXPIRE_KIND, period, str(more), {"after": more})
    return {"expired": expired, "after": after, "more": more is not None}
