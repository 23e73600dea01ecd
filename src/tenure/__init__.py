"""Tenure: client management for confirmed, ongoing client relationships."""

__version__ = "0.1.0"
