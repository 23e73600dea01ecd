"""`tenure export workspace|contacts|timeline`, `tenure import archive`: archives and CSV."""

from __future__ import annotations
