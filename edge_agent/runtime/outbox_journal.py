"""The resend journal: sequenced messages the broker acknowledged, kept `journal_days` in the
`sent` table (default 35: a month's evidence plus a margin), so the centre can ask for a range
again (`requeue`, the `resend_events` command) after its own loss. A requeued message is the same
bytes (same `id` and `seq`) and is never retained: an old state must not replace the retained
current one.

Best effort: a journal write that fails (e.g. a full disk) never stands in the way of an ack; the
centre then gets `missing` for those seqs if it ever asks. Runs on the outbox's worker thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from edge_agent.runtime.outbox_hold import HeldMessage

JOURNAL_PRUNE_INTERVAL_S = 600.0
MAX_REQUEUE = 10_000

# One acknowledged message: kind, topic, payload. Only those whose payload has a `seq` are kept.
Acked = tuple[str, str, bytes]

_RECORD = (
    "INSERT OR IGNORE INTO sent (seq, kind, topic, payload, sent) "
    "SELECT json_extract(CAST(?1 AS TEXT), '$.seq'), ?2, ?3, ?1, ?4 "
    "WHERE json_extract(CAST(?1 AS TEXT), '$.seq') IS NOT NULL"
)


class Journal:
    def __init__(self, keep_s: float) -> None:
        self.keep_s = keep_s
        self._pruned = 0.0

    def record(self, db: sqlite3.Connection, acked: Sequence[Acked], sent: float | None = None) -> None:
        """Keep `acked` (in the caller's transaction, if any); prune old entries now and then."""
        now = time.time()
        try:
            if now - self._pruned >= JOURNAL_PRUNE_INTERVAL_S:
                self._pruned = now
                db.execute("DELETE FROM sent WHERE sent < ?", (now - self.keep_s,))
            if acked:
                at = now if sent is None else sent
                db.executemany(_RECORD, [(payload, kind, topic, at) for kind, topic, payload in acked])
        except sqlite3.Error:
            pass  # best effort (see the module docstring)

    def record_held(self, db: sqlite3.Connection, sent: Sequence[tuple[HeldMessage, float]]) -> None:
        """Journal messages that were sent from memory while the disk was full, now that it takes
        writes again; raises sqlite3.Error if it still does not (they are kept for the next try)."""
        db.executemany(_RECORD, [(message.payload, message.kind, message.topic, at) for message, at in sent])

    @staticmethod
    def requeue(
        db: sqlite3.Connection, first_seq: int, last_seq: int, position: int
    ) -> tuple[list[tuple[int, str, str, bytes]], set[int]]:
        """Copy the journaled `first_seq..last_seq` back into the outbox after `position` (in the
        caller's transaction): (the rows copied as (position, kind, topic, payload), every seq
        present: copied, or still waiting in the outbox)."""
        rows = db.execute(
            "SELECT seq, kind, topic, payload FROM sent WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (first_seq, last_seq),
        ).fetchall()
        now = time.time()
        copied = []
        for _seq, kind, topic, payload in rows:
            position += 1
            db.execute(
                "INSERT INTO outbox (position, kind, topic, payload, qos, retain, created) "
                "VALUES (?, ?, ?, ?, 1, 0, ?)",
                (position, kind, topic, payload, now),
            )
            copied.append((position, kind, topic, bytes(payload)))
        waiting = db.execute(
            "SELECT json_extract(CAST(payload AS TEXT), '$.seq') FROM outbox WHERE kind != 'telemetry'"
        ).fetchall()
        present = {row[0] for row in rows} | {row[0] for row in waiting if isinstance(row[0], int)}
        return copied, present


def missing_ranges(first: int, last: int, present: set[int]) -> list[tuple[int, int]]:
    """The runs of `first..last` not in `present`, as inclusive (from, to) pairs."""
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    for seq in range(first, last + 2):
        if seq <= last and seq not in present:
            start = seq if start is None else start
        elif start is not None:
            ranges.append((start, seq - 1))
            start = None
    return ranges
