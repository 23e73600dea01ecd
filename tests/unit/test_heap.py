"""The start-up heap is frozen out of the collector's full passes once a server is up."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenure.app import create_app
from tenure.config import Settings
from tenure.services.imports.engine import _old_objects_frozen
from tests.api.test_read_hops import run_in_own_loop


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process keeps collecting everything, as conftest wants


@pytest.mark.parametrize("freeze", [True, False])
def test_the_server_freezes_its_startup_heap_when_asked(
    thawed: None, tmp_path: Path, freeze: bool
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'heap.db'}",
        embedded_worker=False,
        freeze_heap_at_start=freeze,
    )
    app = create_app(settings)
    assert gc.get_freeze_count() == 0

    async def serve() -> None:
        async with app.router.lifespan_context(app):
            assert (gc.get_freeze_count() > 0) is freeze

    run_in_own_loop(serve())


def test_an_import_in_a_frozen_server_leaves_the_server_heap_frozen(thawed: None) -> None:
    gc.freeze()
    frozen = gc.get_freeze_count()
    with _old_objects_frozen():
        pass
    # Not thawed: the frozen generation is still there (a few of its objects may be freed
    # meanwhile by other threads of the test process; thawing would empty it).
    assert gc.get_freeze_count() > frozen // 2 > 0


def test_an_import_alone_freezes_then_hands_back(thawed: None) -> None:
    with _old_objects_frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
