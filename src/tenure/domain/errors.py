"""The one error tree of Tenure.

Every rule the domain or a service enforces raises one of these. Each carries a stable ``code``
(kebab-case, part of the public contract) and never an HTTP status: the edges map codes to their
own form (RFC 9457 problem documents in the API, messages in the UI, exit codes in the CLI)::

    DomainError                         code
    ├── InvalidInput                    invalid-input          bad field values (lists each field)
    ├── NotFound                        not-found              missing, or another workspace's
    │   └── ContactMerged               contact-merged         merged into another (410, a pointer)
    ├── PermissionDenied                forbidden              the role may not do this
    ├── NotAuthenticated                not-authenticated      no or bad credentials
    ├── PreconditionFailed              stale-version          If-Match/version is not current
    ├── PreconditionRequired            version-required       an update without a version
    └── Conflict                        conflict               the request clashes with state
        ├── InvalidTransition           invalid-transition     a status move the table forbids
        ├── EvidenceRequired            evidence-required      convert without confirmed evidence
        ├── InvalidEvidence             invalid-evidence       another contact's, or unconfirmed
        ├── InvalidEffectiveDate        invalid-effective-date future, or before the last transition
        ├── DuplicateValue              duplicate-value        a value that must be unique is taken
        └── ContactErased               contact-erased         an erased contact takes no new data
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One bad field: where (dotted path), which rule, and a sentence for people."""

    field: str
    rule: str
    message: str


class DomainError(Exception):
    code: ClassVar[str] = "domain-error"
    title: ClassVar[str] = "The request breaks a rule"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    code = "invalid-input"
    title = "Some fields are not valid"

    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        super().__init__(message or "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors

    @classmethod
    def one(cls, field_name: str, rule: str, message: str) -> InvalidInput:
        return cls([FieldError(field_name, rule, message)])


class NotFound(DomainError):
    code = "not-found"
    title = "Not found"


class ContactMerged(NotFound):
    """The contact was merged into another; ``merged_into`` is the survivor's id."""

    code = "contact-merged"
    title = "The contact was merged into another"

    def __init__(self, contact_id: int, merged_into: int) -> None:
        super().__init__(
            f"contact {contact_id} was merged into contact {merged_into}",
            resource="contact",
            id=contact_id,
            merged_into=merged_into,
        )
        self.merged_into = merged_into


class PermissionDenied(DomainError):
    code = "forbidden"
    title = "Your role does not allow this"


class NotAuthenticated(DomainError):
    code = "not-authenticated"
    title = "Authentication required"


class PreconditionFailed(DomainError):
    code = "stale-version"
    title = "The record changed since you read it"


class PreconditionRequired(DomainError):
    code = "version-required"
    title = "Updates must say which version they change"


class Conflict(DomainError):
    code = "conflict"
    title = "The request conflicts with the current state"


class InvalidTransition(Conflict):
    code = "invalid-transition"
    title = "That status change is not allowed"


class EvidenceRequired(Conflict):
    code = "evidence-required"
    title = "Becoming a client needs evidence"


class InvalidEvidence(Conflict):
    code = "invalid-evidence"
    title = "The evidence does not qualify"


class InvalidEffectiveDate(Conflict):
    code = "invalid-effective-date"
    title = "The effective date is not allowed"


class DuplicateValue(Conflict):
    code = "duplicate-value"
    title = "A value that must be unique is already in use"


class ContactErased(Conflict):
    """The contact's personal data was erased (right to erasure): the tombstone stays readable
    and countable, but takes no new personal data (no edits, records, merges or imports)."""

    code = "contact-erased"
    title = "The contact's personal data was erased"

    def __init__(self, contact_id: int, erased_at: str) -> None:
        super().__init__(
            f"contact {contact_id} was erased on {erased_at[:10]}: an erased contact takes no"
            " new personal data (it can be read, not changed or added to)",
            contact_id=contact_id,
            erased_at=erased_at,
        )


@dataclass(frozen=True)
class ErrorInfo:
    code: str
    title: str
    doc: str = field(default="")


def all_error_types() -> list[ErrorInfo]:
    """Every error class, for the API's problem-type documentation."""
    out: list[ErrorInfo] = []
    stack: list[type[DomainError]] = [DomainError]
    while stack:
        cls = stack.pop()
        out.append(ErrorInfo(cls.code, cls.title, (cls.__doc__ or "").strip()))
        stack.extend(cls.__subclasses__())
    return sorted(out, key=lambda e: e.code)
