"""Agreements: what a client agreed to, and the legal status moves of one.

    draft ──confirm──▶ active ──end──▶ ended
      │                  └──withdraw──▶ cancelled   (its relationship ended before it started)
      └────cancel───▶ cancelled

An *active* agreement is evidence for becoming a client (see ``lifecycle``).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from tenure.domain.errors import InvalidInput, InvalidTransition


class AgreementKind(StrEnum):
    ENGAGEMENT = "engagement"
    CONTRACT = "contract"
    SUBSCRIPTION = "subscription"
    ONE_OFF = "one_off"


class AgreementStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


class AgreementAction(StrEnum):
    CONFIRM = "confirm"
    END = "end"
    CANCEL = "cancel"
    #: Only when its relationship ends before it starts (see ``fate_when_relationship_ends``);
    #: a user cancels drafts only.
    WITHDRAW = "withdraw"


class BillingPeriod(StrEnum):
    ONE_OFF = "one_off"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


#: The one table of legal agreement moves.
AGREEMENT_MOVES: dict[tuple[AgreementStatus, AgreementAction], AgreementStatus] = {
    (AgreementStatus.DRAFT, AgreementAction.CONFIRM): AgreementStatus.ACTIVE,
    (AgreementStatus.ACTIVE, AgreementAction.END): AgreementStatus.ENDED,
    (AgreementStatus.DRAFT, AgreementAction.CANCEL): AgreementStatus.CANCELLED,
    (AgreementStatus.ACTIVE, AgreementAction.WITHDRAW): AgreementStatus.CANCELLED,
}

#: Months per billing period, for normalizing value to monthly recurring value.
MONTHS_PER_PERIOD: dict[BillingPeriod, int | None] = {
    BillingPeriod.ONE_OFF: None,
    BillingPeriod.MONTHLY: 1,
    BillingPeriod.QUARTERLY: 3,
    BillingPeriod.YEARLY: 12,
}


def can_agreement(status: AgreementStatus, action: AgreementAction) -> bool:
    return (status, action) in AGREEMENT_MOVES


def apply_agreement_action(status: AgreementStatus, action: AgreementAction) -> AgreementStatus:
    try:
        return AGREEMENT_MOVES[(status, action)]
    except KeyError:
        raise InvalidTransition(
            f"An agreement that is {status.value} cannot {action.value}",
            status=status.value,
            action=action.value,
        ) from None


def check_agreement_dates(
    starts_on: date | None, ends_on: date | None, renews_on: date | None
) -> None:
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise InvalidInput.one("ends_on", "after-start", "must not be before starts_on")
    if starts_on is not None and renews_on is not None and renews_on < starts_on:
        raise InvalidInput.one("renews_on", "after-start", "must not be before starts_on")


def check_end_date(ended_on: date, *, starts_on: date | None, today: date) -> date:
    if ended_on > today:
        raise InvalidInput.one("ended_on", "not-future", "an agreement cannot end in the future")
    if starts_on is not None and ended_on < starts_on:
        raise InvalidInput.one(
            "ended_on", "after-start", f"must not be before the start date ({starts_on})"
        )
    return ended_on


def fate_when_relationship_ends(starts_on: date | None, ended_on: date) -> AgreementAction:
    """What happens to an active agreement when its relationship ends on ``ended_on``.

    One that had started by then ends that day. One that starts later never ran: it is
    withdrawn (cancelled), since ending it would give it an end before its start.
    """
    if starts_on is not None and starts_on > ended_on:
        return AgreementAction.WITHDRAW
    return AgreementAction.END


def monthly_value(value_minor: int | None, period: BillingPeriod) -> int:
    """Recurring value per month in minor units (0 for one-off or unknown values)."""
    months = MONTHS_PER_PERIOD[period]
    if value_minor is None or months is None:
        return 0
    return value_minor // months
