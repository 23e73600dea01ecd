"""Exports: CSV of lists and timelines, the full workspace archive."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["exports"])
