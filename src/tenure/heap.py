"""The garbage collector in a long-running process (the server, a worker).

CPython's full collection walks every tracked object of the process: in a server that is the
whole start-up heap (modules, SQLAlchemy's mappers and compiled statements, pydantic's
validators, phone metadata), ~160 ms per pass, and a pass came every few hundred requests, so it
was the p90-p99 of every request (bench/README.md). ``gc.freeze()`` after start-up moves those
objects to a generation the collector never walks; a full pass then takes ~15 ms. What is
frozen stays alive only as long as it is referenced: freezing stops cycle hunting among start-up
objects, not freeing.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect what start-up left behind, then keep the rest out of later collections."""
    gc.collect()
    gc.freeze()
