"""The REST API (``/api/v1``): parse, call services in one transaction, render."""
