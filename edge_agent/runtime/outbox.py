"""The durable outbox: every message bound for the broker waits here until the broker's PUBACK.

SQLite in WAL mode, one connection on one worker thread (so no disk IO on the event loop).

Durability: a sequenced message (event, state, report, audit) is committed with
`synchronous=FULL` before `put` returns, so it survives `kill -9` and power loss once `put`
has returned. Telemetry is committed with `synchronous=NORMAL`: it survives the agent being
killed, and a power cut may lose its last transactions. Deleting after PUBACK is NORMAL too: a
lost delete means a duplicate on replay, which subscribers detect by `id`.

Quota: when the stored bytes exceed `max_bytes`, telemetry is thinned oldest-first (every other
row of the oldest telemetry, repeatedly) until 90 % of the quota is free again. Sequenced
messages are never dropped, even beyond the quota.

Sequence: `seq` is per cabinet, persisted in the same transaction as the message, so it keeps
increasing across restarts and a subscriber can detect gaps.

Journal: a sequenced message the broker acknowledged moves to the `sent` table, kept
`journal_days` (default 35: a month's evidence plus a margin), so that the centre can ask for a
range again (`requeue`, the `resend_events` command) after its own loss. A requeued message is the
same bytes (same `id` and `seq`) and is never retained: an old state must not replace the
retained current one.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from edge_agent.errors import OutboxError

Kind = Literal["event", "state", "report", "audit", "telemetry"]
SEQUENCED: frozenset[str] = frozenset({"event", "state", "report", "audit"})
ROW_OVERHEAD_BYTES = 64  # rough per-row cost of SQLite bookkeeping, so many tiny rows still count
THIN_BATCH = 4000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT    NOT NULL,
    topic    TEXT    NOT NULL,
    payload  BLOB    NOT NULL,
    qos      INTEGER NOT NULL,
    retain   INTEGER NOT NULL,
    created  REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind, position);
CREATE TABLE IF NOT EXISTS rejected (
    position INTEGER PRIMARY KEY,
    kind     TEXT    NOT NULL,
    topic    TEXT    NOT NULL,
    payload  BLOB    NOT NULL,
    reason   TEXT    NOT NULL,
    rejected REAL    NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('next_seq', 1);
CREATE TABLE IF NOT EXISTS sent (
    seq     INTEGER PRIMARY KEY,
    kind    TEXT    NOT NULL,
    topic   TEXT    NOT NULL,
    payload BLOB    NOT NULL,
    sent    REAL    NOT NULL
);
"""
JOURNAL_PRUNE_INTERVAL_S = 600.0
MAX_REQUEUE = 10_000

T = TypeVar("T")

# Builds the payload once the outbox has assigned the message id and (for sequenced kinds) seq.
PayloadBuilder = Callable[[str, int | None], bytes]


@dataclass(frozen=True, slots=True)
class NewMessage:
    kind: Kind
    topic: str
    build: PayloadBuilder
    qos: int = 1
    retain: bool = False


@dataclass(frozen=True, slots=True)
class StoredMessage:
    position: int
    kind: str
    topic: str
    payload: bytes
    qos: int
    retain: bool


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    stored_bytes: int
    max_bytes: int
    thinned_total: int
    rejected_total: int


