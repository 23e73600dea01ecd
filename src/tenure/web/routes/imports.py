"""/imports: upload a CSV, map its columns with a preview, dry run, run, report."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
