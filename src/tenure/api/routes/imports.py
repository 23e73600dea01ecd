"""Imports: upload a CSV, dry run, run, status and report."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["imports"])
