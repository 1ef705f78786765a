"""Serial devices over socat pty pairs: radar streams, illuminator replies, port loss and return."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from support.agent import wait_until

from edge_agent.devices.base import DeviceContext
from edge_agent.devices.serial.config import SerialConfig
from edge_agent.devices.serial.poller import SerialPoller
from edge_agent.devices.shared_resources import SharedResources
from edge_agent.errors import DeviceUnreachable
from edge_agent.simulators.illuminator import IlluminatorSimulator, LightScenario
from edge_agent.simulators.pty_io import PtyEnd
from edge_agent.simulators.pty_link import PtyLink
from edge_agent.simulators.serial_radar import RadarScenario, RadarSimulator

pytestmark = pytest.mark.integration


def _poller(port: Path, tmp_path: Path, **settings: Any) -> SerialPoller:
    config = SerialConfig.model_validate(
        {"type": "serial", "device_id": "dev", "port": str(port), **settings}
    )
    return SerialPoller(config, DeviceContext(tmp_path, SharedResources()))


@pytest.mark.parametrize("protocol", ["csr", "csr_direction", "csr_ascii", "stalker", "ascii_line"])
async def test_radar_stream_is_decoded(protocol: str, tmp_path: Path) -> None:
    scenario = RadarScenario(protocol=protocol, frame_interval_s=0.02, vehicle_every_s=0.1, speeds_kmh=[77])
    with PtyLink(tmp_path / "radar") as link:
        end = PtyEnd(link.simulator_end)
        end.open()
        poller = _poller(link.agent_end, tmp_path, codec=protocol)
        await poller.open()
        simulator = asyncio.get_running_loop().create_task(RadarSimulator(scenario, end).run())
        try:

            async def seen() -> bool:
                return poller.radar is not None and poller.radar.speed_frames >= 3

            await wait_until(seen)
            result = await poller.poll()
        finally:
            simulator.cancel()
            await poller.close()
            end.close()
    assert result.values["last_speed_kmh"] == 77
    # The boot signature is a CSR feature; to the other codecs it is garbage to resynchronise past.
    boots = 1 if protocol.startswith("csr") else 0
    assert result.values["restarts_total"] == boots
    assert [e.type for e in result.events] == ["radar_restarted"] * boots
    assert result.values["frames_per_s"] > 0
    assert result.values["bad_frames_total"] == 0


async def test_radar_silence_restarts_and_bad_speeds(tmp_path: Path) -> None:
    scenario = RadarScenario(protocol="csr_ascii", frame_interval_s=0.02, boot_on_start=False)
    with PtyLink(tmp_path / "radar") as link:
        end = PtyEnd(link.simulator_end)
        end.open()
        poller = _poller(
            link.agent_end, tmp_path, codec="csr_ascii", radar={"silence_fault_s": 0.3, "restarts_fault": 2}
        )
        await poller.open()
        radar_sim = RadarSimulator(scenario, end)
        task = asyncio.get_running_loop().create_task(radar_sim.run())
        assert poller.radar is not None
        radar = poller.radar
        try:
            radar_sim.send_speed(400)  # beyond the physical range
            radar_sim.boot()
            radar_sim.boot()

            async def counted() -> bool:
                return radar.bad_frames >= 1 and radar.restarts_total >= 2

            await wait_until(counted)
            codes = {f.code for f in (await poller.poll()).faults}
            assert codes == {"radar_restarting"}
            radar_sim.silent = True
            await asyncio.sleep(0.6)
            codes = {f.code for f in (await poller.poll()).faults}
            assert "radar_silent" in codes
        finally:
            task.cancel()
            await poller.close()
            end.close()


async def test_illuminator_values_and_error_bits(tmp_path: Path) -> None:
    scenario = LightScenario(
        values={"led_temperature_c": -5, "supply_voltage_v": 12.3, "led_string_2_v": 9.75, "boot_count": 4}
    )
    with PtyLink(tmp_path / "light") as link:
        end = PtyEnd(link.simulator_end)
        end.open()
        simulator = IlluminatorSimulator(scenario, end)
        end.on_readable(simulator.on_bytes)
        poller = _poller(link.agent_end, tmp_path, codec="vivotek_illuminator")
        await poller.open()
        try:
            first = await poller.poll()
            simulator.values.update(
                {"error_bits": (1 << 8) | (1 << 17), "led_temperature_c": 90, "boot_count": 5}
            )
            second = await poller.poll()
            simulator.garbage = True
            with pytest.raises(Exception, match="no reply"):
                await poller.poll()
        finally:
            await poller.close()
            end.close()
    assert first.values["led_temperature_c"] == -5
    assert first.values["supply_voltage_v"] == 12.3
    assert first.values["led_string_2_v"] == 9.75
    assert first.faults == []
    codes = {f.code: f.severity for f in second.faults}
    assert codes == {
        "led_driver_1_voltage": "critical",
        "temperature_sensor_failed": "critical",
        "led_temperature_high": "critical",
    }
    assert [e.type for e in second.events] == ["illuminator_restarted"]


async def test_unplugged_port_is_cabinet_then_back(tmp_path: Path) -> None:
    scenario = RadarScenario(protocol="csr", frame_interval_s=0.02, boot_on_start=False)
    link = PtyLink(tmp_path / "radar").start()
    end = PtyEnd(link.simulator_end)
    end.open()
    poller = _poller(link.agent_end, tmp_path, codec="csr")
    await poller.open()
    sim = asyncio.get_running_loop().create_task(RadarSimulator(scenario, end).run())
    try:
        assert (await poller.poll()).faults == []
        sim.cancel()
        end.close()
        link.stop()  # the adapter is pulled out

        async def lost() -> bool:
            return not poller.port.is_open

        await wait_until(lost)
        with pytest.raises(DeviceUnreachable) as raised:
            await poller.poll()
        assert raised.value.cause == "cabinet"
        link.start()  # plugged back in: same path, a new pty
        end = PtyEnd(link.simulator_end)
        end.open()
        sim = asyncio.get_running_loop().create_task(RadarSimulator(scenario, end).run())
        result = await poller.poll()
        assert result.faults == []
    finally:
        sim.cancel()
        await poller.close()
        end.close()
        link.stop()
