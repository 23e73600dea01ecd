"""/settings/audit: the audit log (owners and admins)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
