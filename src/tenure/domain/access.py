"""Roles and what each may do. Checked in services (``require``), whatever the edge."""

from __future__ import annotations

from enum import StrEnum

from tenure.domain.errors import PermissionDenied


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
