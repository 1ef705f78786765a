"""Serial devices: a streaming radar (background reader) or a polled illuminator.

A lost port (USB adapter unplugged, cable cut) makes the device unreachable with cause
`cabinet`: the agent host's own hardware failed, not the radar. Every poll tries to reopen it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from edge_agent.devices.base import DeviceContext, Poller
from edge_agent.devices.serial.config import SerialConfig
from edge_agent.devices.serial.illuminator import IlluminatorClient
from edge_agent.devices.serial.port import SerialPort
from edge_agent.devices.serial.radar import RadarMonitor
from edge_agent.errors import DeviceUnreachable, PortLost
from edge_agent.readings import PollResult

log = logging.getLogger(__name__)

_RADAR_READ_TIMEOUT_S = 0.2


class SerialPoller(Poller[SerialConfig]):
    def __init__(self, config: SerialConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        read_timeout = (
            _RADAR_READ_TIMEOUT_S if config.is_radar else min(0.05, config.illuminator.request_timeout_s)
        )
        self.port = SerialPort(config, read_timeout_s=read_timeout)
        self.radar = RadarMonitor(config.codec, config.radar) if config.is_radar else None
        self.illuminator = None if config.is_radar else IlluminatorClient(config.illuminator)
        self._reader: asyncio.Task[None] | None = None
        self._lost: str | None = None

    async def open(self) -> None:
        await self._open_port()

    async def _open_port(self) -> None:
        try:
            await self.port.open()
        except PortLost as exc:
            raise DeviceUnreachable(str(exc), cause="cabinet") from exc
        if self._lost is not None:
            log.info("device %s: serial port %s is back", self.config.device_id, self.config.port)
        self._lost = None
        if self.radar is not None:
            self.radar.restart_clock(time.monotonic())
            self._reader = asyncio.get_running_loop().create_task(
                self._read_loop(self.radar), name=f"serial-reader:{self.config.device_id}"
            )

    async def _read_loop(self, radar: RadarMonitor) -> None:
        try:
            await radar.run(self.port)
        except PortLost as exc:
            self._port_lost(str(exc))
        except Exception as exc:  # a bug must not leave the radar unread forever: reopen next poll
            log.exception("device %s: serial reader failed", self.config.device_id)
            await self.port.close()
            self._port_lost(f"reader failed: {exc}")

    def _port_lost(self, reason: str) -> None:
        if self._lost is None:
            log.warning("device %s: serial port lost: %s", self.config.device_id, reason)
        self._lost = reason

    async def poll(self) -> PollResult:
        if not self.port.is_open:
            await self._stop_reader()
            await self._open_port()  # raises DeviceUnreachable(cause="cabinet") while the port is gone
        if self.radar is not None:
            return self.radar.result(time.monotonic())
        assert self.illuminator is not None
        try:
            return await self.illuminator.poll(self.port)
        except PortLost as exc:
            self._port_lost(str(exc))
            raise DeviceUnreachable(str(exc), cause="cabinet") from exc

    async def _stop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def close(self) -> None:
        await self._stop_reader()
        await self.port.close()
