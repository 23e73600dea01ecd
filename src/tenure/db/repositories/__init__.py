"""Named queries, always scoped to one workspace (see ``base.Repository``)."""
