"""One Modbus link (a TCP connection or an RS-485 port) owned by one object, shared by its devices.

Every transaction takes the bus lock, so unit ids on one serial line are polled strictly one at
a time, in arrival order (asyncio.Lock is FIFO). Each transaction has its own short timeout and no
retries: a dead slave costs the bus one `request_timeout_s` per poll, never the others' turns.
What arrived on the wire during a failed transaction tells a silent slave (nothing) from a garbled
reply (CRC error, garbage, truncated frame), which pymodbus drops without telling.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType

from edge_agent.devices.base import in_poll
from edge_agent.devices.modbus.config import ModbusConfig, RtuTransport
from edge_agent.devices.modbus.profile import Function
from edge_agent.errors import (
    BusBadFrame,
    BusBadLength,
    BusExceptionReply,
    BusTimeout,
    BusUnavailable,
)

# pymodbus logs every unanswered request at ERROR; we count them and log state changes instead.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

_GUARD_S = 1.0  # on top of the request timeout, in case the client itself hangs (outside a poll)
# asyncio's socket transports receive into a new 256 KiB buffer on every read; with glibc's mmap
# threshold fixed (memory_trim) that is an mmap and a munmap per reply. A Modbus frame is <= 260 B.
_READ_BUFFER_BYTES = 4096


@dataclass
class BusStats:
    transactions: int = 0
    busy_s: float = 0.0


class ModbusBus:
    """The owner of one link. Line settings come from the first device that opens it."""

    def __init__(self, config: ModbusConfig) -> None:
        self.timeout_s = config.request_timeout_s
        self.stats = BusStats()
        self._lock = asyncio.Lock()
        self._rx_bytes = 0
        self._quiet_until = 0.0
        self._last_end = 0.0
        self.client = _client(config, self._trace)
        # Inter-frame quiet time is an RS-485 matter; a TCP link never needs it.
        self._serial = isinstance(config.transport, RtuTransport)
        self.client.set_max_no_responses(1_000_000)  # one dead slave must not close the shared link
        self._tuned: object = None  # the transport whose read buffer was made small

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self._rx_bytes += len(data)
        return data

    async def read(
        self, unit_id: int, function: Function, address: int, count: int, *, inter_frame_delay_s: float = 0.0
    ) -> list[int] | list[bool]:
        """One read transaction; raises a `BusError` subclass on any failure.

        Before it, the line stays quiet for the longer of the previous device's and this device's
        inter-frame delay (RS-485 only): a slow slave needs its gap whoever spoke last.
        """
        async with self._lock:
            await self._ensure_connected()
            own_delay = inter_frame_delay_s if self._serial else 0.0
            wait = max(self._quiet_until, self._last_end + own_delay) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            started = time.monotonic()
            try:
                return await self._transact(unit_id, function, address, count)
            finally:
                ended = time.monotonic()
                self.stats.transactions += 1
                self.stats.busy_s += ended - started
                self._last_end = ended
                self._quiet_until = ended + own_delay

    async def _transact(
        self, unit_id: int, function: Function, address: int, count: int
    ) -> list[int] | list[bool]:
        call = {
            "coil": self.client.read_coils,
            "discrete_input": self.client.read_discrete_inputs,
            "holding": self.client.read_holding_registers,
            "input": self.client.read_input_registers,
        }[function]
        self._rx_bytes = 0
        try:
            if in_poll():  # the poll's deadline (and pymodbus's request timeout) bound it: no third timer
                reply = await call(address, count=count, device_id=unit_id)
            else:
                async with asyncio.timeout(self.timeout_s + _GUARD_S):
                    reply = await call(address, count=count, device_id=unit_id)
        except (TimeoutError, ModbusException) as exc:
            if isinstance(exc, ConnectionException):
                raise BusUnavailable(str(exc)) from exc
            if self._rx_bytes:
                raise BusBadFrame(f"{self._rx_bytes} bytes, no valid reply") from exc
            raise BusTimeout(f"no reply within {self.timeout_s:g} s") from exc
        if reply.isError():
            raise BusExceptionReply(int(getattr(reply, "exception_code", 0)))
        words: list[int] | list[bool] = list(
            reply.bits if function in ("coil", "discrete_input") else reply.registers
        )
        if len(words) < count:
            raise BusBadLength(f"asked {count}, got {len(words)}")
        return words[:count]

    async def _ensure_connected(self) -> None:
        if not self.client.connected:
            await self._connect()
        transport = self.client.ctx.transport
        if transport is not self._tuned:  # a new connection
            self._tuned = transport
            _small_reads(transport)

    async def _connect(self) -> None:
        try:
            async with asyncio.timeout(self.timeout_s + _GUARD_S):
                connected = await self.client.connect()
        except (TimeoutError, OSError, ModbusException) as exc:
            raise BusUnavailable(f"cannot open: {exc}") from exc
        if not connected:
            raise BusUnavailable("cannot open the link")

    async def close(self) -> None:
        self.client.close()


def _small_reads(transport: object) -> None:
    """Read replies into a small buffer (asyncio's socket transports; pymodbus's serial one reads
    its own way and has no such attribute)."""
    if isinstance(getattr(transport, "max_size", None), int):
        setattr(transport, "max_size", _READ_BUFFER_BYTES)  # noqa: B010 - not in the transport's declared type


def _client(
    config: ModbusConfig, trace: Callable[[bool, bytes], bytes]
) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
    transport = config.transport
    common: dict[str, Any] = {
        "timeout": config.request_timeout_s,
        "retries": 0,
        "reconnect_delay": 0,  # we reconnect on the next transaction, under our own timeout
        "name": transport.bus_key(),
        "trace_packet": trace,
    }
    if isinstance(transport, RtuTransport):
        defaults = config.resolved_profile.serial
        return AsyncModbusSerialClient(
            transport.port,
            framer=FramerType.RTU,
            baudrate=transport.baudrate or defaults.baudrate,
            parity=transport.parity or defaults.parity,
            bytesize=transport.bytesize,
            stopbits=transport.stopbits or defaults.stopbits,
            **common,
        )
    return AsyncModbusTcpClient(transport.host, port=transport.port, **common)
