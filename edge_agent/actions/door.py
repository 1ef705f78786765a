"""The cabinet door switch: `door_opened` / `door_closed` events; open outside maintenance = tamper.

The contact is a GPIO pin or a discrete input of a Modbus TCP I/O module (`door_modbus`). gpiozero
calls back on its own thread; the callback only hands the change to the event loop, where `run`
(a task of the agent's TaskGroup) publishes the changes in the order they came. The Modbus input
is polled by `run` itself and feeds the same path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from edge_agent.actions.config import DoorConfig
from edge_agent.actions.door_modbus import ModbusDoorInput
from edge_agent.runtime.emitter import Emitter

log = logging.getLogger(__name__)


class DoorWatcher:
    def __init__(self, config: DoorConfig, emitter: Emitter, in_maintenance: Callable[[], bool]) -> None:
        self.config = config
        self.emitter = emitter
        self.in_maintenance = in_maintenance
        self.is_open: bool | None = None
        self._device: Any = None
        self._input: ModbusDoorInput | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changes: asyncio.Queue[bool] = asyncio.Queue()  # open?, one per change, until published

    def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.config.modbus is not None:
            self._input = ModbusDoorInput(self.config, self._report)
            return
        from gpiozero import DigitalInputDevice

        pull_up = self.config.pull_up
        active_state = None if pull_up is not None else True
        self._device = DigitalInputDevice(self.config.pin, pull_up=pull_up, active_state=active_state)
        self._device.when_activated = self._from_thread
        self._device.when_deactivated = self._from_thread
        self._from_thread()

    def close(self) -> None:
        if self._device is not None:
            self._device.close()

    def _from_thread(self) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._changed)

    def _door_open(self) -> bool:
        high = bool(self._device.value) != (self.config.pull_up is True)  # pull-up: active means low
        return high == self.config.open_when_high

    def _changed(self) -> None:
        self._report(self._door_open())

    def _report(self, now_open: bool) -> None:
        if now_open == self.is_open:
            return
        self.is_open = now_open
        self._changes.put_nowait(now_open)

    async def run(self) -> None:
        """Publish each change (and poll a Modbus input meanwhile)."""
        if self._input is None:
            await self._publish_changes()
            return
        async with asyncio.TaskGroup() as group:
            group.create_task(self._input.run(), name="door-input")
            group.create_task(self._publish_changes(), name="door-publish")

    async def _publish_changes(self) -> None:
        """One change that cannot be published is logged, the next ones still go."""
        while True:
            now_open = await self._changes.get()
            try:
                await self._publish(now_open)
            except Exception:
                log.exception("door %s: could not publish the change", "open" if now_open else "closed")

    async def _publish(self, now_open: bool) -> None:
        maintenance = self.in_maintenance()
        await self.emitter.event(
            "door_opened" if now_open else "door_closed", detail={"maintenance": maintenance}
        )
        if now_open and not maintenance:
            log.warning("cabinet door opened outside declared maintenance: tamper alarm")
            await self.emitter.event("tamper_alarm", severity="critical", detail={"door": "open"})
