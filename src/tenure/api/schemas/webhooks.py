"""Webhook subscription and delivery schemas. The signing secret appears in ``WebhookCreated``
only: the answer to creating a subscription or rotating its secret."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from tenure.api.schemas.common import Input, Output
from tenure.domain.events import EventType
from tenure.domain.webhooks import ALL_EVENTS, MAX_URL_LENGTH, DeliveryStatus

EVENT_TYPES_DOC = 'Event types to send, or ["*"] for every type (also those added later).'
#: Documented as an enum; checked by the domain, whose error names the item and the rule.
EventTypeName = Annotated[
    str,
    WithJsonSchema({"type": "string", "enum": [ALL_EVENTS, *(t.value for t in EventType)]}),
]


class WebhookCreate(Input):
    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="http(s) URL of a public address (private ones only if the operator allows).",
    )
    event_types: list[EventTypeName] = Field(
        min_length=1, max_length=100, description=EVENT_TYPES_DOC
    )
    description: str = Field(default="", max_length=2000)
    active: bool = True


class WebhookUpdate(Input):
    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)
    event_types: list[EventTypeName] | None = Field(
        default=None, min_length=1, max_length=100, description=EVENT_TYPES_DOC
    )
    description: str | None = Field(default=None, max_length=2000)
    active: bool | None = None


class WebhookRead(Output):
    id: int
    url: str
    event_types: list[str]
    description: str
    active: bool
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The signing secret (Standard Webhooks, whsec_…): shown this once."
    )


class WebhookPage(Output):
    items: list[WebhookRead]
    next_cursor: str | None


class WebhookDeliveryRead(Output):
    id: int
    subscription_id: int
    event_id: int | None
    event_type: str
    webhook_id: str = Field(description="The webhook-id header: the same on every attempt.")
    status: DeliveryStatus
    attempts: int
    response_status: int | None
    last_error: str
    payload: dict[str, Any]
    created_at: datetime
    delivered_at: datetime | None


class WebhookDeliveryPage(Output):
    items: list[WebhookDeliveryRead]
    next_cursor: str | None
