"""Personal-data access and erasure: what the API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tenure.api.schemas.common import Output


class PersonalDataRead(Output):
    """Everything stored about one contact (GDPR Art. 15/20), grouped by kind."""

    format: int
    generated_at: datetime
    workspace_id: int
    #: The contact row, every column.
    contact: dict[str, Any]
    #: True when the contact was erased (what is left is the anonymous tombstone).
    erased: bool
    #: Rows by kind (table name): the merged-away contacts (``contacts``), timeline events,
    #: interactions, knowledge versions, agreements, email log, jobs, webhook deliveries …
    records: dict[str, list[dict[str, Any]]]


class ErasureRead(Output):
    """That an erasure happened and how much it touched, never what was erased."""

    contact_id: int
    erased_at: datetime
    #: Merged-away contacts (pointer rows) erased with it.
    merged_ids: list[int]
    #: Rows redacted or deleted per table.
    counts: dict[str, int]
