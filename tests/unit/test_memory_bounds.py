"""What keeps the agent's memory from creeping over months (issue 12, item 3): bounded SQLite page
caches on every connection the agent keeps open. The figures are `benchmarks/memory_soak.py`'s."""

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
