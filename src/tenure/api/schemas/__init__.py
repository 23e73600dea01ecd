"""Request and response schemas: ``Create``, ``Update`` and ``Read`` per resource."""
