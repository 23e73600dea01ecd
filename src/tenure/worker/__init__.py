"""Background work: the durable job table and the workers that run it (issue 5)."""
