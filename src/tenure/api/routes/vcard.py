"""vCard 3.0 / 4.0 import and export of contacts."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["vcard"])
