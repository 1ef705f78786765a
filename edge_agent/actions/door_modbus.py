"""The door contact on a discrete input of a Modbus TCP I/O module (cabinets without GPIO).

Polled: the module cannot call back. A read that fails is logged once until the input reads
again; it is no door change and raises no tamper alarm (the last known state stands).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from edge_agent.actions.config import DoorConfig, ModbusInput

log = logging.getLogger(__name__)


class DoorInputError(Exception):
    """The I/O module did not give the door input's value."""


class ModbusDoorInput:
    def __init__(self, config: DoorConfig, report: Callable[[bool], None]) -> None:
        assert config.modbus is not None
        self.source: ModbusInput = config.modbus
        self.open_when_high = config.open_when_high
        self.interval_s = config.poll_interval_s
        self.report = report  # called with "door open?" after each good read
        self._client: Any = None
        self._failing = False

    async def run(self) -> None:
        try:
            while True:
                await self.poll_once()
                await asyncio.sleep(self.interval_s)
        finally:
            self._drop_client()

    async def poll_once(self) -> None:
        from pymodbus.exceptions import ModbusException  # imported late: config loading stays light

        try:
            async with asyncio.timeout(self.source.timeout_s * 3):
                high = await self._read()
        except (ModbusException, DoorInputError, TimeoutError, OSError) as exc:
            self._drop_client()  # the next poll connects afresh
            if not self._failing:
                log.warning(
                    "door input %s: cannot read (%s); door state unknown until it reads", self._where(), exc
                )
            self._failing = True
            return
        if self._failing:
            log.info("door input %s: reads again", self._where())
        self._failing = False
        self.report(high == self.open_when_high)

    async def _read(self) -> bool:
        from pymodbus.client import AsyncModbusTcpClient

        if self._client is None:
            s = self.source
            self._client = AsyncModbusTcpClient(s.host, port=s.port, timeout=s.timeout_s, retries=1)
        if not self._client.connected and not await self._client.connect():
            raise DoorInputError("unreachable")
        reply = await self._client.read_discrete_inputs(
            self.source.address, count=1, device_id=self.source.unit
        )
        if reply.isError():
            raise DoorInputError(f"refused: {reply}")
        return bool(reply.bits[0])

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _where(self) -> str:
        return f"{self.source.host}:{self.source.port} unit {self.source.unit} input {self.source.address}"
