"""The server-rendered web app (issue 6)."""
