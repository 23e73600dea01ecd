"""The registry of job kinds: ``@handler("kind")`` on a function in ``tenure.worker.handlers``.

A handler runs inside the job's own transaction (its database effects commit with the job
being marked done, or not at all), takes the job's Ctx and payload, and returns a small JSON
result for the job log. Every module of the handlers package is loaded by ``load_handlers``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from tenure.services.context import Ctx

Handler = Callable[[Ctx, dict[str, Any]], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind] is not func:
            raise RuntimeError(f"two handlers for job kind {kind!r}")
        HANDLERS[kind] = func
        return func

    return register


def load_handlers() -> dict[str, Handler]:
    """Import every module of ``tenure.worker.handlers`` (each registers its kinds)."""
    from tenure.worker import handlers

    for module in pkgutil.iter_modules(handlers.__path__):
        importlib.import_module(f"{handlers.__name__}.{module.name}")
    return HANDLERS
