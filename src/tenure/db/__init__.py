"""Storage: models, repositories (workspace-scoped named queries), engine, unit of work."""
