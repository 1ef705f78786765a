"""Modbus TCP throughput and the agent's own CPU cost per read, against the simulator on loopback.

    .venv/bin/python benchmarks/modbus_throughput.py [--seconds 10]

The simulator runs in its own process, so the CPU time measured here is the agent side only:
planning-free reads through ModbusBus (one transaction each) and full SDM630 polls (decode and
rules included). The goal compares that CPU time with the wire time the same requests need on an
RS-485 line at 9600 baud 8N1 (10 bits per byte, plus 3.5 characters of silence per frame).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from edge_agent.devices.base import DeviceContext
from edge_agent.devices.modbus.config import ModbusConfig
from edge_agent.devices.modbus.poller import ModbusPoller
from edge_agent.devices.shared_resources import SharedResources

BAUD = 9600
BITS_PER_BYTE = 10


def wire_time_s(registers: int) -> float:
    """One FC03/FC04 read of `registers` at 9600 8N1, with 3.5-character gaps after both frames."""
    request, reply = 8, 5 + 2 * registers
    return (request + reply + 7) * BITS_PER_BYTE / BAUD


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_simulator(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    scenario = workdir / "scenario.yaml"
    values = {"voltage_l1_v": 230.0, "voltage_l2_v": 231.0, "voltage_l3_v": 229.0, "frequency_hz": 50.0}
    scenario.write_text(
        yaml.safe_dump({"devices": [{"unit_id": 1, "profile": "eastron_sdm630", "values": values}]})
    )
    command = [sys.executable, "-m", "edge_agent.simulators.modbus_server", "--scenario", str(scenario)]
    process = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.readline()  # "modbus TCP simulator on ...": it listens
    return process


async def _measure(port: int, seconds: float) -> None:
    config = ModbusConfig.model_validate(
        {
            "type": "modbus",
            "device_id": "m",
            "profile": "eastron_sdm630",
            "transport": {"kind": "tcp", "host": "127.0.0.1", "port": port},
        }
    )
    poller = ModbusPoller(config, DeviceContext(Path("."), SharedResources()))
    await poller.open()
    assert poller._bus is not None
    await poller.poll()
    for label, registers in (("read 10 registers", 10), ("read 60 registers", 60)):
        count, cpu, wall = await _loop(lambda r=registers: poller._bus.read(1, "input", 0, r), seconds)  # type: ignore[union-attr,misc]  # a private attribute of the concrete poller, lambda default
        _report(label, count, cpu, wall, wire_time_s(registers), registers)
    wire = sum(wire_time_s(r.count) for r in poller.requests)
    regs = sum(r.count for r in poller.requests)
    count, cpu, wall = await _loop(poller.poll, seconds)
    _report(f"SDM630 poll ({len(poller.requests)} requests, decode + rules)", count, cpu, wall, wire, regs)
    await poller.close()


async def _loop(call: object, seconds: float) -> tuple[int, float, float]:
    count = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while time.perf_counter() - wall0 < seconds:
        await call()  # type: ignore[operator]  # the callable comes from a strategy typed as object
        count += 1
    return count, time.process_time() - cpu0, time.perf_counter() - wall0


def _report(label: str, count: int, cpu: float, wall: float, wire_s: float, registers: int) -> None:
    cpu_each = cpu / count
    print(f"{label}:")
    print(f"  {count / wall:8.0f} per second on loopback ({count} in {wall:.1f} s)")
    print(
        f"  agent CPU {cpu_each * 1e6:.0f} us each = {cpu_each * 1e6:.0f} ms per 1,000;"
        f" {cpu_each * 1000 / registers * 1000:.1f} ms per 1,000 registers"
    )
    print(
        f"  wire time at 9600 baud {wire_s * 1000:.1f} ms"
        f" -> agent overhead {cpu_each / wire_s * 100:.2f} % (goal < 5 %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as workdir:
        simulator = _start_simulator(Path(workdir), port)
        try:
            asyncio.run(_measure(port, args.seconds))
        finally:
            simulator.terminate()
            simulator.wait(timeout=10)


if __name__ == "__main__":
    main()
