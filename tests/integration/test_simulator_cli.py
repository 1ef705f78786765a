"""The simulators as the demo script starts them: standalone processes, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import yaml
from support.ports import free_port

from edge_agent.devices.base import DeviceContext
from edge_agent.devices.modbus.config import ModbusConfig
from edge_agent.devices.modbus.poller import ModbusPoller
from edge_agent.devices.serial.config import SerialConfig
from edge_agent.devices.serial.poller import SerialPoller
from edge_agent.devices.shared_resources import SharedResources

pytestmark = pytest.mark.integration


@asynccontextmanager
async def simulator(module: str, *args: str) -> AsyncIterator[str]:
    """Start `python -m edge_agent.simulators.<module>`, yield its ready line, SIGTERM it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", f"edge_agent.simulators.{module}", *args, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(10):
            ready = (await process.stdout.readline()).decode()
        assert ready, f"{module} exited before it was ready"
        yield ready
    finally:
        process.terminate()
        async with asyncio.timeout(10):
            code = await process.wait()
    assert code == 0


def _scenario(tmp_path: Path, content: dict[str, object]) -> str:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(content))
    return str(path)


async def _modbus_poll(tmp_path: Path, transport: dict[str, object]) -> dict[str, object]:
    config = ModbusConfig.model_validate(
        {"type": "modbus", "device_id": "m", "profile": "eastron_sdm120", "transport": transport}
    )
    poller = ModbusPoller(config, DeviceContext(tmp_path, SharedResources()))
    await poller.open()
    try:
        return dict((await poller.poll()).values)
    finally:
        await poller.close()


async def test_modbus_tcp_and_rtu(tmp_path: Path) -> None:
    scenario = _scenario(
        tmp_path, {"devices": [{"unit_id": 1, "profile": "eastron_sdm120", "values": {"voltage_v": 231.5}}]}
    )
    port = free_port()
    async with simulator("modbus_server", "--scenario", scenario, "--port", str(port)):
        values = await _modbus_poll(tmp_path, {"kind": "tcp", "host": "127.0.0.1", "port": port})
    assert values["voltage_v"] == 231.5
    link = tmp_path / "rs485"
    async with simulator("modbus_server", "--scenario", scenario, "--link", str(link)):
        values = await _modbus_poll(tmp_path, {"kind": "rtu", "port": str(link), "parity": "N"})
    assert values["voltage_v"] == 231.5
    assert not link.exists()  # socat went with the simulator


async def test_radar_and_illuminator(tmp_path: Path) -> None:
    link = tmp_path / "radar"
    radar = _scenario(
        tmp_path,
        {"protocol": "csr_ascii", "frame_interval_s": 0.02, "vehicle_every_s": 0.1, "speeds_kmh": [64]},
    )
    async with simulator("serial_radar", "--scenario", radar, "--link", str(link)):
        config = SerialConfig.model_validate(
            {"type": "serial", "device_id": "r", "port": str(link), "codec": "csr_ascii"}
        )
        poller = SerialPoller(config, DeviceContext(tmp_path, SharedResources()))
        await poller.open()
        try:
            for _ in range(100):  # up to 5 s for two vehicles
                result = await poller.poll()
                if result.values["speed_frames_total"] >= 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            await poller.close()
    assert result.values["last_speed_kmh"] == 64
    light = _scenario(tmp_path, {"values": {"led_temperature_c": 38, "supply_voltage_v": 12.2}})
    async with simulator("illuminator", "--scenario", light, "--link", str(tmp_path / "light")):
        config = SerialConfig.model_validate(
            {
                "type": "serial",
                "device_id": "l",
                "port": str(tmp_path / "light"),
                "codec": "vivotek_illuminator",
            }
        )
        poller = SerialPoller(config, DeviceContext(tmp_path, SharedResources()))
        await poller.open()
        try:
            result = await poller.poll()
        finally:
            await poller.close()
    assert result.values["led_temperature_c"] == 38
    assert result.values["supply_voltage_v"] == 12.2
