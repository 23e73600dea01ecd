"""/settings/data: export the workspace, import files, backups."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
