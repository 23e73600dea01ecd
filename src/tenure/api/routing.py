"""The API's route class: a sync endpoint costs one thread-pool hop, not two.

FastAPI runs a sync endpoint in the thread pool, then validates its return value against the
response model in the thread pool again (a second hop: a context switch and a wait for the GIL
each, ~0.1 ms of a small read). Wrapped as a coroutine that awaits the endpoint in the thread
pool, the endpoint keeps its one hop and the response is validated and serialized on the event
loop, where it would have waited anyway. Signature, name, docstring and annotations are the
endpoint's own (``functools.wraps``), so parameters, dependencies and OpenAPI are unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool


def one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as a coroutine running it in the thread pool; coroutines and generators
    (streamed answers, which FastAPI iterates itself) are returned as they are."""
    if (
        not inspect.isfunction(endpoint)
        or inspect.iscoroutinefunction(endpoint)
        or inspect.isgeneratorfunction(endpoint)
        or inspect.isasyncgenfunction(endpoint)
    ):
        return endpoint

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run


class OneHopRoute(APIRoute):
    """Use as ``APIRouter(route_class=OneHopRoute)``."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, one_hop(endpoint), **kwargs)
