"""/webhooks (subscriptions, for admins) and /webhook-deliveries (the delivery log)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tenure.api.deps import CtxDep, ExpectedVersion, etag
from tenure.api.routing import OneHopRoute
from tenure.api.schemas.webhooks import (
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryPage,
    WebhookDeliveryRead,
    WebhookPage,
    WebhookRead,
    WebhookUpdate,
)
from tenure.db.repositories.pagination import MAX_LIMIT
from tenure.domain.webhooks import DeliveryStatus
from tenure.services import webhooks as service

router = APIRouter(route_class=OneHopRoute, tags=["webhooks"])

Cursor = Annotated[str | None, Query(max_length=500)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def _read(row: object, response: Response) -> WebhookRead:
    read = WebhookRead.model_validate(row)
    response.headers["ETag"] = etag(read.version)
    return read


def _created(new: service.NewSecret, response: Response) -> WebhookCreated:
    read = _read(new.subscription, response)
    response.headers["Cache-Control"] = "no-store"
    return WebhookCreated(**read.model_dump(), secret=new.secret)


@router.post("/webhooks", response_model=WebhookCreated, status_code=201)
def create_webhook(body: WebhookCreate, ctx: CtxDep, response: Response) -> WebhookCreated:
    """Subscribe a URL to event types. The answer holds the signing secret, shown this once."""
    new = service.create_subscription(ctx, **body.model_dump())
    response.headers["Location"] = f"/api/v1/webhooks/{new.subscription.id}"
    return _created(new, response)


@router.get("/webhooks", response_model=WebhookPage)
def list_webhooks(
    ctx: CtxDep, active: bool | None = None, cursor: Cursor = None, limit: Limit = 50
) -> WebhookPage:
    page = service.list_subscriptions(ctx, active=active, cursor=cursor, limit=limit)
    return WebhookPage(
        items=[WebhookRead.model_validate(s) for s in page.items], next_cursor=page.next_cursor
    )


@router.get("/webhooks/{webhook_id}", response_model=WebhookRead)
def get_webhook(webhook_id: int, ctx: CtxDep, response: Response) -> WebhookRead:
    return _read(service.get_subscription(ctx, webhook_id), response)


@router.patch("/webhooks/{webhook_id}", response_model=WebhookRead)
def update_webhook(
    webhook_id: int,
    body: WebhookUpdate,
    ctx: CtxDep,
    version: ExpectedVersion,
    response: Response,
) -> WebhookRead:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    row = service.update_subscription(ctx, webhook_id, expected_version=version, changes=changes)
    return _read(row, response)


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: int, ctx: CtxDep) -> Response:
    """Deletes the subscription and its delivery log."""
    service.delete_subscription(ctx, webhook_id)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/rotate-secret", response_model=WebhookCreated)
def rotate_secret(webhook_id: int, ctx: CtxDep, response: Response) -> WebhookCreated:
    """A new signing secret, in force at once; shown this once."""
    return _created(service.rotate_secret(ctx, webhook_id), response)


@router.post("/webhooks/{webhook_id}/test", response_model=WebhookDeliveryRead, status_code=202)
def test_webhook(webhook_id: int, ctx: CtxDep) -> WebhookDeliveryRead:
    """Queue a `webhook.test` ping; follow it in the delivery log."""
    return WebhookDeliveryRead.model_validate(service.send_test(ctx, webhook_id))


@router.get("/webhooks/{webhook_id}/deliveries", response_model=WebhookDeliveryPage)
def list_deliveries(
    webhook_id: int,
    ctx: CtxDep,
    status: DeliveryStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> WebhookDeliveryPage:
    """The delivery log, newest first (`?status=dead` for those that ran out of attempts)."""
    page = service.list_deliveries(
        ctx,
        subscription_id=webhook_id,
        status=status.value if status else None,
        cursor=cursor,
        limit=limit,
    )
    return WebhookDeliveryPage(
        items=[WebhookDeliveryRead.model_validate(d) for d in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/webhook-deliveries/{delivery_id}", response_model=WebhookDeliveryRead)
def get_delivery(delivery_id: int, ctx: CtxDep) -> WebhookDeliveryRead:
    return WebhookDeliveryRead.model_validate(service.get_delivery(ctx, delivery_id))


@router.post("/webhook-deliveries/{delivery_id}/retry", response_model=WebhookDeliveryRead)
def retry_delivery(delivery_id: int, ctx: CtxDep) -> WebhookDeliveryRead:
    """A dead delivery gets a fresh round of attempts, with the same webhook-id."""
    return WebhookDeliveryRead.model_validate(service.retry_delivery(ctx, delivery_id))
