"""A workspace's own defaults: cadence, stale knowledge, health weights, schedule horizon."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tenure.db.models import Workspace
from tenure.domain.access import Permission
from tenure.domain.cadence import check_cadence
from tenure.domain.contacts import is_valid_timezone, normalize_tag
from tenure.domain.errors import FieldError, InvalidInput, NotFound
from tenure.domain.health import DEFAULT_WEIGHTS, check_weights
from tenure.services import audit
from tenure.services.context import Ctx

DEFAULT_CADENCE_DAYS = 30
DEFAULT_STALE_KNOWLEDGE_DAYS = 180
DEFAULT_HORIZON_DAYS = 90


@dataclass(frozen=True)
class WorkspaceSettings:
    default_cadence_days: int = DEFAULT_CADENCE_DAYS
    cadence_by_tag: dict[str, int] = field(default_factory=dict)
    stale_knowledge_days: int = DEFAULT_STALE_KNOWLEDGE_DAYS
    schedule_horizon_days: int = DEFAULT_HORIZON_DAYS
    health_weights: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def as_dict(self) -> dict[str, Any]:
        return {
            "default_cadence_days": self.default_cadence_days,
            "cadence_by_tag": dict(self.cadence_by_tag),
            "stale_knowledge_days": self.stale_knowledge_days,
            "schedule_horizon_days": self.schedule_horizon_days,
            "health_weights": dict(self.health_weights),
        }


def _workspace(ctx: Ctx) -> Workspace:
    workspace = ctx.session.get(Workspace, ctx.workspace_id)
    if workspace is None:  # the token's workspace was deleted mid-request
        raise NotFound("workspace not found")
    return workspace


def read(ctx: Ctx) -> WorkspaceSettings:
    """The settings, with defaults for what was never set (cached on the Ctx)."""
    cached = ctx.cache.get("settings")
    if isinstance(cached, WorkspaceSettings):
        return cached
    stored = _workspace(ctx).settings or {}
    settings = WorkspaceSettings(
        default_cadence_days=int(stored.get("default_cadence_days", DEFAULT_CADENCE_DAYS)),
        cadence_by_tag={str(k): int(v) for k, v in (stored.get("cadence_by_tag") or {}).items()},
        stale_knowledge_days=int(stored.get("stale_knowledge_days", DEFAULT_STALE_KNOWLEDGE_DAYS)),
        schedule_horizon_days=int(stored.get("schedule_horizon_days", DEFAULT_HORIZON_DAYS)),
        health_weights={**DEFAULT_WEIGHTS, **(stored.get("health_weights") or {})},
    )
    ctx.cache["settings"] = settings
    return settings


def update(ctx: Ctx, changes: Mapping[str, Any]) -> WorkspaceSettings:
    """Change some settings (owners and admins); every value is checked first."""
    ctx.require(Permission.ADMIN)
    current = read(ctx).as_dict()
    errors: list[FieldError] = []
    for name, value in changes.items():
        try:
            current[name] = _checked(name, value)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise InvalidInput(errors)
    workspace = _workspace(ctx)
    # Keep what other features store beside these (the mail server under "smtp" …).
    workspace.settings = {**(workspace.settings or {}), **current}
    ctx.cache.pop("settings", None)
    ctx.session.flush()
    audit.log(ctx, "settings.updated", fields=sorted(changes))
    return read(ctx)


@dataclass(frozen=True)
class WorkspaceProfile:
    name: str
    slug: str
    timezone: str


MAX_NAME = 200


def profile(ctx: Ctx) -> WorkspaceProfile:
    ctx.require(Permission.READ)
    workspace = _workspace(ctx)
    return WorkspaceProfile(workspace.name, workspace.slug, workspace.timezone)


def update_profile(ctx: Ctx, *, name: str, timezone: str) -> WorkspaceProfile:
    """Rename the workspace or change its time zone (owners and admins). The slug stays: it
    is in scripts and URLs."""
    ctx.require(Permission.ADMIN)
    errors: list[FieldError] = []
    name = name.strip()
    if not name:
        errors.append(FieldError("name", "required", "a workspace needs a name"))
    elif len(name) > MAX_NAME:
        errors.append(FieldError("name", "max-length", f"at most {MAX_NAME} characters"))
    timezone = timezone.strip()
    if not is_valid_timezone(timezone):
        errors.append(FieldError("timezone", "timezone", f"{timezone!r} is not an IANA time zone"))
    if errors:
        raise InvalidInput(errors)
    workspace = _workspace(ctx)
    before = {"name": workspace.name, "timezone": workspace.timezone}
    workspace.name, workspace.timezone = name, timezone
    ctx.session.flush()
    changed = {k: v for k, v in before.items() if getattr(workspace, k) != v}
    if changed:
        audit.log(
            ctx,
            "workspace.updated",
            before=changed,
            after={k: getattr(workspace, k) for k in changed},
        )
    return profile(ctx)


def _checked(name: str, value: Any) -> Any:
    if name == "default_cadence_days":
        return check_cadence(value, name)
    if name == "cadence_by_tag":
        if not isinstance(value, Mapping):
            raise InvalidInput.one(name, "object", "a map of tag to days")
        return {normalize_tag(str(k)): check_cadence(v, f"{name}.{k}") for k, v in value.items()}
    if name == "stale_knowledge_days":
        return check_cadence(value, name)
    if name == "schedule_horizon_days":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3660:
            raise InvalidInput.one(name, "range", "between 1 and 3660 days")
        return value
    if name == "health_weights":
        if not isinstance(value, Mapping):
            raise InvalidInput.one(name, "object", "a map of signal to weight")
        return check_weights(value)
    raise InvalidInput.one(name, "unknown", "not a workspace setting")
