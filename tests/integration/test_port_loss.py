"""Unplugging the serial adapter (removing the pty) and plugging it back, through the whole agent:
the device goes offline with cause `cabinet`, then back to ok, on the broker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fieldbus_support import Bench, opened, running_agent
from support.mosquitto import Broker
from support.subscriber import Received, Subscriber

from edge_agent.errors import DeviceError, DeviceUnreachable
from edge_agent.simulators.modbus_server import DeviceSpec, ModbusSimulator, Scenario
from edge_agent.simulators.pty_io import PtyEnd
from edge_agent.simulators.pty_link import PtyLink
from edge_agent.simulators.serial_radar import RadarScenario, RadarSimulator

pytestmark = pytest.mark.integration


def _state(device_id: str, state: str, after: float = 0.0) -> Any:
    def matches(message: Received) -> bool:
        return (
            message.at > after
            and message.topic.endswith(f"/device/{device_id}/state")
            and message.json()["state"] == state
        )

    return matches


async def _wait(subscriber: Subscriber, predicate: Any) -> dict[str, Any]:
    message = await asyncio.to_thread(subscriber.wait_for, predicate, 10)
    return message.json()  # type: ignore[no-any-return]  # decoded JSON is Any


async def test_radar_unplugged_and_restored(tmp_path: Path, broker: Broker, subscriber_factory: Any) -> None:
    subscriber = subscriber_factory(broker.host, broker.port, ["edge/v1/cab1/device/+/state"])
    subscriber.wait_connected()
    scenario = RadarScenario(protocol="csr", frame_interval_s=0.05, boot_on_start=False)
    link = PtyLink(tmp_path / "radar").start()

    def plug_in() -> tuple[PtyEnd, asyncio.Task[None]]:
        end = PtyEnd(link.simulator_end)
        end.open()
        return end, asyncio.get_running_loop().create_task(RadarSimulator(scenario, end).run())

    end, radar = plug_in()
    device = {
        "type": "serial",
        "device_id": "radar",
        "port": str(link.agent_end),
        "codec": "csr",
        "poll_interval_s": 0.2,
        "offline_after_failures": 2,
    }
    try:
        async with running_agent(tmp_path, broker.port, [device]):
            await _wait(subscriber, _state("radar", "ok"))
            radar.cancel()
            end.close()
            link.stop()  # the USB adapter is pulled out
            offline = await _wait(subscriber, _state("radar", "offline"))
            assert offline["cause"] == "cabinet"
            link.start()
            end, radar = plug_in()
            await _wait(subscriber, _state("radar", "ok", after=subscriber.messages()[-1].at))
    finally:
        radar.cancel()
        end.close()
        link.stop()


async def test_rtu_adapter_unplugged_and_restored(tmp_path: Path) -> None:
    scenario = Scenario(
        devices=[DeviceSpec(unit_id=1, profile="th_sensor_xy_md02", values={"temperature_c": 21.5})]
    )
    simulator = ModbusSimulator(scenario)
    link = PtyLink(tmp_path / "rs485").start()
    await simulator.start_rtu(str(link.simulator_end))
    bench = Bench(simulator, {"kind": "rtu", "port": str(link.agent_end)}, _context(tmp_path))
    device = {"type": "modbus", "device_id": "th", "profile": "th_sensor_xy_md02", "request_timeout_s": 0.2}
    try:
        async with opened(bench, [device]) as pollers:
            assert (await pollers["th"].poll()).values["temperature_c"] == 21.5
            await simulator.stop()
            link.stop()
            error = await _first_unreachable(pollers["th"])
            assert error.cause == "cabinet"
            link.start()
            await simulator.start_rtu(str(link.simulator_end))
            assert (await pollers["th"].poll()).values["temperature_c"] == 21.5
    finally:
        await simulator.stop()
        link.stop()


async def _first_unreachable(poller: Any) -> DeviceUnreachable:
    """The vanished port may first surface as a timeout; within a few polls it is unreachable."""
    for _ in range(3):
        try:
            await poller.poll()
        except DeviceUnreachable as exc:
            return exc
        except DeviceError:
            continue
    raise AssertionError("the lost port was never reported as unreachable")


def _context(tmp_path: Path) -> Any:
    from edge_agent.devices.base import DeviceContext
    from edge_agent.devices.shared_resources import SharedResources

    return DeviceContext(tmp_path, SharedResources())
