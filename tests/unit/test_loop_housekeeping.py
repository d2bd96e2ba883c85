"""The daemon's loop freezes what survived a full collection (lsp/serve.py), from the loop and not
from a gc callback: Python code run inside a collection let another thread into CPython 3.11's AST
conversion, which then failed with "AST constructor recursion depth mismatch"."""

from __future__ import annotations

import asyncio
import gc

from expenv.lsp import serve


def test_what_survived_a_full_collection_is_frozen_by_the_loop(monkeypatch):
    monkeypatch.setattr(serve, "FREEZE_CHECK_SECONDS", 0.05)
    gc.unfreeze()
    gc.disable()   # only the collection below: none of the automatic ones
    survivor = [[] for _ in range(1000)]   # objects the collector tracks (a bare object() is not)

    async def main() -> int:
        task = asyncio.get_running_loop().create_task(serve._freeze_after_full_collections())
        await asyncio.sleep(0.1)
        before = gc.get_freeze_count()   # no full collection yet: nothing frozen
        gc.collect()
        await asyncio.sleep(0.2)
        task.cancel()
        return before

    try:
        before = asyncio.run(main())
        assert before == 0 and gc.get_freeze_count() >= len(survivor)
    finally:
        gc.unfreeze()
        gc.enable()
