"""Queries about webhook subscriptions and their deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from tenure.db.models import WebhookDelivery, WebhookSubscription
from tenure.db.repositories.base import Repository
from tenure.db.repositories.keyset import KeysetOrder


class WebhookSubscriptionRepository(Repository[WebhookSubscription]):
    model = WebhookSubscription
    noun = "webhook"

    def page(
        self, *, active: bool | None, after: list[Any] | None, limit: int
    ) -> Sequence[WebhookSubscription]:
        stmt = self.select()
        if active is not None:
            stmt = stmt.where(WebhookSubscription.active.is_(active))
        order = KeysetOrder(WebhookSubscription.id, WebhookSubscription.id)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

    def active(self) -> Sequence[WebhookSubscription]:
        stmt = self.select().where(WebhookSubscription.active.is_(True))
        return self.session.scalars(stmt.order_by(WebhookSubscription.id)).all()


class WebhookDeliveryRepository(Repository[WebhookDelivery]):
    model = WebhookDelivery
    noun = "webhook delivery"

    def insert_once(self, values: dict[str, Any]) -> int | None:
        """INSERT … ON CONFLICT (subscription_id, event_id) DO NOTHING: the new id, or None when
        this event was already handed to this subscription."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(WebhookDelivery)
            .values(**values, workspace_id=self.workspace_id)
            .on_conflict_do_nothing()
            .returning(WebhookDelivery.id)
        )
        return self.session.execute(stmt).scalar_one_or_none()

    def page(
        self,
        *,
        subscription_id: int | None,
        status: str | None,
        after: list[Any] | None,
        limit: int,
    ) -> Sequence[WebhookDelivery]:
        """Newest first (the delivery log)."""
        stmt = self.select()
        if subscription_id is not None:
            stmt = stmt.where(WebhookDelivery.subscription_id == subscription_id)
        if status:
            stmt = stmt.where(WebhookDelivery.status == status)
        order = KeysetOrder(WebhookDelivery.id, WebhookDelivery.id, descending=True)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

    def by_webhook_id(self, subscription_id: int, webhook_id: str) -> WebhookDelivery | None:
        stmt = self.select().where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.webhook_id == webhook_id,
        )
        return self.session.scalars(stmt).one_or_none()
