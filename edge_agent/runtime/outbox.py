"""The durable outbox: every message bound for the broker waits here until the broker's PUBACK.

SQLite in WAL mode, one connection on one worker thread (so no disk IO on the event loop). This
module is the async facade the agent uses; the parts each hold one idea:

- `outbox_store`: the SQLite side (durability, seq, the memory hold of a full disk);
- `outbox_quota`: the disk quota of the data dir and the thinning of telemetry beyond it;
- `outbox_journal`: the resend journal of acknowledged sequenced messages (`requeue`);
- `outbox_hold`: what a full disk leaves in memory; `outbox_tail`: the newest rows in memory;
- `outbox_messages`: the shapes of what goes in and comes out.

Hot path: what was just stored is also kept in memory (`outbox_tail`), so while the link keeps up
the reporter publishes from memory instead of reading back what was just written. Deletes after
PUBACK may be deferred (`ack_later`): they ride in the next `put`'s transaction, so a steady poll
costs one transaction; the reporter's of telemetry go in groups (`group=True`: once ACK_GROUP
wait), so most puts of telemetry delete nothing and are one INSERT statement. The worker drains
the queue of puts itself: puts made while it is busy (devices polled together) go together in its
next transaction, with no trip through the event loop in between (group commit: each put still
committed before it returns). A deferred delete lost to a crash is a duplicate on replay, as any
lost delete.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from edge_agent.errors import OutboxError
from edge_agent.runtime.outbox_hold import HeldMessage
from edge_agent.runtime.outbox_journal import MAX_REQUEUE, missing_ranges
from edge_agent.runtime.outbox_messages import (
    Kind,
    NewMessage,
    OutboxStats,
    PayloadBuilder,
    StoredMessage,
)
from edge_agent.runtime.outbox_sql import CACHE_KIB
from edge_agent.runtime.outbox_store import OutboxStore, Stored
from edge_agent.runtime.outbox_tail import RecentTail
from edge_agent.runtime.outbox_worker import OutboxWorker

__all__ = [
    "CACHE_KIB",
    "MAX_REQUEUE",
    "Kind",
    "NewMessage",
    "Outbox",
    "OutboxStats",
    "PayloadBuilder",
    "StoredMessage",
]

log = logging.getLogger(__name__)

HOLD_MAX_BYTES = 16 * 2**20  # a cabinet PC has hundreds of MB: hours of events at normal rates
DRAIN_TURNS = 4  # transactions in a row before the worker lets a read or an ack in
# Acknowledged positions given with `ack_later(group=True)` wait for a store until this many do: one
# DELETE for that many polls, and a store with nothing to delete is one statement (no BEGIN/COMMIT).
ACK_GROUP = 32

T = TypeVar("T")
Waiter = asyncio.Future[int]


class _Queue:
    """Puts waiting for the worker and acknowledged positions to delete with them; shared by the
    event loop and the worker thread, so touched only under `lock`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.puts: list[tuple[Sequence[NewMessage], Waiter]] = []
        self.acked: list[int] = []
        self.acked_now = False  # some of `acked` are to go with the next store, however few
        self.draining = False  # a drain job is with the worker, or about to be

    def take(self) -> tuple[list[NewMessage], list[Waiter], list[int]] | None:
        """Everything queued, as one transaction; None (and not draining any more) when empty."""
        with self.lock:
            if not self.puts:
                self.draining = False
                return None
            puts, self.puts = self.puts, []
            acked: list[int] = []
            if self.acked_now or len(self.acked) >= ACK_GROUP:
                acked, self.acked, self.acked_now = self.acked, [], False
        return [message for batch, _ in puts for message in batch], [waiter for _, waiter in puts], acked

    def take_acked(self) -> list[int]:
        with self.lock:
            acked, self.acked, self.acked_now = self.acked, [], False
        return acked

    def give_back(self, acked: list[int]) -> None:
        """Acknowledged positions a failed store did not delete: with the next one."""
        with self.lock:
            self.acked[:0] = acked
            self.acked_now = self.acked_now or bool(acked)


