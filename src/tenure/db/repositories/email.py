"""Queries about email: templates, the message log, threads, and matching addresses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite

from tenure.db.models import (
    ContactEmail,
    EmailMessage,
    EmailTemplate,
    Interaction,
    Job,
    Membership,
    User,
)
from tenure.db.repositories.base import Repository, is_id
from tenure.db.repositories.keyset import KeysetOrder

#: The idempotency key of the job that sends one outbound message.
SEND_KEY_PREFIX = "email:"


class EmailTemplateRepository(Repository[EmailTemplate]):
    model = EmailTemplate
    noun = "email template"

    def by_name(self, name: str) -> EmailTemplate | None:
        return self.session.scalars(self.select().where(EmailTemplate.name == name)).one_or_none()

    def page(self, *, after: list[Any] | None, limit: int) -> Sequence[EmailTemplate]:
        order = KeysetOrder(EmailTemplate.name, EmailTemplate.id)
        return self.session.scalars(order.apply(self.select(), after, limit)).all()


class EmailMessageRepository(Repository[EmailMessage]):
    model = EmailMessage
    noun = "email"

    def by_message_id(self, message_id: str) -> EmailMessage | None:
        stmt = self.select().where(EmailMessage.message_id == message_id)
        return self.session.scalars(stmt).one_or_none()

    def threads_of(self, message_ids: Sequence[str]) -> dict[str, str]:
        """The thread of each known Message-ID (sent or received in this workspace)."""
        if not message_ids:
            return {}
        stmt = self.select(EmailMessage.message_id, EmailMessage.thread_id).where(
            EmailMessage.message_id.in_(set(message_ids))
        )
        return {str(m): str(t) for m, t in self.session.execute(stmt).all()}

    def insert_once(self, values: dict[str, Any]) -> int | None:
        """INSERT … ON CONFLICT (workspace_id, message_id) DO NOTHING: the new row's id, or None
        when the workspace already has this Message-ID (so two deliveries of one message at the
        same moment still log it once)."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(EmailMessage)
            .values(workspace_id=self.workspace_id, **values)
            .on_conflict_do_nothing()
            .returning(EmailMessage.id)
        )
        return self.session.execute(stmt).scalar_one_or_none()

    def page_of_contact(
        self, contact_id: int, *, after: list[Any] | None, limit: int
    ) -> Sequence[EmailMessage]:
        """Every message of a contact, newest first: the ones addressed to them (queued, sent)
        and every logged one that is on their timeline (a message can concern several)."""
        logged = select(Interaction.message_id).where(
            Interaction.workspace_id == self.workspace_id,
            Interaction.contact_id == contact_id,
            Interaction.message_id.is_not(None),
        )
        stmt = self.select().where(
            or_(EmailMessage.contact_id == contact_id, EmailMessage.message_id.in_(logged))
        )
        order = KeysetOrder(EmailMessage.id, EmailMessage.id, descending=True)
        return self.session.scalars(order.apply(stmt, after, limit)).all()

    def send_jobs(self, message_ids: Sequence[int]) -> dict[int, Job]:
        """The send job of each outbound row (by its idempotency key), in one query."""
        keys = {f"{SEND_KEY_PREFIX}{i}": i for i in message_ids}
        if not keys:
            return {}
        stmt = select(Job).where(Job.workspace_id == self.workspace_id, Job.key.in_(keys))
        return {keys[str(job.key)]: job for job in self.session.scalars(stmt).all()}

    def contacts_by_email(self, emails: Sequence[str]) -> dict[str, int]:
        """Which contact holds each address (lookup rows are stored lower-cased)."""
        if not emails:
            return {}
        stmt = select(ContactEmail.email, ContactEmail.contact_id).where(
            ContactEmail.workspace_id == self.workspace_id, ContactEmail.email.in_(set(emails))
        )
        return {str(e): int(c) for e, c in self.session.execute(stmt).all()}

    def member_emails(self) -> set[str]:
        """The addresses of the workspace's own people (mail from them is the business's)."""
        stmt = (
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == self.workspace_id)
        )
        return {str(e).lower() for e in self.session.scalars(stmt).all()}


def user_email(repo: EmailMessageRepository, user_id: int | None) -> str | None:
    """The address of a member of the repository's workspace (a test email goes there)."""
    if user_id is None or not is_id(user_id):
        return None
    stmt = (
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == repo.workspace_id, User.id == user_id)
    )
    found = repo.session.scalars(stmt).first()
    return str(found) if found else None
