"""The outbox's SQLite side: one connection, used only on the outbox's worker thread.

Durability: a transaction holding a sequenced message (event, state, report, audit) is committed
with `synchronous=FULL`, so it survives `kill -9` and power loss once committed. Telemetry is
committed with `synchronous=NORMAL`: it survives the agent being killed, and a power cut may lose
its last transactions. Deleting after PUBACK is NORMAL too: a lost delete means a duplicate on
replay, which subscribers detect by `id`.

Sequence: `seq` is per cabinet, persisted in the same transaction as the message, so it keeps
increasing across restarts and a subscriber can detect gaps.

Full disk: when SQLite cannot write, new messages are held in memory (`outbox_hold.MemoryHold`)
with their positions and seqs; storing them is tried again at most every `STORAGE_RETRY_S`, and
on success they are written in order, and the copies of those sent from memory meanwhile go to the
resend journal. Deletes that fail are retried then.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from edge_agent.errors import OutboxError
from edge_agent.runtime.outbox_hold import HeldMessage, MemoryHold
from edge_agent.runtime.outbox_journal import Acked, Journal
from edge_agent.runtime.outbox_messages import ROW_OVERHEAD_BYTES, SEQUENCED, NewMessage, StoredMessage
from edge_agent.runtime.outbox_quota import WAL_SHARE, DiskUse, thin
from edge_agent.runtime.outbox_sql import Counts, connect, count, delete_returning, insert, rollback

log = logging.getLogger(__name__)

STORAGE_RETRY_S = 1.0

# What `put` returns: the rows numbered, telemetry rows thinned, whether the in-memory tail may
# take the rows (not while some are only held in memory, nor after thinning).
Stored = tuple[list[HeldMessage], int, bool]


@dataclass(slots=True)
class StorageState:
    ok: bool = True
    error: str = ""
    retry_at: float = 0.0  # monotonic: when storing what memory holds is tried again
    pending_deletes: list[int] = field(default_factory=list)  # acknowledged, not deleted yet


class OutboxStore:
    def __init__(self, path: Path, *, max_bytes: int, journal_s: float, hold_max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.counts = Counts()
        self.hold = MemoryHold(hold_max_bytes)
        self.storage = StorageState()
        self.disk = DiskUse(path, max_bytes)
        self.journal = Journal(journal_s)
        self._db: sqlite3.Connection | None = None
        self._sync_mode = ""  # the connection's `PRAGMA synchronous`

    # --- open, close ----------------------------------------------------------------------------

    def open(self) -> None:
        try:
            db = connect(self.path, min(2**20, self.max_bytes // WAL_SHARE))
            self.disk.page_size = db.execute("PRAGMA page_size").fetchone()[0]  # fixed once the file exists
            self.counts = count(db)
        except sqlite3.Error as exc:
            raise OutboxError(f"cannot open outbox {self.path}: {exc}") from exc
        self._db = db
        self._sync_mode = "FULL"
        self._measure()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise OutboxError("outbox is not open")
        return self._db

    # --- storing --------------------------------------------------------------------------------

    def put(self, messages: Sequence[NewMessage], acked: Sequence[int]) -> Stored:
        """Store `messages` and delete `acked` in one transaction (in memory while the disk
        refuses them); (rows, thinned, whether the tail may hold them)."""
        held = self._numbered(messages)
        deletes = self.hold.acknowledge(acked, time.time()) if acked else []
        if len(self.hold) and not self._store_held():
            return self._held(held, deletes)
        try:
            self._insert(held, deletes)
        except sqlite3.OperationalError as exc:  # disk full, I/O error: hold, never crash
            self._storage_failed(exc)
            return self._held(held, deletes)
        if not self.storage.ok or self.hold.waiting:
            self._recovered()
        if self.disk.due or not self.disk.sure:  # else far enough from the quota: no need to look
            self._measure(walk=self.disk.due)
        if self.counts.bytes + self.disk.overhead <= self.max_bytes:
            return held, 0, True
        try:
            return held, self._thin(), True
        except sqlite3.OperationalError as exc:  # stored, but no room to thin: retried on the next put
            self._storage_failed(exc)
            return held, 0, False

    def _held(self, rows: list[HeldMessage], deletes: list[int]) -> Stored:
        self.hold.add_all(rows)
        self.storage.pending_deletes.extend(deletes)
        return rows, 0, False

    def _numbered(self, messages: Sequence[NewMessage]) -> list[HeldMessage]:
        """Positions, seqs and payloads for `messages`: taken from the counters, which only move
        once the messages are stored or held."""
        position, seq, now = self.counts.last_position, self.counts.next_seq, time.time()
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
        self.counts.last_position, self.counts.next_seq = position, seq
        return numbered

    def _insert(self, rows: Sequence[HeldMessage], deletes: Sequence[int] = ()) -> None:
        """Write `rows` and the seq counter (and delete `deletes`, acknowledged) in one transaction;
        sqlite3.Error leaves nothing behind."""
        db = self._conn
        sequenced = any(row.kind in SEQUENCED for row in rows)
        self._synchronous("FULL" if sequenced else "NORMAL")
        removed = freed = 0
        if len(rows) == 1 and not deletes and not sequenced:
            insert(db, rows)  # one statement: a transaction of its own (autocommit), all or nothing
        else:
            with self._transaction():
                removed, freed = self._delete_rows(deletes, journal=True)
                insert(db, rows)
                if sequenced:  # telemetry and meta take no seq: the counter has not moved
                    db.execute("UPDATE meta SET value=? WHERE key='next_seq'", (self.counts.next_seq,))
        added = sum(row.size + ROW_OVERHEAD_BYTES for row in rows)
        self.disk.wrote(len(rows) + 1, added)  # + 1: the seq counter's row
        self.counts.depth += len(rows) - removed
        self.counts.bytes += added - freed

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: committed when the block ends, rolled back (and the error raised
        again) when anything in it fails, the COMMIT included: nothing is left half-written."""
        db = self._conn
        try:
            db.execute("BEGIN IMMEDIATE")
            yield
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise

    def _synchronous(self, mode: str) -> None:
        """Set the connection's durability for the next transaction (a statement only on a change)."""
        if mode != self._sync_mode:
            self._conn.execute(f"PRAGMA synchronous={mode}")
            self._sync_mode = mode

    # --- a full or failing disk -----------------------------------------------------------------

    def _store_held(self) -> bool:
        """Try (at most every STORAGE_RETRY_S) to write what memory holds; True once it is on disk."""
        if time.monotonic() < self.storage.retry_at:
            return False
        try:
            self._insert(self.hold.rows())
        except sqlite3.OperationalError as exc:
            self._storage_failed(exc)
            return False
        self.hold.clear()
        self._recovered()
        return True

    def _recovered(self) -> None:
        """Storage works again: what waited for it (deletes, journal copies) is written now."""
        self.storage.ok = True
        try:
            if self.storage.pending_deletes:
                self._delete(self.storage.pending_deletes)
                self.storage.pending_deletes = []
            if self.hold.waiting:
                self.journal.record_held(self._conn, self.hold.sent())
                self.hold.clear_sent()
        except sqlite3.OperationalError:
            pass  # tried again after the next put; until then deletes are only duplicates
        self._measure()

    def _storage_failed(self, exc: sqlite3.Error) -> None:
        self.storage.ok = False
        self.storage.error = str(exc)
        self.storage.retry_at = time.monotonic() + STORAGE_RETRY_S

    # --- quota ----------------------------------------------------------------------------------

    def _measure(self, *, walk: bool = True) -> None:
        if self._db is not None:
            self.disk.measure(self._db, self.counts.bytes, walk=walk)

    def _thin(self) -> int:
        """Delete every other row of the oldest telemetry until 90 % of the quota is free."""
        target = int(self.max_bytes * 0.9) - self.disk.overhead
        thinned = thin(self._conn, self.counts.bytes, target, lambda rows: self._delete(rows, journal=False))
        self.counts.thinned_total += thinned
        self._measure()
        return thinned

    # --- reading, deleting ----------------------------------------------------------------------

    def read_after(self, position: int, limit: int) -> list[StoredMessage]:
        rows = self._conn.execute(
            "SELECT position, kind, topic, payload, qos, retain FROM outbox WHERE position > ? "
            "ORDER BY position LIMIT ?",
            (position, limit),
        ).fetchall()
        found = [StoredMessage(p, k, t, bytes(pl), q, bool(r)) for p, k, t, pl, q, r in rows]
        if len(found) < limit and len(self.hold):
            after = found[-1].position if found else position
            held = self.hold.after(after, limit - len(found))
            found += [StoredMessage(h.position, h.kind, h.topic, h.payload, h.qos, h.retain) for h in held]
        return found

    def ack(self, positions: Sequence[int]) -> None:
        on_disk = self.hold.acknowledge(positions, time.time())
        if not on_disk:
            return
        try:
            self._delete(on_disk)
        except sqlite3.OperationalError as exc:
            # Still stored: sent again after a reconnect (a duplicate by id), deleted once writable.
            self.storage.pending_deletes.extend(on_disk)
            self._storage_failed(exc)

    def _delete(self, positions: Sequence[int], *, journal: bool = True) -> None:
        """Delete rows (and journal them) in a transaction of their own."""
        self._synchronous("NORMAL")
        with self._transaction():
            removed, freed = self._delete_rows(positions, journal=journal)
        self.counts.depth -= removed
        self.counts.bytes -= freed

    def _delete_rows(self, positions: Sequence[int], *, journal: bool) -> tuple[int, int]:
        """Delete rows in the caller's transaction, journaling the sequenced ones: one statement
        per chunk, which returns what it deleted; (rows removed, bytes freed)."""
        removed = freed = 0
        acked: list[Acked] = []
        for kind, topic, payload, size in delete_returning(self._conn, positions):
            removed += 1
            freed += size + ROW_OVERHEAD_BYTES
            if journal and payload is not None:
                acked.append((kind, topic, bytes(payload)))
        if journal:
            self.journal.record(self._conn, acked)
            self.disk.wrote(len(acked), sum(len(topic) + len(payload) for _, topic, payload in acked))
        return removed, freed

    # --- resend, refused ------------------------------------------------------------------------

    def requeue(self, first_seq: int, last_seq: int) -> tuple[int, set[int], int]:
        """The journaled range back into the outbox: (how many, seqs present, the last position)."""
        if self.hold.waiting:
            raise OutboxError("storage is full: messages held in memory come first")
        with self._transaction():
            copied, present = self.journal.requeue(self._conn, first_seq, last_seq, self.counts.last_position)
        for position, _kind, topic, payload in copied:
            self.counts.last_position = position
            self.counts.depth += 1
            self.counts.bytes += len(payload) + len(topic) + ROW_OVERHEAD_BYTES
            self.disk.wrote(1, len(payload) + len(topic) + ROW_OVERHEAD_BYTES)
        return len(copied), present, self.counts.last_position

    def reject(self, position: int, reason: str) -> None:
        if not self.hold.remove([position]):
            log.error("outbox: refused message at %d was held in memory; not kept aside", position)
            return
        with self._transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO rejected (position, kind, topic, payload, reason, rejected) "
                "SELECT position, kind, topic, payload, ?, ? FROM outbox WHERE position = ?",
                (reason, time.time(), position),
            )
            removed, freed = self._delete_rows([position], journal=False)
        self.disk.wrote(removed, freed)  # the row's copy in `rejected`
        self.counts.depth -= removed
        self.counts.bytes -= freed
        self.counts.rejected_total += 1
