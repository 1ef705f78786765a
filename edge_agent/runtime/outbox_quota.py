"""The outbox's disk quota: what the data dir uses, and thinning telemetry when it is too much.

`storage.outbox_max_bytes` bounds the whole data dir, not only the rows: the WAL is truncated after
each checkpoint (`journal_size_limit`, see `limit_wal`), and what the other files (the ledger, the
audit log, this file's free pages and journal) take is measured and counted before telemetry is
thinned. Beyond the quota the oldest telemetry is thinned (every other row, repeatedly) until 90 %
of it is free again; sequenced messages are never dropped, even beyond the quota.
Runs on the outbox's worker thread.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from edge_agent.runtime.outbox_messages import ROW_OVERHEAD_BYTES

THIN_BATCH = 4000
MEASURE_INTERVAL_S = 5.0
WAL_SHARE = 16  # the WAL is checkpointed (and truncated) at 1/16 of the quota, 1 MiB at most
# Pages one row's insert may add beyond its bytes: B-tree splits up the table and its index (two
# pages per level at most, a new root) and the first overflow page; 32 covers trees 7 levels deep.
ROW_PAGES = 32


class DiskUse:
    """What the data dir uses on disk beyond the counted rows (`overhead`).

    The pages in use are read (two PRAGMAs) only when the answer could matter: while what was
    written since the last reading, counted at its most (`wrote`), cannot take the data dir beyond
    the quota, the last reading decides as a new one would (no thinning), so it is skipped (`sure`)."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.overhead = 0
        self._room = -1  # bytes the data dir can still grow by without reaching the quota, at most
        self._others = 0  # the data dir's files but this database file, measured now and then
        self._measured_at = 0.0
        self.page_size = 4096  # fixed once the file exists: read at open

    @property
    def due(self) -> bool:
        """Time to walk the data dir again."""
        return time.monotonic() - self._measured_at >= MEASURE_INTERVAL_S

    @property
    def sure(self) -> bool:
        """The last reading still shows the quota not reached, whatever was written since."""
        return self._room >= 0

    def wrote(self, rows: int, size: int) -> None:
        """A transaction added `rows` rows (to any table of this file) of `size` bytes in all."""
        self._room -= size + rows * ROW_PAGES * self.page_size

    def measure(self, db: sqlite3.Connection, counted_bytes: int, *, walk: bool = True) -> None:
        """The pages of this file in use (rows cost more than their bytes, and a file never
        shrinks, so it must not outgrow the quota first) and, with `walk`, the other files."""
        try:
            pages, free = (
                db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_count", "freelist_count")
            )
            if walk:
                self._measured_at = time.monotonic()
                self._others = _tree_bytes(self.path.parent) - self.path.stat().st_size
        except (sqlite3.Error, OSError):
            return
        self.overhead = self._others + max(0, (pages - free) * self.page_size - counted_bytes)
        self._room = self.max_bytes - counted_bytes - self.overhead


def thin(
    db: sqlite3.Connection, counted_bytes: int, target: int, delete: Callable[[Sequence[int]], None]
) -> int:
    """Delete (through `delete`) every other row of the oldest telemetry until the rows take
    `target` bytes at most, or only sequenced rows are left; returns how many went."""
    thinned = 0
    while counted_bytes > target:
        rows = db.execute(
            "SELECT position, LENGTH(payload) + LENGTH(topic) FROM outbox WHERE kind='telemetry' "
            "ORDER BY position LIMIT ?",
            (THIN_BATCH,),
        ).fetchall()
        if not rows:
            break  # only sequenced messages left: they are never dropped
        victims = rows[1::2] if len(rows) > 1 else rows
        chosen = []
        for position, size in victims:
            chosen.append(position)
            counted_bytes -= size + ROW_OVERHEAD_BYTES
            if counted_bytes <= target:
                break
        delete(chosen)
        thinned += len(chosen)
    with contextlib.suppress(sqlite3.Error):
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return thinned


def limit_wal(db: sqlite3.Connection, wal_bytes: int) -> None:
    """WAL mode with a small WAL, truncated after each checkpoint: left alone it grows to 4 MB and
    stays that size."""
    db.execute("PRAGMA journal_mode=WAL")
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    db.execute(f"PRAGMA wal_autocheckpoint={max(16, wal_bytes // page_size)}")
    db.execute(f"PRAGMA journal_size_limit={wal_bytes}")


def _tree_bytes(directory: Path) -> int:
    total = 0
    for root, _dirs, names in os.walk(directory):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total
