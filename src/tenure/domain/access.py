"""Roles and what each may do. Checked in services (``require``), whatever the edge."""

from __future__ import annotations

from enum import StrEnum

from tenure.domain.errors import Conflict, PermissionDenied


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ = "read"
    WRITE = "write"  # contacts, lifecycle, agreements, interactions …
    ADMIN = "admin"  # members, tokens of others, settings, exports, erasure


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission),
    Role.MEMBER: frozenset({Permission.READ, Permission.WRITE}),
    Role.VIEWER: frozenset({Permission.READ}),
}


def can(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]


def require(role: Role, permission: Permission) -> None:
    if not can(role, permission):
        raise PermissionDenied(
            f"The {role.value} role cannot {permission.value}",
            role=role.value,
            permission=permission.value,
        )


def check_grant(actor: Role, role: Role) -> None:
    """Owners and admins give roles; only an owner gives the owner role."""
    require(actor, Permission.ADMIN)
    if role is Role.OWNER and actor is not Role.OWNER:
        raise PermissionDenied(
            "Only an owner can grant or take away the owner role",
            role=actor.value,
            permission="owner",
        )


def check_membership_change(actor: Role, current: Role, new: Role | None, *, owners: int) -> None:
    """Whether ``actor`` may change a member's role from ``current`` to ``new`` (None: remove).

    Owners and admins manage members; only an owner grants or takes away the owner role; the
    last owner stays (someone must be able to administer the workspace).
    """
    check_grant(actor, new or Role.VIEWER)
    check_grant(actor, current)
    if current is Role.OWNER and new is not Role.OWNER and owners <= 1:
        raise Conflict(
            "The workspace needs at least one owner: make someone else an owner first",
            field="role",
        )
