"""`tenure import contacts FILE.csv`: the CSV import engine from the command line."""

from __future__ import annotations
