"""Importing contacts and interactions from CSV: presets, mappings, rows, delimiters (pure)."""
