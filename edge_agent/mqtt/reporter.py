"""Drains the outbox to the broker, in order, deleting each message only after its PUBACK.

While connected it keeps up to the link's window of messages unacknowledged. When the link drops, every
unacknowledged message stays in the outbox and the next connection replays from the oldest one,
so a subscriber sees each message at least once, in order; repeats carry the same `id`.

While the link keeps up, the outbox hands over what was just stored from memory, and the deletes
of acknowledged messages wait for the next store (one transaction per poll), or `ACK_IDLE_S` of
quiet, whichever comes first.
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
        self.published_total = 0
        self._background = spawn  # outbox writes started from the PUBACK callback (runtime/tasks.Spawner)
        outbox.on_put(self._wake.set)

    async def run(self) -> None:
        while True:
            await self.link.connected.wait()
            with contextlib.suppress(ConnectionLost):  # unacknowledged messages stay stored
                await self._drain_while_connected()
            await self._flush_acks()

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
        self.outbox.ack_later(acked)  # deleted with the next store
        wake = asyncio.create_task(self._wake.wait())
        lost = asyncio.create_task(self.link.wait_lost())
        try:
            timeout = ACK_IDLE_S if self.outbox.deferred_acks else None
            done, _ = await asyncio.wait({wake, lost}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if not done:  # nothing stored for a while: write the deletes on their own
                await self._flush_acks()
        finally:
            wake.cancel()
            lost.cancel()

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
            self._acked.append(message.position)
            if len(self._acked) >= ACK_BATCH:
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
        acked, self._acked = self._acked, []
        try:
            await self.outbox.ack(acked)
        except Exception:
            # The messages stay stored and are sent again: a duplicate, never a loss.
            log.exception("cannot delete %d acknowledged messages from the outbox", len(acked))
