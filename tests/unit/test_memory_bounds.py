"""What keeps the agent's memory from creeping over months (issue 12, item 3): bounded SQLite page
caches on every connection the agent keeps open, glibc's fixed mmap threshold, and garbage collected
every trim period. The figures are `benchmarks/memory_soak.py`'s."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

from edge_agent.health.ledger import CACHE_KIB as LEDGER_CACHE_KIB
from edge_agent.health.ledger import Ledger
from edge_agent.runtime.outbox import CACHE_KIB, Outbox


def _cache_kib(connection: sqlite3.Connection) -> int:
    size = connection.execute("PRAGMA cache_size").fetchone()[0]
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    return -size if size < 0 else size * page_size // 1024  # negative: KiB; positive: pages


async def test_the_outbox_page_cache_is_small(tmp_path: Path) -> None:
    async with Outbox(tmp_path / "o.sqlite3", max_bytes=2**20) as outbox:
        kib = await outbox._run(lambda: _cache_kib(outbox._store._conn))  # the worker's connection
    assert kib == CACHE_KIB < 2000  # SQLite's default is 2,000 KiB


def test_the_ledger_page_cache_is_small(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3", ZoneInfo("UTC"))
    try:
        assert _cache_kib(ledger._db) == LEDGER_CACHE_KIB < 2000
    finally:
        ledger.close()


def test_glibc_gets_its_arenas_and_mmap_threshold_fixed() -> None:
    import ctypes.util

    from edge_agent.memory_trim import limit_malloc_arenas

    on_glibc = bool(ctypes.util.find_library("c")) and hasattr(ctypes.CDLL(None), "mallopt")
    assert limit_malloc_arenas() is on_glibc  # both mallopt calls accepted where glibc is


class _Cyclic:
    def __init__(self) -> None:
        self.me = self


async def test_each_trim_period_collects_garbage_in_the_oldest_generation() -> None:
    import asyncio
    import gc
    import weakref

    from edge_agent.memory_trim import trim_periodically

    garbage = _Cyclic()
    gc.collect()  # promoted to the oldest generation, as a long-lived transport's cycle is
    alive = weakref.ref(garbage)
    del garbage
    gc.collect(1)  # what Python runs on its own for months: the younger generations only
    assert alive() is not None
    trimming = asyncio.create_task(trim_periodically(interval_s=0))
    try:
        for _ in range(500):  # a few periods at most: each is a hop to a worker thread and back
            if alive() is None:
                break
            await asyncio.sleep(0.01)
    finally:
        trimming.cancel()
    assert alive() is None


def test_start_up_objects_are_frozen_out_of_later_collections() -> None:
    import gc

    from edge_agent.memory_trim import freeze_startup

    try:
        freeze_startup()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
