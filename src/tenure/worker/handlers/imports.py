"""``import.run``: one step of an uploaded CSV import (see ``services.imports.jobs``).

The step's batches, the import's progress cursor and the next step's job commit together with
this job being done, so a worker that dies mid-step leaves nothing of the step behind and the
step runs again from the cursor when its lease runs out.
"""

from __future__ import annotations

from typing import Any

from tenure.services.context import Ctx
from tenure.services.imports import jobs as imports
from tenure.worker.registry import handler


@handler(imports.RUN_KIND)
def run_import(ctx: Ctx, payload: dict[str, Any]) -> dict[str, Any]:
    return imports.run_step(ctx, int(payload["import_id"]))
