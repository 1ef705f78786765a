"""The Modbus TCP relay module behind the same Relay interface, against pymodbus' own server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge_agent.actions.config import ModbusCoil
from edge_agent.actions.relay import ModbusRelay
from edge_agent.errors import RelayError

pytestmark = pytest.mark.integration
UNIT, COIL = 3, 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def module() -> AsyncIterator[int]:
    """A relay module: one Modbus device with 64 coils on 127.0.0.1; yields its port."""
    port = _free_port()
    device = SimDevice(
        id=UNIT, simdata=[SimData(0, count=4, values=0, datatype=DataType.REGISTERS)], use_bit_addressing=True
    )
    server = ModbusTcpServer(device, address=("127.0.0.1", port))
    task = asyncio.create_task(server.serve_forever())
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2)
    for _ in range(100):  # the server has no "listening" event: try to connect until it answers
        if await client.connect():
            break
        await asyncio.sleep(0.05)
    client.close()
    yield port
    await server.shutdown()
    task.cancel()


async def _coil(port: int) -> bool:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2)
    await client.connect()
    try:
        return bool((await client.read_coils(COIL, count=1, device_id=UNIT)).bits[0])
    finally:
        client.close()


async def test_the_coil_follows_power(module: int) -> None:
    relay = ModbusRelay(ModbusCoil(host="127.0.0.1", port=module, unit=UNIT, coil=COIL))
    await relay.power(True)
    assert await _coil(module) is True
    await relay.power(False)
    assert await _coil(module) is False


async def test_refusals_and_silence_are_relay_errors(module: int) -> None:
    wrong_unit = ModbusRelay(ModbusCoil(host="127.0.0.1", port=module, unit=9, coil=COIL, timeout_s=0.5))
    with pytest.raises(RelayError, match="refused"):
        await wrong_unit.power(True)
    nobody = ModbusRelay(ModbusCoil(host="127.0.0.1", port=_free_port(), unit=UNIT, coil=COIL, timeout_s=0.5))
    with pytest.raises(RelayError):
        await nobody.power(True)