class Outbox:
    """Async facade over the SQLite queue. Use as `async with Outbox(path, max_bytes=...) as outbox`."""

    def __init__(self, path: Path, *, max_bytes: int, journal_days: float = 35) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.journal_s = journal_days * 86400
        self._journal_pruned = 0.0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._db: sqlite3.Connection | None = None
        self._depth = 0
        self._bytes = 0
        self._thinned_total = 0
        self._rejected_total = 0
        self._listeners: list[Callable[[], None]] = []

    async def __aenter__(self) -> Outbox:
        await self._run(self._open)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._run(self._close)
        self._executor.shutdown(wait=True)

    def on_put(self, listener: Callable[[], None]) -> None:
        """Call `listener` on the event loop after every put (the reporter wakes up on it)."""
        self._listeners.append(listener)

    def stats(self) -> OutboxStats:
        return OutboxStats(
            self._depth, self._bytes, self.max_bytes, self._thinned_total, self._rejected_total
        )

    async def put(self, messages: Sequence[NewMessage]) -> int:
        """Store messages atomically, in order. Returns how many telemetry rows were thinned to make room."""
        thinned = await self._run(self._put, messages)
        for listener in self._listeners:
            listener()
        return thinned

    async def read_after(self, position: int, limit: int) -> list[StoredMessage]:
        """Messages after `position`, oldest first."""
        return await self._run(self._read_after, position, limit)

    async def ack(self, positions: Sequence[int]) -> None:
        """The broker has the messages: forget them."""
        if positions:
            await self._run(self._delete, positions)

    async def requeue(self, first_seq: int, last_seq: int) -> tuple[int, list[tuple[int, int]]]:
        """Queue the journaled messages `first_seq..last_seq` again; (how many, missing ranges).

        Seqs still waiting in the outbox count as present (they go out anyway); a seq neither
        there nor in the journal is gone (older than the journal, or thinned: never for sequenced).
        """
        if last_seq < first_seq or last_seq - first_seq >= MAX_REQUEUE:
            raise OutboxError(f"requeue range {first_seq}..{last_seq}: at most {MAX_REQUEUE} seqs")
        found, present = await self._run(self._requeue, first_seq, last_seq)
        for listener in self._listeners:
            listener()
        return found, _missing_ranges(first_seq, last_seq, present)

    async def reject(self, position: int, reason: str) -> None:
        """The broker refused the message for good (e.g. not authorised): keep it aside, never drop it."""
        await self._run(self._reject, position, reason)

    # --- worker thread side -------------------------------------------------------------------

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            self._depth, self._bytes = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0) FROM outbox"
            ).fetchone()
            self._bytes += self._depth * ROW_OVERHEAD_BYTES
            self._rejected_total = db.execute("SELECT COUNT(*) FROM rejected").fetchone()[0]
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {self.path}: {exc}") from exc
        self._db = db

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise OutboxError("outbox is not open")
        return self._db

    def _put(self, messages: Sequence[NewMessage]) -> int:
        db = self._conn
        durable = any(message.kind in SEQUENCED for message in messages)
        db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        added = 0
        try:
            db.execute("BEGIN IMMEDIATE")
            next_seq = db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0]
            now = time.time()
            for message in messages:
                seq = None
                if message.kind in SEQUENCED:
                    seq, next_seq = next_seq, next_seq + 1
                payload = message.build(uuid.uuid4().hex, seq)
                db.execute(
                    "INSERT INTO outbox (kind, topic, payload, qos, retain, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (message.kind, message.topic, payload, message.qos, int(message.retain), now),
                )
                added += len(payload) + len(message.topic) + ROW_OVERHEAD_BYTES
            db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (next_seq,))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            raise OutboxError(f"cannot store {len(messages)} message(s): {exc}") from exc
        self._depth += len(messages)
        self._bytes += added
        return self._thin() if self._bytes > self.max_bytes else 0

    def _thin(self) -> int:
        """Delete every other row of the oldest telemetry until 90 % of the quota is free."""
        db = self._conn
        target = int(self.max_bytes * 0.9)
        thinned = 0
        while self._bytes > target:
            rows = db.execute(
                "SELECT position, LENGTH(payload) + LENGTH(topic) FROM outbox WHERE kind='telemetry' "
                "ORDER BY position LIMIT ?",
                (THIN_BATCH,),
            ).fetchall()
            if not rows:
                break  # only sequenced messages left: they are never dropped
            victims = rows[1::2] if len(rows) > 1 else rows
            freed = 0
            chosen = []
            for position, size in victims:
                chosen.append(position)
                freed += size + ROW_OVERHEAD_BYTES
                if self._bytes - freed <= target:
                    break
            self._delete(chosen, journal=False)
            thinned += len(chosen)
        self._thinned_total += thinned
        return thinned

    def _read_after(self, position: int, limit: int) -> list[StoredMessage]:
        rows = self._conn.execute(
            "SELECT position, kind, topic, payload, qos, retain FROM outbox WHERE position > ? "
            "ORDER BY position LIMIT ?",
            (position, limit),
        ).fetchall()
        return [StoredMessage(p, k, t, bytes(pl), q, bool(r)) for p, k, t, pl, q, r in rows]

    def _requeue(self, first_seq: int, last_seq: int) -> tuple[int, set[int]]:
        db = self._conn
        db.execute("BEGIN IMMEDIATE")
        rows = db.execute(
            "SELECT seq, kind, topic, payload FROM sent WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (first_seq, last_seq),
        ).fetchall()
        now = time.time()
        for _seq, kind, topic, payload in rows:
            db.execute(
                "INSERT INTO outbox (kind, topic, payload, qos, retain, created) VALUES (?, ?, ?, 1, 0, ?)",
                (kind, topic, payload, now),
            )
            self._depth += 1
            self._bytes += len(payload) + len(topic) + ROW_OVERHEAD_BYTES
        waiting = db.execute(
            "SELECT json_extract(CAST(payload AS TEXT), '$.seq') FROM outbox WHERE kind != 'telemetry'"
        ).fetchall()
        db.execute("COMMIT")
        present = {row[0] for row in rows} | {row[0] for row in waiting if isinstance(row[0], int)}
        return len(rows), present

    def _journal(self, chunk: list[int], marks: str) -> None:
        """Keep acknowledged sequenced messages in `sent` (see the module docstring)."""
        db = self._conn
        now = time.time()
        db.execute(
            "INSERT OR IGNORE INTO sent (seq, kind, topic, payload, sent) "  # noqa: S608 - marks are only '?'
            f"SELECT json_extract(CAST(payload AS TEXT), '$.seq'), kind, topic, payload, ? FROM outbox "
            f"WHERE position IN ({marks}) AND kind != 'telemetry' "
            "AND json_extract(CAST(payload AS TEXT), '$.seq') IS NOT NULL",
            [now, *chunk],
        )
        if now - self._journal_pruned >= JOURNAL_PRUNE_INTERVAL_S:
            self._journal_pruned = now
            db.execute("DELETE FROM sent WHERE sent < ?", (now - self.journal_s,))

    def _delete(self, positions: Sequence[int], *, journal: bool = True) -> None:
        db = self._conn
        db.execute("PRAGMA synchronous=NORMAL")
        freed = 0
        removed = 0
        for start in range(0, len(positions), 500):
            chunk = list(positions[start : start + 500])
            marks = ",".join("?" * len(chunk))
            row = db.execute(
                f"SELECT COUNT(*), COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0) FROM outbox "  # noqa: S608
                f"WHERE position IN ({marks})",
                chunk,
            ).fetchone()
            if journal:
                self._journal(chunk, marks)
            db.execute(f"DELETE FROM outbox WHERE position IN ({marks})", chunk)  # noqa: S608
            removed += row[0]
            freed += row[1] + row[0] * ROW_OVERHEAD_BYTES
        self._depth -= removed
        self._bytes -= freed

    def _reject(self, position: int, reason: str) -> None:
        db = self._conn
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT OR REPLACE INTO rejected (position, kind, topic, payload, reason, rejected) "
            "SELECT position, kind, topic, payload, ?, ? FROM outbox WHERE position = ?",
            (reason, time.time(), position),
        )
        db.execute("COMMIT")
        self._delete([position], journal=False)
        self._rejected_total += 1


def _missing_ranges(first: int, last: int, present: set[int]) -> list[tuple[int, int]]:
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
