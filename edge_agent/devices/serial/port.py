"""A pyserial port behind asyncio.to_thread, with loss detection.

A USB adapter pulled out shows up as an OSError / SerialException on read or open; the port is
then closed and every later call raises `PortLost` until `reopen` succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib

import serial

from edge_agent.devices.serial.config import SerialConfig
from edge_agent.errors import PortLost

READ_CHUNK = 4096


class SerialPort:
    def __init__(self, config: SerialConfig, *, read_timeout_s: float) -> None:
        self.config = config
        self.read_timeout_s = read_timeout_s
        self._port: serial.Serial | None = None

    @property
    def is_open(self) -> bool:
        return self._port is not None

    async def open(self) -> None:
        try:
            self._port = await asyncio.to_thread(self._open)
        except (OSError, serial.SerialException, ValueError) as exc:
            raise PortLost(f"cannot open {self.config.port}: {exc}") from exc

    def _open(self) -> serial.Serial:
        c = self.config
        return serial.Serial(
            c.port,
            baudrate=c.baudrate,
            parity=c.parity,
            bytesize=c.bytesize,
            stopbits=c.stopbits,
            timeout=self.read_timeout_s,
            write_timeout=self.read_timeout_s,
            exclusive=True,
        )

    async def read(self) -> bytes:
        """What arrived within the read timeout (possibly nothing)."""
        port = self._require()
        try:
            return await asyncio.to_thread(self._read, port)
        except (OSError, serial.SerialException) as exc:
            await self.close()
            raise PortLost(f"{self.config.port}: {exc}") from exc

    @staticmethod
    def _read(port: serial.Serial) -> bytes:
        first = port.read(1)  # blocks up to the timeout; then take whatever else is waiting
        waiting = port.in_waiting if first else 0
        return bytes(first + (port.read(min(waiting, READ_CHUNK)) if waiting else b""))

    async def write(self, data: bytes) -> None:
        port = self._require()
        try:
            await asyncio.to_thread(port.write, data)
        except (OSError, serial.SerialException) as exc:
            await self.close()
            raise PortLost(f"{self.config.port}: {exc}") from exc

    async def reset_input(self) -> None:
        port = self._require()
        with contextlib.suppress(OSError, serial.SerialException):
            await asyncio.to_thread(port.reset_input_buffer)

    def _require(self) -> serial.Serial:
        if self._port is None:
            raise PortLost(f"{self.config.port} is not open")
        return self._port

    async def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                await asyncio.to_thread(port.close)
