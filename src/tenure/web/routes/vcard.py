"""vCard downloads from the web app: one contact, or the current contact list."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
