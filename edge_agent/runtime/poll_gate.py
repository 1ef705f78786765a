"""When a device's poll loop may poll: at its interval, sooner on request, never while paused.

A firmware upgrade pauses the camera it reboots: no poll of its own then reports it offline or
faulted while it comes back on the new firmware. A poll running when the pause is asked for is
awaited, so no poll overlaps the upgrade; `poll_soon` callers wait through a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class PollGate:
    def __init__(self) -> None:
        self._wake = False  # cuts the sleep between polls short (asked during a poll: no sleep)
        self._sleeper: asyncio.Future[bool] | None = None  # the sleep under way: resolves to "cut short"
        self._waiting: list[asyncio.Future[None]] = []  # `poll_soon` callers, told after the poll
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._polling = asyncio.Lock()  # held for one poll: a pause waits for it

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """One poll: waits while paused; answers the `poll_soon` callers once the poll ended."""
        await self._enter()
        try:
            self._wake = False
            waiting, self._waiting = self._waiting, []
            try:
                yield
            except BaseException:
                _cancel(waiting)
                raise
            for future in waiting:
                if not future.done():
                    future.set_result(None)
        finally:
            self._polling.release()

    async def _enter(self) -> None:
        while True:
            await self._resumed.wait()
            await self._polling.acquire()
            if self._resumed.is_set():  # not paused while this waited for the lock
                return
            self._polling.release()

    async def sleep(self, delay_s: float) -> bool:
        """Sleep until the next slot; True if `poll_soon` or `resume` cut the sleep short.

        One timer and one future per sleep: a timeout raising into an event wait costs the hot
        loop of every device an exception and a cancellation per poll."""
        if self._wake:
            return True
        loop = asyncio.get_running_loop()
        sleeper: asyncio.Future[bool] = loop.create_future()
        self._sleeper = sleeper
        timer = loop.call_later(max(0.0, delay_s), _resolve, sleeper, False)
        try:
            return await sleeper
        finally:
            timer.cancel()
            self._sleeper = None

    def _cut_short(self) -> None:
        self._wake = True
        if self._sleeper is not None:
            _resolve(self._sleeper, True)

    async def poll_soon(self) -> None:
        """Ask for a poll now (not a second poll in parallel) and wait until it has run."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self._cut_short()
        await future

    async def pause(self) -> None:
        """No poll from now until `resume`; returns once a poll under way has ended."""
        self._resumed.clear()
        async with self._polling:
            pass

    def resume(self) -> None:
        """Poll again, at once: what changed while paused shows without waiting for the slot."""
        self._resumed.set()
        self._cut_short()

    def close(self) -> None:
        """The loop stopped: nobody waits forever for a poll."""
        _cancel(self._waiting)
        self._waiting = []


def _resolve(future: asyncio.Future[bool], cut_short: bool) -> None:
    if not future.done():
        future.set_result(cut_short)


def _cancel(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        future.cancel()
