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

Full disk: when SQLite cannot write (disk full or failing) the outbox holds new messages in a
bounded memory queue (`outbox_hold.MemoryHold`), with their positions and seqs, so the reporter
still publishes them live while connected; it tries to store them again at most every
`STORAGE_RETRY_S`, and on success writes them in order and carries on from disk. `storage_ok`
and the `on_storage` listeners tell the rest of the agent (the `host` device's `storage_full`
fault). Deletes that fail are retried then; messages held in memory are not journaled.

Disk use: the quota bounds the whole data dir, not only the rows: the WAL is truncated after each
checkpoint (`journal_size_limit`), and what the other files (the ledger, the audit log, this
file's free pages and journal) take is measured and counted before telemetry is thinned.

Sequence: `seq` is per cabinet, persisted in the same transaction as the message, so it keeps
increasing across restarts and a subscriber can detect gaps.

Journal: a sequenced message the broker acknowledged moves to the `sent` table, kept
`journal_days` (default 35: a month's evidence plus a margin), so that the centre can ask for a
range again (`requeue`, the `resend_events` command) after its own loss. A requeued message is the
same bytes (same `id` and `seq`) and is never retained: an old state must not replace the
retained current one.

Hot path: what was just stored is also kept in memory (the newest rows, up to `RECENT_ROWS`), so
while the link keeps up the reporter publishes from memory instead of reading back what was just
written. Deletes after PUBACK may be deferred (`ack_later`): they ride in the next `put`'s
transaction, so a steady poll costs one transaction; puts made while the worker is busy (devices
polled together) share the next one (group commit: each put still committed before it returns).
A deferred delete lost to a crash is a duplicate on replay, as any lost delete.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from edge_agent.errors import OutboxError
from edge_agent.runtime.outbox_hold import HeldMessage, MemoryHold

log = logging.getLogger(__name__)

Kind = Literal["event", "state", "report", "audit", "telemetry", "meta"]
SEQUENCED: frozenset[str] = frozenset({"event", "state", "report", "audit"})
ROW_OVERHEAD_BYTES = 64  # rough per-row cost of SQLite bookkeeping, so many tiny rows still count
THIN_BATCH = 4000
RECENT_ROWS = 256  # newest rows kept in memory: beyond a broker's receive window, small in RSS

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
STORAGE_RETRY_S = 1.0
MEASURE_INTERVAL_S = 5.0
HOLD_MAX_BYTES = 16 * 2**20  # a cabinet PC has hundreds of MB: hours of events at normal rates
WAL_SHARE = 16  # the WAL is checkpointed (and truncated) at 1/16 of the quota, 1 MiB at most
# SQLite's page cache, per connection. Its default (2 MB) fills slowly as the journal grows over
# weeks, which a soak sees as memory creeping; the hot rows are a few pages (the OS caches the rest).
CACHE_KIB = 256

T = TypeVar("T")

# What the worker's `_put` returns: the rows numbered, telemetry rows thinned, whether the
# in-memory tail may take the rows (not while some are only held in memory, nor after thinning).
_Stored = tuple[list[HeldMessage], int, bool]

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
    held: int = 0
    held_bytes: int = 0
    storage_ok: bool = True
    disk_bytes: int = 0


class Outbox:
    """Async facade over the SQLite queue. Use as `async with Outbox(path, max_bytes=...) as outbox`."""

    def __init__(
        self, path: Path, *, max_bytes: int, journal_days: float = 35, hold_max_bytes: int = HOLD_MAX_BYTES
    ) -> None:
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
        self._hold = MemoryHold(hold_max_bytes)
        self._storage_ok = True
        self._storage_error = ""
        self._reported_ok = True
        self._storage_listeners: list[Callable[[bool], None]] = []
        self._retry_at = 0.0
        self._pending_deletes: list[int] = []
        self._next_seq = 1
        self._last_position = 0
        self._overhead = 0  # disk the data dir uses beyond the counted rows (see the docstring)
        self._others = 0  # the data dir's files but this database file, measured now and then
        self._measured_at = 0.0
        self._dropped_logged = 0
        # Newest stored rows by position; complete above `_recent_floor` (older rows: read from disk).
        self._recent: dict[int, StoredMessage] = {}
        self._recent_floor = 0
        self._deferred_acks: list[int] = []
        self._queued: list[tuple[Sequence[NewMessage], asyncio.Future[int]]] = []  # puts not yet handed over
        self._writing = False  # a transaction of puts is with the worker
        self._sync_mode = ""  # the connection's `PRAGMA synchronous` (worker thread)
        self._page_size = 4096

    async def __aenter__(self) -> Outbox:
        await self._run(self._open)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._deferred_acks:
            await self.ack([])
        await self._run(self._close)
        self._executor.shutdown(wait=True)

    def on_put(self, listener: Callable[[], None]) -> None:
        """Call `listener` on the event loop after every put (the reporter wakes up on it)."""
        self._listeners.append(listener)

    def on_storage(self, listener: Callable[[bool], None]) -> None:
        """Call `listener(ok)` on the event loop when storing starts failing (False) or works again."""
        self._storage_listeners.append(listener)

    @property
    def storage_ok(self) -> bool:
        return self._storage_ok

    def stats(self) -> OutboxStats:
        return OutboxStats(
            self._depth + len(self._hold) - len(self._deferred_acks),
            self._bytes,
            self.max_bytes,
            self._thinned_total + self._hold.dropped_telemetry,
            self._rejected_total,
            held=len(self._hold),
            held_bytes=self._hold.bytes,
            storage_ok=self._storage_ok,
            disk_bytes=self._bytes + self._overhead,
        )

    async def put(self, messages: Sequence[NewMessage]) -> int:
        """Store messages atomically, in order (in memory while the disk refuses them). Returns how
        many telemetry rows were thinned to make room. Deferred deletes (`ack_later`) ride along.

        Group commit: puts made while the worker is busy wait, and go together in the next
        transaction (each still all or nothing, in call order); `put` returns once it is committed."""
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queued.append((messages, waiter))
        if not self._writing:
            self._write_queued()
        # Shielded: once queued, the rows must reach the in-memory tail (and the reporter be woken)
        # even if the caller is cancelled meanwhile, or they would wait for a restart.
        return await asyncio.shield(waiter)

    def _write_queued(self) -> None:
        """Hand every queued put to the worker as one transaction (on the event loop)."""
        batch, self._queued = self._queued, []
        self._writing = bool(batch)
        if not batch:
            return
        deferred, self._deferred_acks = self._deferred_acks, []
        messages = [message for queued, _ in batch for message in queued]
        waiters = [waiter for _, waiter in batch]
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor, self._put, messages, deferred)
        except RuntimeError as exc:  # the outbox is closed
            self._deferred_acks[:0] = deferred
            self._writing = False
            _settle(waiters, exc)
            return
        future.add_done_callback(functools.partial(self._stored, deferred, waiters))

    async def read_after(self, position: int, limit: int) -> list[StoredMessage]:
        """Messages after `position`, oldest first (stored ones, then those held in memory); from
        the in-memory tail when it has them all."""
        if position >= self._recent_floor:
            return [m for p, m in self._recent.items() if p > position][:limit]
        return await self._run(self._read_after, position, limit)

    async def ack(self, positions: Sequence[int]) -> None:
        """The broker has the messages: forget them (and any deferred ones) now."""
        self._forget(positions)
        pending, self._deferred_acks = [*self._deferred_acks, *positions], []
        if pending:
            await self._run(self._ack, pending)

    def ack_later(self, positions: Sequence[int]) -> None:
        """The broker has the messages: delete them with the next store (or `ack`, or at close)."""
        self._forget(positions)
        self._deferred_acks.extend(positions)

    @property
    def deferred_acks(self) -> int:
        return len(self._deferred_acks)

    async def requeue(self, first_seq: int, last_seq: int) -> tuple[int, list[tuple[int, int]]]:
        """Queue the journaled messages `first_seq..last_seq` again; (how many, missing ranges).

        Seqs still waiting in the outbox count as present (they go out anyway); a seq neither
        there nor in the journal is gone (older than the journal, or thinned: never for sequenced).
        """
        if last_seq < first_seq or last_seq - first_seq >= MAX_REQUEUE:
            raise OutboxError(f"requeue range {first_seq}..{last_seq}: at most {MAX_REQUEUE} seqs")
        if self._deferred_acks:
            await self.ack([])  # acknowledged but not yet deleted: into the journal first, not "waiting"
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._requeue, first_seq, last_seq)
        future.add_done_callback(self._requeued)
        found, present, _last = await asyncio.shield(future)  # shielded, as in `put`
        return found, _missing_ranges(first_seq, last_seq, present)

    async def reject(self, position: int, reason: str) -> None:
        """The broker refused the message for good (e.g. not authorised): keep it aside, never drop it."""
        self._forget([position])
        await self._run(self._reject, position, reason)

    # --- the in-memory tail (event loop side) ---------------------------------------------------

    def _stored(
        self, deferred: list[int], waiters: list[asyncio.Future[int]], future: asyncio.Future[_Stored]
    ) -> None:
        if future.cancelled() or future.exception() is not None:
            self._deferred_acks[:0] = deferred  # not deleted: try again with the next store
            _settle(waiters, future.exception() if not future.cancelled() else None)
        else:
            thinned = self._took(*future.result())
            for waiter in waiters:  # the thinned count once, to the first put
                if not waiter.done():
                    waiter.set_result(thinned)
                thinned = 0
        self._write_queued()

    def _took(self, rows: list[HeldMessage], thinned: int, tail_ok: bool) -> int:
        """The worker stored (or held) a transaction: the tail, the listeners; how many were thinned."""
        if thinned or not tail_ok:  # rows went from under the tail, or some are held: read via the worker
            self._reset_tail(rows[-1].position if rows else self._recent_floor)
        else:
            for row in rows:
                self._recent[row.position] = StoredMessage(
                    row.position, row.kind, row.topic, row.payload, row.qos, row.retain
                )
            while len(self._recent) > RECENT_ROWS:
                oldest = next(iter(self._recent))
                del self._recent[oldest]
                self._recent_floor = max(self._recent_floor, oldest)
        self._report_storage()
        for listener in self._listeners:
            listener()
        return thinned

    def _requeued(self, future: asyncio.Future[tuple[int, set[int], int]]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        self._reset_tail(future.result()[2])  # rows stored behind the tail's back
        for listener in self._listeners:
            listener()

    def _reset_tail(self, floor: int) -> None:
        self._recent.clear()
        self._recent_floor = max(self._recent_floor, floor)

    def _forget(self, positions: Sequence[int]) -> None:
        for position in positions:
            self._recent.pop(position, None)

    # --- worker thread side -------------------------------------------------------------------

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            limit_wal(db, min(2**20, self.max_bytes // WAL_SHARE))
            db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            db.execute("PRAGMA synchronous=FULL")
            self._sync_mode = "FULL"
            self._page_size = db.execute("PRAGMA page_size").fetchone()[0]  # fixed once the file exists
            db.executescript(_SCHEMA)
            self._depth, self._bytes = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0) FROM outbox"
            ).fetchone()
            self._bytes += self._depth * ROW_OVERHEAD_BYTES
            self._rejected_total = db.execute("SELECT COUNT(*) FROM rejected").fetchone()[0]
            self._next_seq = db.execute("SELECT value FROM meta WHERE key='next_seq'").fetchone()[0]
            self._last_position = db.execute(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name='outbox'), 0), "
                "COALESCE((SELECT MAX(position) FROM outbox), 0), "
                "COALESCE((SELECT MAX(position) FROM rejected), 0))"
            ).fetchone()[0]
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {self.path}: {exc}") from exc
        self._recent_floor = self._last_position
        self._db = db
        self._measure()

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise OutboxError("outbox is not open")
        return self._db

    def _put(self, messages: Sequence[NewMessage], deferred: Sequence[int]) -> _Stored:
        """Store `messages` (with the deferred deletes); (rows, thinned, whether the tail may hold them)."""
        held = self._numbered(messages)
        deletes = self._hold.remove(deferred) if deferred else []
        if len(self._hold) and not self._store_held():
            self._keep_in_memory(held)
            self._pending_deletes.extend(deletes)
            return held, 0, False
        try:
            self._insert(held, deletes)
        except sqlite3.OperationalError as exc:  # disk full, I/O error: hold, never crash
            self._storage_failed(exc)
            self._keep_in_memory(held)
            self._pending_deletes.extend(deletes)
            return held, 0, False
        if not self._storage_ok:
            self._recovered()
        self._measure(walk=time.monotonic() - self._measured_at >= MEASURE_INTERVAL_S)
        if self._bytes + self._overhead <= self.max_bytes:
            return held, 0, True
        try:
            return held, self._thin(), True
        except sqlite3.OperationalError as exc:  # stored, but no room to thin: retried on the next put
            self._storage_failed(exc)
            return held, 0, False

    def _numbered(self, messages: Sequence[NewMessage]) -> list[HeldMessage]:
        """Positions, seqs and payloads for `messages`: taken from the counters, which only move
        once the messages are stored or held."""
        position, seq, now = self._last_position, self._next_seq, time.time()
        numbered = []
        for message in messages:
            position += 1
            message_seq = None
            if message.kind in SEQUENCED:
                message_seq, seq = seq, seq + 1
            payload = message.build(uuid.uuid4().hex, message_seq)
            numbered.append(
                HeldMessage(position, message.kind, message.topic, payload, message.qos, message.retain, now)
            )
        self._last_position, self._next_seq = position, seq
        return numbered

    def _insert(self, rows: Sequence[HeldMessage], deletes: Sequence[int] = ()) -> None:
        """Write `rows` and the seq counter (and delete `deletes`, acknowledged) in one transaction;
        sqlite3.Error leaves nothing behind."""
        db = self._conn
        durable = any(row.kind in SEQUENCED for row in rows)
        self._synchronous("FULL" if durable else "NORMAL")
        removed = freed = 0
        try:
            db.execute("BEGIN IMMEDIATE")
            removed, freed = self._delete_rows(deletes, journal=True)
            db.executemany(
                "INSERT INTO outbox (position, kind, topic, payload, qos, retain, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(r.position, r.kind, r.topic, r.payload, r.qos, int(r.retain), r.created) for r in rows],
            )
            db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (self._next_seq,))
            db.execute("COMMIT")
        except sqlite3.Error:
            _rollback(db)
            raise
        self._depth += len(rows) - removed
        self._bytes += sum(row.size + ROW_OVERHEAD_BYTES for row in rows) - freed

    def _synchronous(self, mode: str) -> None:
        """Set the connection's durability for the next transaction (a statement only on a change)."""
        if mode != self._sync_mode:
            self._conn.execute(f"PRAGMA synchronous={mode}")
            self._sync_mode = mode

    def _keep_in_memory(self, rows: Sequence[HeldMessage]) -> None:
        for row in rows:
            self._hold.add(row)
        if self._hold.dropped_sequenced > self._dropped_logged:
            log.error(
                "outbox memory hold full: %d sequenced message(s) dropped in all",
                self._hold.dropped_sequenced,
            )
            self._dropped_logged = self._hold.dropped_sequenced

    def _store_held(self) -> bool:
        """Try (at most every STORAGE_RETRY_S) to write what memory holds; True once it is on disk."""
        if time.monotonic() < self._retry_at:
            return False
        try:
            self._insert(self._hold.rows())
        except sqlite3.OperationalError as exc:
            self._storage_failed(exc)
            return False
        self._hold.clear()
        self._recovered()
        return True

    def _recovered(self) -> None:
        self._storage_ok = True
        if self._pending_deletes:
            try:
                self._delete(self._pending_deletes)
                self._pending_deletes = []
            except sqlite3.OperationalError:
                pass  # tried again on the next recovery; until then they are only duplicates
        self._measure()

    def _storage_failed(self, exc: sqlite3.Error) -> None:
        self._storage_ok = False
        self._storage_error = str(exc)
        self._retry_at = time.monotonic() + STORAGE_RETRY_S

    def _report_storage(self) -> None:
        """Log and tell listeners once per change (on the event loop)."""
        if self._storage_ok == self._reported_ok:
            return
        self._reported_ok = self._storage_ok
        if self._storage_ok:
            log.warning("outbox: storage available again; messages held in memory are stored")
        else:
            log.error(
                "outbox: storage full or failing (%s): holding new messages in memory (up to %d bytes)",
                self._storage_error,
                self._hold.max_bytes,
            )
        for listener in self._storage_listeners:
            listener(self._storage_ok)

    def _measure(self, *, walk: bool = True) -> None:
        """What the data dir uses on disk beyond the counted rows (see the module docstring): the
        pages of this file in use (every put: rows cost more than their bytes, and a file never
        shrinks, so it must not outgrow the quota first) and the other files (now and then)."""
        try:
            db = self._conn
            pages, free = (
                db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_count", "freelist_count")
            )
            if walk:
                self._measured_at = time.monotonic()
                self._others = _tree_bytes(self.path.parent) - self.path.stat().st_size
        except (sqlite3.Error, OSError):
            return
        self._overhead = self._others + max(0, (pages - free) * self._page_size - self._bytes)

    def _thin(self) -> int:
        """Delete every other row of the oldest telemetry until 90 % of the quota is free."""
        db = self._conn
        target = int(self.max_bytes * 0.9) - self._overhead
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
        with contextlib.suppress(sqlite3.Error):
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._measure()
        return thinned

    def _read_after(self, position: int, limit: int) -> list[StoredMessage]:
        rows = self._conn.execute(
            "SELECT position, kind, topic, payload, qos, retain FROM outbox WHERE position > ? "
            "ORDER BY position LIMIT ?",
            (position, limit),
        ).fetchall()
        found = [StoredMessage(p, k, t, bytes(pl), q, bool(r)) for p, k, t, pl, q, r in rows]
        if len(found) < limit and len(self._hold):
            after = found[-1].position if found else position
            held = self._hold.after(after, limit - len(found))
            found += [StoredMessage(h.position, h.kind, h.topic, h.payload, h.qos, h.retain) for h in held]
        return found

    def _ack(self, positions: Sequence[int]) -> None:
        on_disk = self._hold.remove(positions)
        if not on_disk:
            return
        try:
            self._delete(on_disk)
        except sqlite3.OperationalError as exc:
            # Still stored: sent again after a reconnect (a duplicate by id), deleted once writable.
            self._pending_deletes.extend(on_disk)
            self._storage_failed(exc)

    def _requeue(self, first_seq: int, last_seq: int) -> tuple[int, set[int], int]:
        db = self._conn
        db.execute("BEGIN IMMEDIATE")
        rows = db.execute(
            "SELECT seq, kind, topic, payload FROM sent WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (first_seq, last_seq),
        ).fetchall()
        now = time.time()
        if len(self._hold):
            _rollback(db)
            raise OutboxError("storage is full: messages held in memory come first")
        for _seq, kind, topic, payload in rows:
            self._last_position += 1
            db.execute(
                "INSERT INTO outbox (position, kind, topic, payload, qos, retain, created) "
                "VALUES (?, ?, ?, ?, 1, 0, ?)",
                (self._last_position, kind, topic, payload, now),
            )
            self._depth += 1
            self._bytes += len(payload) + len(topic) + ROW_OVERHEAD_BYTES
        waiting = db.execute(
            "SELECT json_extract(CAST(payload AS TEXT), '$.seq') FROM outbox WHERE kind != 'telemetry'"
        ).fetchall()
        db.execute("COMMIT")
        present = {row[0] for row in rows} | {row[0] for row in waiting if isinstance(row[0], int)}
        return len(rows), present, self._last_position

    def _journal(self, chunk: list[int], marks: str) -> None:
        """Keep acknowledged sequenced messages in `sent` (see the module docstring)."""
        db = self._conn
        now = time.time()
        try:
            if now - self._journal_pruned >= JOURNAL_PRUNE_INTERVAL_S:
                self._journal_pruned = now
                db.execute("DELETE FROM sent WHERE sent < ?", (now - self.journal_s,))
            db.execute(
                "INSERT OR IGNORE INTO sent (seq, kind, topic, payload, sent) "  # noqa: S608 - marks are only '?'
                f"SELECT json_extract(CAST(payload AS TEXT), '$.seq'), kind, topic, payload, ? FROM outbox "
                f"WHERE position IN ({marks}) AND kind != 'telemetry' "
                "AND json_extract(CAST(payload AS TEXT), '$.seq') IS NOT NULL",
                [now, *chunk],
            )
        except sqlite3.Error:
            # Best effort (e.g. a full disk): the journal must never stand in the way of an ack.
            # The centre then gets `missing` for these seqs if it ever asks.
            pass

    def _delete(self, positions: Sequence[int], *, journal: bool = True) -> None:
        self._synchronous("NORMAL")
        removed, freed = self._delete_rows(positions, journal=journal)
        self._depth -= removed
        self._bytes -= freed

    def _delete_rows(self, positions: Sequence[int], *, journal: bool) -> tuple[int, int]:
        """Delete rows (in the caller's transaction, if any): (rows removed, bytes freed)."""
        db = self._conn
        freed = 0
        removed = 0
        for start in range(0, len(positions), 500):
            chunk = list(positions[start : start + 500])
            marks = ",".join("?" * len(chunk))
            row = db.execute(
                f"SELECT COUNT(*), COALESCE(SUM(LENGTH(payload) + LENGTH(topic)), 0) FROM outbox "  # noqa: S608 - only `?` placeholders and constants are interpolated
                f"WHERE position IN ({marks})",
                chunk,
            ).fetchone()
            if journal:
                self._journal(chunk, marks)
            db.execute(f"DELETE FROM outbox WHERE position IN ({marks})", chunk)  # noqa: S608 - only `?` placeholders and constants are interpolated
            removed += row[0]
            freed += row[1] + row[0] * ROW_OVERHEAD_BYTES
        return removed, freed

    def _reject(self, position: int, reason: str) -> None:
        if not self._hold.remove([position]):
            log.error("outbox: refused message at %d was held in memory; not kept aside", position)
            return
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


def _settle(waiters: list[asyncio.Future[int]], error: BaseException | None) -> None:
    """Fail every put of a transaction that did not happen (None: cancel them)."""
    for waiter in waiters:
        if waiter.done():
            continue
        if error is None:
            waiter.cancel()
        else:
            waiter.set_exception(error)


def limit_wal(db: sqlite3.Connection, wal_bytes: int) -> None:
    """WAL mode with a small WAL, truncated after each checkpoint: left alone it grows to 4 MB and
    stays that size."""
    db.execute("PRAGMA journal_mode=WAL")
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    db.execute(f"PRAGMA wal_autocheckpoint={max(16, wal_bytes // page_size)}")
    db.execute(f"PRAGMA journal_size_limit={wal_bytes}")


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open: SQLite may have ended it itself (a failed COMMIT
    on a full disk), and ROLLBACK then raises "no transaction is active"."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")


def _tree_bytes(directory: Path) -> int:
    total = 0
    for root, _dirs, names in os.walk(directory):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


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
