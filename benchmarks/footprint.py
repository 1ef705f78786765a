"""Footprint: the agent against the floor (a minimal pymodbus+paho loop) on the same meters, one run.

SDM630-like meters (30 float32 values each, every value noisy so every poll carries all 30) are
polled every second over Modbus TCP and published to a private mosquitto. The agent
(`python -m edge_agent run`) and the floor (`benchmarks/floor_loop.py`) take turns on the same
simulator and broker. For each: RSS at steady state (the largest of the per-second samples after a
warm-up: what the goals and the issue's table, ThingsBoard and the floor included, are measured on),
the process's lifetime peak beside it (VmHWM: start-up included), CPU % of one core, poll->broker
latency (the simulator notes a poll's first request, a subscriber the telemetry's arrival) and
bytes per telemetry message; for the agent also start-up to READY=1 (sd_notify on a socket of
ours). The agent's package is byte-compiled first, as installed.
Goals (issue 16): 3 meters RSS <= 36 MB, CPU <= 0.25 %, p50 <= 2 ms; 30 meters CPU <= 1.2 %;
bytes/message <= 856 (ThingsBoard IoT Gateway, same 30 values); start-up <= 1 s.
Last measured (2026-11-30, shared 2-core machine, 20 s runs, before -> after importing only the
configured kinds): 3 meters RSS 48.1 -> 47.5 MB (floor 27.5); host alone 45.5 -> 44.2 MB. Then
(medians of 3 back-to-back rounds, pydantic plugins off, command handlers on first use): 3 meters
47.3 -> 47.1 MB steady, lifetime peak the same within 0.1 MB; host alone 44.1 -> 43.4 MB. Then
(medians of 3 back-to-back rounds, the stand-in for pydantic's plugin loader, config models on first
use): 3 meters 47.1 -> 46.2 MB, host alone 43.5 -> 42.6 MB (layers: `import_census.py`). Then
(2026-12-01, 3 rounds alternated with main, `run` without argparse, the broker connect without the
`idna` codec): 3 meters 46.16/46.14/46.20 -> 45.58/45.64/45.67 MB (peak 46.3 -> 45.7), host alone
42.6/42.6/42.6 -> 42.0/42.0/42.0 MB (floor 27.5). Then (the same way, `urllib.request` deferred:
edge_agent/lazy_urllib.py): 3 meters 45.58/45.58/45.56 -> 43.80/43.86/43.95 MB (peak 45.6 -> 44.0),
host alone 42.1/42.1/42.0 -> 40.7/40.9/40.8 MB.
CPU per poll (CPU seconds / polls seen by the simulator: steadier than % when polls run late), 30
meters, two back-to-back rounds, before -> after the per-value cuts: agent 2208, 2167 -> 2145, 2067
us; floor 767-1050 us in the same runs. Then side by side (`cpu_side_by_side.py --ref`, the two
agents and the floor at the same time, medians of 5 rounds of 40 s), before -> after the per-poll
cuts (two timers fewer per poll, no tasks per reporter wake, small Modbus read buffers): 30 meters
1758 -> 1533 us, agent/floor x2.22 -> x2.00 (floor 767 us); 3 meters 2333 -> 2333 us, x2.15 ->
x2.23 (floor 1083 us; there the 10 ms clock tick is 83 us per poll). Goal ratios: x1.36, x1.47.

    .venv/bin/python benchmarks/footprint.py [--seconds 60] [--meters 3 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
import yaml
from common import broker, compile_agent, free_port, lifetime_peak_mb, sdm630_meters, write_config
from paho.mqtt.enums import CallbackAPIVersion
from table import emit

from edge_agent.devices.modbus.profile import load_profile
from edge_agent.simulators.modbus_server import DeviceSpec, ModbusSimulator, Scenario

HERE = Path(__file__).parent
WARM_UP_S = 5.0
THINGSBOARD_BYTES = 856
UNITS = "meta"  # mqtt.telemetry_units of the agent: units in a retained meta message
_UNIT = re.compile(r"meter(\d+)/telemetry$")


@dataclass
class Clocks:
    """Poll starts seen by the simulator; telemetry arrivals (and their sizes) seen by a subscriber."""

    poll_start: dict[int, float] = field(default_factory=dict)
    polls: int = 0  # polls started (one per meter read + publish) since the last reset
    latencies_ms: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_request(self, data: bytes) -> None:
        # MBAP (7 bytes, unit id last), function code, start address: a poll starts at address 0.
        if len(data) >= 10 and data[8:10] == b"\x00\x00":
            self.poll_start[data[6]] = time.time()
            self.polls += 1

    def on_message(self, topic: str, payload: bytes) -> None:
        match = _UNIT.search(topic)
        if match is None:
            return
        started = self.poll_start.get(int(match.group(1)))
        with self.lock:
            self.sizes.append(len(payload))
            if started is not None:
                self.latencies_ms.append((time.time() - started) * 1000)

    def reset(self) -> None:
        with self.lock:
            self.latencies_ms.clear()
            self.sizes.clear()
            self.polls = 0


def _simulator(meters: int, clocks: Clocks) -> ModbusSimulator:
    names = [value.name for value in load_profile("eastron_sdm630").values]
    noisy = dict.fromkeys(names, 100.0) | {"power_factor_total": 0.9, "frequency_hz": 50.0}
    specs = [
        DeviceSpec(unit_id=unit, profile="eastron_sdm630", values=noisy, noise=dict.fromkeys(names, 0.5))
        for unit in range(1, meters + 1)
    ]
    simulator = ModbusSimulator(Scenario(devices=specs))
    original = simulator._trace

    def trace(sending: bool, data: bytes) -> bytes:
        if not sending:
            clocks.on_request(data)
        return original(sending, data)

    simulator._trace = trace  # type: ignore[method-assign]  # hooks the wire trace for timing
    return simulator


def _subscriber(port: int, clocks: Clocks) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="footprint")
    client.on_connect = lambda c, *_: c.subscribe([("edge/#", 1), ("floor/#", 1)])
    client.on_message = lambda _c, _u, message: clocks.on_message(message.topic, message.payload)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _agent_command(workdir: Path, broker_port: int, modbus_port: int, meters: int) -> list[str]:
    devices = sdm630_meters(modbus_port, range(1, meters + 1))
    config = write_config(workdir, broker_port, devices)
    document = yaml.safe_load(config.read_text())
    document["mqtt"]["telemetry_units"] = UNITS  # as for a new cabinet (docs/mqtt.md)
    config.write_text(yaml.safe_dump(document))
    return [sys.executable, "-m", "edge_agent", "run", "--config", str(config)]


def _floor_command(broker_port: int, modbus_port: int, meters: int) -> list[str]:
    return [
        sys.executable,
        str(HERE / "floor_loop.py"),
        f"--modbus-port={modbus_port}",
        f"--broker-port={broker_port}",
        f"--meters={meters}",
    ]


def _notify_socket(workdir: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(workdir / "notify.sock"))
    sock.setblocking(False)
    return sock


async def _ready_after(sock: socket.socket, started: float, timeout_s: float = 30) -> float | None:
    """Seconds from spawn to READY=1 on the notify socket (None: it never came)."""
    loop = asyncio.get_running_loop()
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        try:
            async with asyncio.timeout(deadline - time.monotonic()):
                data = await loop.sock_recv(sock, 4096)
        except TimeoutError:
            return None
        if b"READY=1" in data:
            return time.monotonic() - started
    return None


async def _measure(process: psutil.Process, clocks: Clocks, seconds: float) -> dict[str, Any]:
    await asyncio.sleep(WARM_UP_S)  # imports, connections, first full refresh
    clocks.reset()
    cpu0, wall0 = sum(process.cpu_times()[:2]), time.monotonic()
    peak_rss = threads = 0
    while time.monotonic() - wall0 < seconds:
        await asyncio.sleep(1)
        peak_rss = max(peak_rss, process.memory_info().rss)
        threads = max(threads, process.num_threads())
    cpu_s = sum(process.cpu_times()[:2]) - cpu0
    cpu = cpu_s / (time.monotonic() - wall0) * 100
    with clocks.lock:
        latencies, sizes, polls = list(clocks.latencies_ms), list(clocks.sizes), clocks.polls
    return {
        "rss_mb": peak_rss / 2**20,
        "hwm_mb": lifetime_peak_mb(process.pid),
        "cpu_percent": cpu,
        # CPU per meter read + publish: steadier than % on a loaded machine (a late poll is fewer polls).
        "us_per_poll": cpu_s * 1e6 / polls if polls else float("nan"),
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "bytes_per_message": statistics.mean(sizes) if sizes else float("nan"),
        "messages": len(sizes),
        "threads": threads,
    }


async def _contender(name: str, meters: int, seconds: float) -> dict[str, Any]:
    clocks = Clocks()
    simulator = _simulator(meters, clocks)
    modbus_port, broker_port = free_port(), free_port()
    await simulator.start_tcp("127.0.0.1", modbus_port)
    with tempfile.TemporaryDirectory() as tmp, broker(broker_port):
        workdir = Path(tmp)
        subscriber = _subscriber(broker_port, clocks)
        notify = _notify_socket(workdir)
        env = {**os.environ, "NOTIFY_SOCKET": str(workdir / "notify.sock")}
        if name == "agent":
            command = _agent_command(workdir, broker_port, modbus_port, meters)
        else:
            command = _floor_command(broker_port, modbus_port, meters)
        started = time.monotonic()
        # Spawned before measuring: the blocking spawn cannot disturb the figures.
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)  # noqa: ASYNC220 - spawned once, before measuring
        try:
            ready_s = await _ready_after(notify, started) if name == "agent" else None
            figures = await _measure(psutil.Process(process.pid), clocks, seconds)
            figures["ready_s"] = ready_s
            return figures
        finally:
            process.terminate()
            process.wait(timeout=20)
            notify.close()
            subscriber.loop_stop()
            await simulator.stop()


def compare(meters: int, seconds: float) -> dict[str, dict[str, Any]]:
    """Figures of the agent and of the floor on `meters` meters, one after the other."""
    return {name: asyncio.run(_contender(name, meters, seconds)) for name in ("agent", "floor")}


GOALS = {3: "goal RSS <= 36 MB, CPU <= 0.25 %, p50 <= 2 ms", 30: "goal CPU <= 1.2 %"}
CPU_GOALS = {3: 0.25, 30: 1.2}  # % of a core, as CPU per poll: % x 10,000 us / polls per second


def _goal(meters: int, key: str) -> str:
    if key == "hwm_mb":
        return "start-up included"
    if key == "us_per_poll" and meters in CPU_GOALS:
        return f"goal <= {CPU_GOALS[meters] * 10_000 / meters:.0f} us"
    return GOALS.get(meters, "")


def report(meters: int, seconds: float) -> None:
    """Rows for the bench table: the agent beside the floor on `meters` meters, with the ratios."""
    figures = compare(meters, seconds)
    agent, floor = figures["agent"], figures["floor"]
    what = f"{meters} meters x 30 float32, 1 s, {seconds:.0f} s"
    for key, unit, label in (
        ("rss_mb", "MB", "RSS steady"),
        ("hwm_mb", "MB", "RSS lifetime peak (VmHWM)"),
        ("cpu_percent", "%", "CPU"),
        ("us_per_poll", "us", "CPU per poll (meter read + publish)"),
        ("p50_ms", "ms", "p50"),
    ):
        ratio = agent[key] / max(floor[key], 1e-6)
        emit(
            f"{what}: agent {label}",
            f"{agent[key]:.2f} {unit}",
            f"floor {floor[key]:.2f} {unit}, agent/floor x{ratio:.2f}; " + _goal(meters, key),
        )
    emit(
        f"{what}: bytes/telemetry message",
        f"{agent['bytes_per_message']:.0f} B",
        f"floor {floor['bytes_per_message']:.0f} B, ThingsBoard {THINGSBOARD_BYTES} B; units in meta",
    )
    emit(f"{what}: threads (peak)", f"agent {agent['threads']}", f"floor {floor['threads']}")
    ready = agent["ready_s"]
    emit("agent start-up to READY=1", "never" if ready is None else f"{ready:.2f} s", f"{what}; goal <= 1 s")


def host_alone(seconds: float) -> dict[str, Any]:
    """RSS and CPU of an agent whose only device is the host (goal: RSS <= 34 MB)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, broker(port):
        devices = [{"type": "host", "device_id": "host", "poll_interval_s": 5}]
        config = write_config(Path(tmp), port, devices)
        command = [sys.executable, "-m", "edge_agent", "run", "--config", str(config)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        try:
            return asyncio.run(_measure(psutil.Process(process.pid), Clocks(), seconds))
        finally:
            process.terminate()
            process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--meters", type=int, nargs="+", default=[3, 30])
    args = parser.parse_args()
    compile_agent()
    for meters in args.meters:
        report(meters, args.seconds)
    host = host_alone(min(args.seconds, 30))
    emit(
        "host device alone: agent RSS steady",
        f"{host['rss_mb']:.1f} MB",
        f"lifetime peak {host['hwm_mb']:.1f} MB, CPU {host['cpu_percent']:.2f} %; goal <= 34 MB (steady)",
    )


if __name__ == "__main__":
    main()
