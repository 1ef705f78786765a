"""One interface for a power relay: a gpiozero output, or a coil of a Modbus TCP relay module.

`power(on)` sets the device's power; blocking IO (gpiozero, sockets) stays off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from edge_agent.actions.config import GpioOutput, ModbusCoil, RelayConfig
from edge_agent.errors import RelayError


class Relay(Protocol):
    async def power(self, on: bool) -> None: ...

    async def close(self) -> None: ...


class GpioRelay:
    def __init__(self, output: GpioOutput) -> None:
        from gpiozero import DigitalOutputDevice  # imported late: config loading stays light

        # initial_value=True: starting the agent must never cut a device's power
        self._device: Any = DigitalOutputDevice(
            output.pin, active_high=not output.active_low, initial_value=True
        )

    async def power(self, on: bool) -> None:
        await asyncio.to_thread(self._device.on if on else self._device.off)

    async def close(self) -> None:
        await asyncio.to_thread(self._device.close)


class ModbusRelay:
    def __init__(self, coil: ModbusCoil) -> None:
        self.coil = coil

    async def power(self, on: bool) -> None:
        from pymodbus.client import AsyncModbusTcpClient
        from pymodbus.exceptions import ModbusException

        client = AsyncModbusTcpClient(
            self.coil.host, port=self.coil.port, timeout=self.coil.timeout_s, retries=1
        )
        try:
            async with asyncio.timeout(self.coil.timeout_s * 3):
                if not await client.connect():
                    raise RelayError(f"relay module {self.coil.host}:{self.coil.port} unreachable")
                reply = await client.write_coil(self.coil.coil, on, device_id=self.coil.unit)
            if reply.isError():
                raise RelayError(f"relay module refused coil {self.coil.coil}: {reply}")
        except (ModbusException, TimeoutError, OSError) as exc:
            raise RelayError(f"relay module {self.coil.host}:{self.coil.port}: {exc}") from exc
        finally:
            client.close()

    async def close(self) -> None:
        return None


def make_relay(config: RelayConfig) -> Relay:
    if config.gpio is not None:
        return GpioRelay(config.gpio)
    assert config.modbus is not None
    return ModbusRelay(config.modbus)
