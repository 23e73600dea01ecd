"""`tenure import vcard` / `tenure export vcard`: contacts as vCard 3.0 / 4.0."""

from __future__ import annotations
