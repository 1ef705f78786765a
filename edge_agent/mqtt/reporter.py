"""Drains the outbox to the broker, in order, deleting each message only after its PUBACK.

While connected it keeps up to the link's window of messages unacknowledged. When the link drops, every
unacknowledged message stays in the outbox and the next connection replays from the oldest one,
so a subscriber sees each message at least once, in order; repeats carry the same `id`.

While the link keeps up, the outbox hands over what was just stored from memory, and the deletes
of acknowledged messages wait for the next store (one transaction per poll), or `ACK_IDLE_S` of
quiet, whichever comes first; those of telemetry wait for a store once a group of them waits (the
outbox's `ACK_GROUP`: one DELETE for that many polls). A crash then repeats more telemetry (same
`id`), never more events or states: the evidence is replayed only as before.

Hot path: going idle waits on one `Event` (set by a store and by the loss of the link), and the
quiet deadline is one timer, re-armed only when it expires: an idle wake makes no task and no timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from edge_agent.errors import ConnectionLost
from edge_agent.mqtt.link import MqttLink
from edge_agent.mqtt.queue import Outbox, StoredMessage

log = logging.getLogger(__name__)

READ_BATCH = 500
ACK_BATCH = 256
ACK_IDLE_S = 5.0  # deferred deletes are written after this long without a store
SHUTDOWN_POLL_S = 0.05
SUCCESS_CODES = frozenset({0, 16})  # 16 = "no matching subscribers": the broker still accepted it
Spawn = Callable[[str, Coroutine[Any, Any, None]], None]  # starts a task in the agent's TaskGroup


class Reporter:
    def __init__(self, link: MqttLink, outbox: Outbox, spawn: Spawn) -> None:
        self.link = link
        self.outbox = outbox
        self._wake = asyncio.Event()
        self._acked: list[int] = []
        self._acked_telemetry: list[int] = []  # deleted in groups (`ack_later(group=True)`)
        self.published_total = 0
        self._background = spawn  # outbox writes started from the PUBACK callback (runtime/tasks.Spawner)
        self._last_put = 0.0  # loop time of the last store: deferred deletes wait for quiet after it
        self._quiet: asyncio.TimerHandle | None = None
        outbox.on_put(self._stored)
        link.on_lost(self._wake.set)

    async def run(self) -> None:
        try:
            while True:
                await self.link.connected.wait()
                with contextlib.suppress(ConnectionLost):  # unacknowledged messages stay stored
                    await self._drain_while_connected()
                await self._flush_acks()
        finally:
            if self._quiet is not None:
                self._quiet.cancel()  # the outbox writes what is deferred when it closes
                self._quiet = None

    async def wait_drained(self, timeout_s: float) -> bool:
        """Wait until the outbox is empty (used at shutdown). False if it did not empty in time."""
        try:
            async with asyncio.timeout(timeout_s):
                while self.outbox.stats().depth > 0:
                    if not self.link.connected.is_set():
                        return False
                    await asyncio.sleep(SHUTDOWN_POLL_S)  # shutdown only: no hot-path event needed
        except TimeoutError:
            return False
        return True

    async def _drain_while_connected(self) -> None:
        window = asyncio.Semaphore(self.link.window)
        inflight: set[asyncio.Future[int]] = set()
        position = 0
        try:
            while self.link.connected.is_set():
                self._wake.clear()
                batch = await self.outbox.read_after(position, READ_BATCH)
                if not batch:
                    await self._wait_idle(inflight)
                    continue
                for message in batch:
                    await window.acquire()
                    if not self.link.connected.is_set():
                        raise ConnectionLost("link dropped while draining")
                    future = self.link.publish(
                        message.topic, message.payload, qos=message.qos, retain=message.retain
                    )
                    inflight.add(future)
                    future.add_done_callback(functools.partial(self._settled, message, window, inflight))
                    position = message.position
        finally:
            for future in inflight:
                future.cancel()

    async def _wait_idle(self, inflight: set[asyncio.Future[int]]) -> None:
        if inflight:
            await asyncio.wait(inflight, return_when=asyncio.ALL_COMPLETED)
        acked, self._acked = self._acked, []
        telemetry, self._acked_telemetry = self._acked_telemetry, []
        self.outbox.ack_later(telemetry, group=True)  # deleted with a store once a group waits
        self.outbox.ack_later(acked)  # deleted with the next store
        if self.outbox.deferred_acks:
            self._arm_quiet()
        await self._wake.wait()  # a store, or the link lost

    def _stored(self) -> None:
        self._last_put = asyncio.get_running_loop().time()
        self._wake.set()

    def _arm_quiet(self) -> None:
        """Deletes are deferred: make sure they are written after ACK_IDLE_S without a store."""
        if self._quiet is None:
            loop = asyncio.get_running_loop()
            self._quiet = loop.call_at(max(self._last_put, loop.time()) + ACK_IDLE_S, self._quiet_due)

    def _quiet_due(self) -> None:
        self._quiet = None
        if not self.outbox.deferred_acks:
            return  # a store took them meanwhile
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_put >= ACK_IDLE_S:  # nothing stored for a while: delete on their own
            self._spawn(self._flush_acks())
        else:  # stores came meanwhile (taking the deletes once a group waited): wait for quiet again
            self._quiet = loop.call_at(self._last_put + ACK_IDLE_S, self._quiet_due)

    def _settled(
        self,
        message: StoredMessage,
        window: asyncio.Semaphore,
        inflight: set[asyncio.Future[int]],
        future: asyncio.Future[int],
    ) -> None:
        window.release()
        inflight.discard(future)
        if future.cancelled() or future.exception() is not None:
            return
        code = future.result()
        if code in SUCCESS_CODES:
            self.published_total += 1
            (self._acked_telemetry if message.kind == "telemetry" else self._acked).append(message.position)
            if len(self._acked) + len(self._acked_telemetry) >= ACK_BATCH:
                self._spawn(self._flush_acks())
        else:
            log.error(
                "broker refused %s on %s (reason %d); kept aside in the outbox",
                message.kind,
                message.topic,
                code,
            )
            self._spawn(self.outbox.reject(message.position, f"reason code {code}"))

    def _spawn(self, work: Coroutine[None, None, None]) -> None:
        self._background("mqtt-reporter:outbox-write", work)

    async def _flush_acks(self) -> None:
        acked, self._acked = [*self._acked_telemetry, *self._acked], []
        self._acked_telemetry = []
        try:
            await self.outbox.ack(acked)
        except Exception:
            # The messages stay stored and are sent again: a duplicate, never a loss.
            log.exception("cannot delete %d acknowledged messages from the outbox", len(acked))
