"""Yardstick: 3 SDM630-like meters (30 float32 input registers each) polled every 1 s over Modbus TCP,
published to a local mosquitto. Goals: agent RSS <= 35 MB, CPU <= 0.5 %, p50 poll-to-publish <= 5 ms.

    .venv/bin/python benchmarks/modbus_yardstick.py [--seconds 60]

The agent runs as its own process (`python -m edge_agent run`), so RSS and CPU are its own. The
simulator (in this process) notes the wall-clock time of each poll's first request; the subscriber
(also here) the arrival of the telemetry message: the difference is poll-to-publish latency,
including the durable outbox and the broker hop. Values carry noise, so every poll publishes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
from common import broker, free_port, sdm630_meters, write_config
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.simulators.modbus_server import DeviceSpec, ModbusSimulator, Scenario

METERS = (1, 2, 3)
NOISY = {f"voltage_l{n}_v": 230.0 for n in (1, 2, 3)} | {"frequency_hz": 50.0, "power_total_w": 880.0}


def _agent_config(workdir: Path, broker_port: int, modbus_port: int) -> Path:
    return write_config(workdir, broker_port, sdm630_meters(modbus_port, METERS))


class Clocks:
    """Poll starts seen by the simulator, telemetry arrivals seen by the subscriber (wall clock)."""

    def __init__(self) -> None:
        self.poll_start: dict[int, float] = {}
        self.last_reply: dict[int, float] = {}
        self.latencies_ms: list[float] = []
        self.modbus_ms: list[float] = []  # first request to last reply: the field-bus share

    def on_request(self, data: bytes) -> None:
        # MBAP (7 bytes: unit id last), function code, start address: a poll starts at address 0.
        if len(data) >= 10 and data[8:10] == b"\x00\x00":
            self.poll_start[data[6]] = time.time()

    def on_reply(self, data: bytes) -> None:
        if len(data) > 6:
            self.last_reply[data[6]] = time.time()

    def on_telemetry(self, topic: str) -> None:
        unit = int(topic.split("/")[-2].removeprefix("meter"))
        started = self.poll_start.get(unit)
        if started is not None:
            self.latencies_ms.append((time.time() - started) * 1000)
            self.modbus_ms.append((self.last_reply.get(unit, started) - started) * 1000)


def _subscribe(port: int, clocks: Clocks) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="yardstick")
    client.on_connect = lambda c, *_: c.subscribe("edge/v1/bench/device/+/telemetry", qos=1)
    client.on_message = lambda _c, _u, message: clocks.on_telemetry(message.topic)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


async def _run(seconds: float) -> None:
    clocks = Clocks()
    scenario = Scenario(
        devices=[
            DeviceSpec(unit_id=u, profile="eastron_sdm630", values=NOISY, noise=dict.fromkeys(NOISY, 0.5))
            for u in METERS
        ]
    )
    simulator = ModbusSimulator(scenario)
    original = simulator._trace

    def trace(sending: bool, data: bytes) -> bytes:
        if sending:
            clocks.on_reply(data)
        else:
            clocks.on_request(data)
        return original(sending, data)

    simulator._trace = trace  # type: ignore[method-assign]  # the test replaces the method with a double
    modbus_port, broker_port = free_port(), free_port()
    await simulator.start_tcp("127.0.0.1", modbus_port)
    with tempfile.TemporaryDirectory() as tmp, broker(broker_port):
        workdir = Path(tmp)
        subscriber = _subscribe(broker_port, clocks)
        config = _agent_config(workdir, broker_port, modbus_port)
        # Started once, before measuring: the blocking spawn cannot disturb the figures.
        agent = subprocess.Popen([sys.executable, "-m", "edge_agent", "run", "--config", str(config)])  # noqa: ASYNC220 - a benchmark starting the agent before its measuring loop
        try:
            await _measure(psutil.Process(agent.pid), clocks, seconds)
        finally:
            agent.terminate()
            agent.wait(timeout=20)
            subscriber.loop_stop()
            await simulator.stop()


async def _measure(process: psutil.Process, clocks: Clocks, seconds: float) -> None:
    await asyncio.sleep(5)  # warm-up: imports, connections, first full refresh
    clocks.latencies_ms.clear()
    clocks.modbus_ms.clear()
    cpu0, wall0 = sum(process.cpu_times()[:2]), time.monotonic()
    peak_rss = 0
    while time.monotonic() - wall0 < seconds:
        await asyncio.sleep(1)
        peak_rss = max(peak_rss, process.memory_info().rss)
    cpu_percent = (sum(process.cpu_times()[:2]) - cpu0) / (time.monotonic() - wall0) * 100
    latencies = sorted(clocks.latencies_ms)
    print(f"3 x SDM630 (30 float32 each), 1 s polls, Modbus TCP -> agent -> mosquitto, {seconds:.0f} s:")
    print(f"  agent RSS peak   {peak_rss / 2**20:6.1f} MB   (goal <= 35 MB)")
    print(f"  agent CPU        {cpu_percent:6.2f} %    (goal <= 0.5 %; {os.cpu_count()} cores)")
    if latencies:
        p50 = statistics.median(latencies)
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(
            f"  poll-to-publish  p50 {p50:.1f} ms, p95 {p95:.1f} ms"
            f" over {len(latencies)} messages (goal p50 <= 5 ms)"
        )
        print(
            f"    of which Modbus (first request to last reply)"
            f" p50 {statistics.median(clocks.modbus_ms):.1f} ms"
        )
    else:
        print("  no telemetry received")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    asyncio.run(_run(parser.parse_args().seconds))


if __name__ == "__main__":
    main()
