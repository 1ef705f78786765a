"""The shared RS-485 bus and the agent around it: isolation of a dead slave, requests per cycle,
mains loss reaching the broker as a `power_supply` event."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fieldbus_support import modbus_bench, opened, running_agent
from support.mosquitto import Broker
from support.subscriber import Received

from edge_agent.simulators.modbus_server import DeviceSpec, Scenario, Step

pytestmark = pytest.mark.integration

INTERVAL_S = 0.2
WINDOW_S = 3.0
METER = {"voltage_v": 230.0, "frequency_hz": 50.0}


async def _poll_rates(agent: Any, ids: list[str], window_s: float) -> dict[str, float]:
    before = {i: agent.live.devices[i].polls_ok for i in ids}
    await asyncio.sleep(window_s)  # measuring a rate over a window, not synchronising
    return {i: (agent.live.devices[i].polls_ok - before[i]) / window_s for i in ids}


async def test_silent_slave_does_not_slow_the_others(
    tmp_path: Path, broker: Broker, subscriber_factory: Any
) -> None:
    scenario = Scenario(
        devices=[DeviceSpec(unit_id=u, profile="eastron_sdm120", values=METER) for u in (1, 2, 3, 4)]
    )
    subscriber = subscriber_factory(broker.host, broker.port, ["edge/v1/cab1/device/+/state"])
    subscriber.wait_connected()
    async with modbus_bench(scenario, "rtu", tmp_path) as bench:
        devices = [
            {
                "type": "modbus",
                "device_id": f"meter{u}",
                "profile": "eastron_sdm120",
                "unit_id": u,
                "transport": bench.transport,
                "poll_interval_s": INTERVAL_S,
                "request_timeout_s": 0.1,
                "offline_after_failures": 3,
            }
            for u in (1, 2, 3, 4)
        ]
        async with running_agent(tmp_path, broker.port, devices) as agent:
            alive = ["meter1", "meter2", "meter3"]
            await asyncio.sleep(0.5)  # let every loop settle into its rhythm
            baseline = await _poll_rates(agent, alive, WINDOW_S)
            bench.simulator.set_fault(4, "silent")
            during = await _poll_rates(agent, alive, WINDOW_S)

            def offline(message: Received) -> bool:
                return message.topic.endswith("/meter4/state") and message.json()["state"] == "offline"

            state = (await asyncio.to_thread(subscriber.wait_for, offline, 10)).json()
    for device in alive:
        assert during[device] >= 0.8 * baseline[device], (baseline, during)
        assert during[device] >= 0.8 / INTERVAL_S, during
    assert state["cause"] == "device"
    assert agent.live.devices["meter4"].polls_failed >= 3
    assert all(agent.live.devices[d].health.state == "ok" for d in alive)


async def test_sdm630_requests_per_cycle_counted_at_the_server(tmp_path: Path) -> None:
    scenario = Scenario(
        devices=[DeviceSpec(unit_id=1, profile="eastron_sdm630", values={"voltage_l1_v": 230.0})]
    )
    async with modbus_bench(scenario, "tcp", tmp_path) as bench:
        device = {"type": "modbus", "device_id": "meter", "profile": "eastron_sdm630", "unit_id": 1}
        async with opened(bench, [device]) as pollers:
            await pollers["meter"].poll()  # the first poll also connects
            before = bench.simulator.requests
            for _ in range(5):
                result = await pollers["meter"].poll()
            per_cycle = (bench.simulator.requests - before) / 5
    assert len([k for k in result.values if k != "modbus_errors_total"]) == 30
    assert per_cycle <= 2, per_cycle


@pytest.mark.parametrize("fault", ["exception", "garbage", "crc", "short", "silent"])
async def test_faulty_replies_are_counted_and_the_poller_recovers(tmp_path: Path, fault: str) -> None:
    scenario = Scenario(devices=[DeviceSpec(unit_id=2, profile="eastron_sdm120", values=METER)])
    async with modbus_bench(scenario, "rtu", tmp_path) as bench:
        device = {
            "type": "modbus",
            "device_id": "m",
            "profile": "eastron_sdm120",
            "unit_id": 2,
            "request_timeout_s": 0.2,
        }
        async with opened(bench, [device]) as pollers:
            poller = pollers["m"]
            await poller.poll()
            bench.simulator.set_fault(2, fault)  # type: ignore[arg-type]  # a test double or a deliberately wrong value
            with pytest.raises(Exception):  # noqa: B017 - each fault surfaces as its own DeviceError
                await poller.poll()
            bench.simulator.set_fault(2, "none")
            result = await poller.poll()
    expected = {
        "exception": "exception_reply",
        "garbage": "bad_frame",
        "crc": "bad_frame",
        "short": "bad_length",
    }
    assert poller.errors[expected.get(fault, "timeout")] >= 1, dict(poller.errors)
    assert result.values["voltage_v"] == 230.0


async def test_mains_loss_reaches_the_broker(tmp_path: Path, broker: Broker, subscriber_factory: Any) -> None:
    scenario = Scenario(
        devices=[
            DeviceSpec(
                unit_id=1, profile="eastron_sdm630", values={f"voltage_l{n}_v": 230.0 for n in (1, 2, 3)}
            )
        ],
        steps=[Step(at_s=1.0, unit_id=1, set={f"voltage_l{n}_v": 0.0 for n in (1, 2, 3)})],
    )
    subscriber = subscriber_factory(broker.host, broker.port, ["edge/v1/cab1/event"])
    subscriber.wait_connected()
    async with modbus_bench(scenario, "tcp", tmp_path) as bench:
        device = {
            "type": "modbus",
            "device_id": "meter",
            "profile": "eastron_sdm630",
            "transport": bench.transport,
            "poll_interval_s": 0.2,
        }
        async with running_agent(tmp_path, broker.port, [device]):
            script = asyncio.get_running_loop().create_task(bench.simulator.run_scenario())

            def mains_lost(message: Received) -> bool:
                return json.loads(message.payload).get("type") == "mains_lost"

            event = (await asyncio.to_thread(subscriber.wait_for, mains_lost, 10)).json()
            await script
    assert event["cause"] == "power_supply"
    assert event["device_id"] == "meter"
    assert event["severity"] == "critical"
