"""Personal-data access and erasure of one contact."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["privacy"])