class Outbox:
    """Async facade over the SQLite queue. Use as `async with Outbox(path, max_bytes=...) as outbox`."""

    def __init__(
        self, path: Path, *, max_bytes: int, journal_days: float = 35, hold_max_bytes: int = HOLD_MAX_BYTES
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._store = OutboxStore(
            path, max_bytes=max_bytes, journal_s=journal_days * 86400, hold_max_bytes=hold_max_bytes
        )
        self._worker = OutboxWorker("outbox")
        self._queue = _Queue()
        self._tail = RecentTail()
        self._listeners: list[Callable[[], None]] = []
        self._storage_listeners: list[Callable[[bool], None]] = []
        self._reported_ok = True

    async def __aenter__(self) -> Outbox:
        self._worker.start()
        try:
            await self._run(self._store.open)
        except BaseException:
            self._worker.shutdown()
            raise
        self._tail.reset(self._store.counts.last_position)
        return self

    async def __aexit__(self, *_: object) -> None:
        try:
            if self._queue.acked:
                await self.ack([])
            await self._run(self._store.close)
        finally:
            self._worker.shutdown()

    def on_put(self, listener: Callable[[], None]) -> None:
        """Call `listener` on the event loop after every put (the reporter wakes up on it)."""
        self._listeners.append(listener)

    def on_storage(self, listener: Callable[[bool], None]) -> None:
        """Call `listener(ok)` on the event loop when storing starts failing (False) or works again."""
        self._storage_listeners.append(listener)

    @property
    def storage_ok(self) -> bool:
        return self._store.storage.ok

    def stats(self) -> OutboxStats:
        counts, hold = self._store.counts, self._store.hold
        return OutboxStats(
            counts.depth + len(hold) - len(self._queue.acked),
            counts.bytes,
            self.max_bytes,
            counts.thinned_total + hold.dropped_telemetry,
            counts.rejected_total,
            held=len(hold),
            held_bytes=hold.bytes,
            storage_ok=self._store.storage.ok,
            disk_bytes=counts.bytes + self._store.disk.overhead,
        )

    async def put(self, messages: Sequence[NewMessage]) -> int:
        """Store messages atomically, in order (in memory while the disk refuses them). Returns how
        many telemetry rows were thinned to make room. Deferred deletes (`ack_later`) ride along.

        Group commit: puts made while the worker is busy wait, and go together in its next
        transaction (each still all or nothing, in call order); `put` returns once it is committed."""
        loop = asyncio.get_running_loop()
        waiter: Waiter = loop.create_future()
        with self._queue.lock:
            self._queue.puts.append((messages, waiter))
            start, self._queue.draining = not self._queue.draining, True
        if start:
            self._start_drain(loop)
        # Once queued, the rows reach the in-memory tail (and the reporter is woken) even if the
        # caller is cancelled meanwhile (`_stored` skips a cancelled waiter), so no shield is needed.
        return await waiter

    async def read_after(self, position: int, limit: int) -> list[StoredMessage]:
        """Messages after `position`, oldest first (stored ones, then those held in memory); from
        the in-memory tail when it has them all."""
        recent = self._tail.after(position, limit)
        if recent is not None:
            return recent
        return await self._run(self._store.read_after, position, limit)

    async def ack(self, positions: Sequence[int]) -> None:
        """The broker has the messages: forget them (and any deferred ones) now."""
        self._tail.forget(positions)
        pending = [*self._queue.take_acked(), *positions]
        if pending:
            await self._run(self._store.ack, pending)

    def ack_later(self, positions: Sequence[int], *, group: bool = False) -> None:
        """The broker has the messages: delete them with the next store (or `ack`, or at close);
        with `group`, with the first store once ACK_GROUP acknowledged positions wait."""
        if not positions:
            return
        self._tail.forget(positions)
        with self._queue.lock:
            self._queue.acked.extend(positions)
            self._queue.acked_now = self._queue.acked_now or not group

    @property
    def deferred_acks(self) -> int:
        return len(self._queue.acked)

    async def requeue(self, first_seq: int, last_seq: int) -> tuple[int, list[tuple[int, int]]]:
        """Queue the journaled messages `first_seq..last_seq` again; (how many, missing ranges).

        Seqs still waiting in the outbox count as present (they go out anyway); a seq neither
        there nor in the journal is gone (older than the journal, or thinned: never for sequenced).
        """
        if last_seq < first_seq or last_seq - first_seq >= MAX_REQUEUE:
            raise OutboxError(f"requeue range {first_seq}..{last_seq}: at most {MAX_REQUEUE} seqs")
        if self._queue.acked:
            await self.ack([])  # acknowledged but not yet deleted: into the journal first, not "waiting"
        loop = asyncio.get_running_loop()
        future = self._worker.run(loop, functools.partial(self._store.requeue, first_seq, last_seq))
        future.add_done_callback(self._requeued)
        found, present, _last = await asyncio.shield(future)  # shielded, as in `put`
        return found, missing_ranges(first_seq, last_seq, present)

    async def reject(self, position: int, reason: str) -> None:
        """The broker refused the message for good (e.g. not authorised): keep it aside, never drop it."""
        self._tail.forget([position])
        await self._run(self._store.reject, position, reason)

    # --- the worker's drain (worker thread) -----------------------------------------------------

    def _start_drain(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._worker.submit(functools.partial(self._drain, loop))
        except RuntimeError as exc:  # the outbox is closed
            self._fail_queued(exc)

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """Store what is queued, one transaction per turn, until nothing is left; after
        DRAIN_TURNS turns the job goes behind the reads and acks waiting for the worker."""
        for _ in range(DRAIN_TURNS):
            batch = self._queue.take()
            if batch is None:
                return
            messages, waiters, acked = batch
            try:
                stored: Stored | BaseException = self._store.put(messages, acked)
            except Exception as exc:  # handed to the waiters: put raises it
                stored = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                loop.call_soon_threadsafe(self._stored, acked, waiters, stored)
        try:
            self._worker.submit(functools.partial(self._drain, loop))
        except RuntimeError as exc:  # closed meanwhile: the waiters hear it on their loop
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._fail_queued, exc)

    # --- results (event loop) -------------------------------------------------------------------

    def _stored(self, acked: list[int], waiters: list[Waiter], stored: Stored | BaseException) -> None:
        if isinstance(stored, BaseException):
            self._queue.give_back(acked)  # not deleted: try again with the next store
            _settle(waiters, stored)
            return
        thinned = self._took(*stored)
        for waiter in waiters:  # the thinned count once, to the first put
            if not waiter.done():
                waiter.set_result(thinned)
            thinned = 0

    def _fail_queued(self, error: BaseException) -> None:
        while (batch := self._queue.take()) is not None:
            _settle(batch[1], error)
            self._queue.give_back(batch[2])

    def _took(self, rows: list[HeldMessage], thinned: int, tail_ok: bool) -> int:
        """The worker stored (or held) a transaction: the tail, the listeners; how many were thinned."""
        if thinned or not tail_ok:  # rows went from under the tail, or some are held: read via the worker
            self._tail.reset(rows[-1].position if rows else self._tail.floor)
        else:
            self._tail.take(rows)
        self._report_storage()
        for listener in self._listeners:
            listener()
        return thinned

    def _requeued(self, future: asyncio.Future[tuple[int, set[int], int]]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        self._tail.reset(future.result()[2])  # rows stored behind the tail's back
        for listener in self._listeners:
            listener()

    def _report_storage(self) -> None:
        """Log and tell listeners once per change (on the event loop)."""
        storage = self._store.storage
        if storage.ok == self._reported_ok:
            return
        self._reported_ok = storage.ok
        if storage.ok:
            log.warning("outbox: storage available again; messages held in memory are stored")
        else:
            log.error(
                "outbox: storage full or failing (%s): holding new messages in memory (up to %d bytes)",
                storage.error,
                self._store.hold.max_bytes,
            )
        for listener in self._storage_listeners:
            listener(storage.ok)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        return await self._worker.run(asyncio.get_running_loop(), functools.partial(function, *args))


def _settle(waiters: list[Waiter], error: BaseException) -> None:
    """Fail every put of a transaction that did not happen."""
    for waiter in waiters:
        if not waiter.done():
            waiter.set_exception(error)
