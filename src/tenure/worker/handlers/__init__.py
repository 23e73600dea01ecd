"""Job handlers, one module per feature; each registers its kinds with ``@handler``."""
