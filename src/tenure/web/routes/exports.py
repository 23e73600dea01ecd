"""/exports/…: CSV downloads of lists and timelines, vCards, the workspace archive."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
