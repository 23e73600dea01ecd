"""`tenure backup` / `tenure restore`: the whole database."""

from __future__ import annotations
