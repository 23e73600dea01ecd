"""Personal-data access and erasure of a contact, and the audit log, from the CLI."""

from __future__ import annotations
