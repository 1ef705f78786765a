"""Memory soak: does the agent's memory grow while it runs? (issue 12, item 3; goal < 1 MB/day)

A cabinet at short intervals (2 Modbus TCP meters, 2 host devices, a link probe, an ONVIF camera,
all simulated), RSS sampled every second; after the warm-up the least-squares slope is printed as
MB per day. Then a flood of commands on `cmd/get_status`, and RSS before, right after and
after a pause.

    python benchmarks/memory_soak.py --seconds 600 --warmup 120
    python benchmarks/memory_soak.py --trace --seconds 300   # in-process, tracemalloc diffs

With `--trace` the agent runs in this process and the largest tracemalloc differences between
the end of the warm-up and the end of the run (and across the flood) are printed by line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psutil
import yaml
from common import broker, free_port, start_agent, stop_agent, write_config
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from table import emit

ROOT = "edge/v1/bench"


def cabinet(port: int, modbus_port: int, camera_port: int, interval_s: float) -> list[dict[str, Any]]:
    fast = {"poll_interval_s": interval_s}
    # The machine's own load must not flap the host devices: state changes are not what is measured.
    calm = {"warning": 1000, "critical": 1000}
    limits = {"limits": {"cpu_percent": calm, "memory_percent": calm, "disk_percent": calm}}
    return [
        *(
            {
                "type": "modbus",
                "device_id": f"meter{unit}",
                "profile": "eastron_sdm120",
                "unit_id": unit,
                "transport": {"kind": "tcp", "host": "127.0.0.1", "port": modbus_port},
                **fast,
            }
            for unit in (1, 2)
        ),
        {"type": "host", "device_id": "host", **fast, **limits},
        {"type": "host", "device_id": "host2", **fast, **limits},
        {
            "type": "link",
            "device_id": "uplink",
            "broker": {"host": "127.0.0.1", "port": port},
            "lan_switch": {"host": "127.0.0.1", "port": port},
            "poll_interval_s": interval_s * 4,
        },
        {
            "type": "onvif_camera",
            "device_id": "cam",
            "host": "127.0.0.1",
            "port": camera_port,
            "username": "admin",
            "password": {"file": "camera.pass"},
            "timeout_s": 40,  # generous: under tracemalloc the first full check set is slow
            "request_timeout_s": 20,
            "poll_interval_s": interval_s * 4,
        },
    ]


@contextlib.contextmanager
def simulators(workdir: Path) -> Iterator[tuple[int, int]]:
    modbus_port, camera_port = free_port(), free_port()
    scenario = workdir / "meters.yaml"
    values = {"voltage_v": 230.0, "current_a": 1.2, "active_power_w": 270.0}
    scenario.write_text(
        yaml.safe_dump(
            {
                "devices": [
                    {
                        "unit_id": unit,
                        "profile": "eastron_sdm120",
                        "values": values,
                        "noise": {"voltage_v": 0.5},
                    }
                    for unit in (1, 2)
                ]
            }
        )
    )
    (workdir / "camera.pass").write_text("bench-camera-pass\n")
    commands = [
        [
            sys.executable,
            "-m",
            "edge_agent.simulators.modbus_server",
            "--scenario",
            str(scenario),
            "--port",
            str(modbus_port),
        ],
        [
            sys.executable,
            "-m",
            "edge_agent.simulators.onvif_camera",
            "--port",
            str(camera_port),
            "--rtsp-port",
            str(free_port()),
            "--user",
            "admin",
            "--password-file",
            str(workdir / "camera.pass"),
        ],
    ]
    processes = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands]
    try:
        for port in (modbus_port, camera_port):
            _wait_port(port)
        yield modbus_port, camera_port
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


def _wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        time.sleep(0.05)
    raise RuntimeError(f"simulator on port {port} did not start")


def slope_mb_per_day(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of (seconds, RSS bytes), in MB per day."""
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_r = sum(r for _, r in samples) / n
    covariance = sum((t - mean_t) * (r - mean_r) for t, r in samples)
    variance = sum((t - mean_t) ** 2 for t, _ in samples) or 1.0
    return covariance / variance * 86400 / 1e6


def flood(port: int, count: int) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for index in range(count):
        client.publish(f"{ROOT}/cmd/get_status", f'{{"transaction": "flood-{index}"}}', qos=1)
    time.sleep(1)  # let the last publishes leave this process: a pause, not a synchronisation
    client.loop_stop()
    client.disconnect()


def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, simulators(Path(tmp)) as (modbus_port, camera_port):
        port = free_port()
        with broker(port):
            devices = cabinet(port, modbus_port, camera_port, args.interval)
            agent = start_agent(write_config(Path(tmp), port, devices))
            try:
                process = psutil.Process(agent.pid)
                samples = _sample(process, args.seconds)
                after_warmup = [(t, r) for t, r in samples if t >= args.warmup]
                first, last = after_warmup[0][1] / 2**20, after_warmup[-1][1] / 2**20
                emit(
                    "RSS slope after warm-up",
                    f"{slope_mb_per_day(after_warmup):+.2f} MB/day",
                    f"goal < 1; {args.seconds:.0f} s, warm-up {args.warmup:.0f} s, polls every "
                    f"{args.interval} s; RSS {first:.1f} -> {last:.1f} MiB; fds {process.num_fds()}",
                )
                before = process.memory_info().rss
                flood(port, args.flood)
                right_after = process.memory_info().rss
                time.sleep(args.settle)
                settled = process.memory_info().rss
                emit(
                    f"RSS around {args.flood} commands",
                    f"{before / 2**20:.1f} -> {right_after / 2**20:.1f} MiB",
                    f"{settled / 2**20:.1f} MiB {args.settle:.0f} s later",
                )
            finally:
                stop_agent(agent)


def _sample(process: psutil.Process, seconds: float) -> list[tuple[float, int]]:
    started = time.monotonic()
    samples = []
    while (elapsed := time.monotonic() - started) < seconds:
        samples.append((elapsed, process.memory_info().rss))
        time.sleep(1)
    return samples


async def trace(args: argparse.Namespace) -> None:
    """The same cabinet in this process, with tracemalloc snapshot differences."""
    from edge_agent.config import load_config
    from edge_agent.runtime.agent import Agent

    tracemalloc.start(args.frames)
    with tempfile.TemporaryDirectory() as tmp, simulators(Path(tmp)) as (modbus_port, camera_port):
        port = free_port()
        with broker(port):
            config = load_config(
                write_config(Path(tmp), port, cabinet(port, modbus_port, camera_port, args.interval))
            )
            agent, stop = Agent(config), asyncio.Event()
            task = asyncio.create_task(agent.run(stop))
            await asyncio.sleep(args.warmup)
            first, first_types = _snapshot(), _types()
            await asyncio.sleep(args.seconds - args.warmup)
            second = _snapshot()
            grown = (_types() - first_types).most_common(args.top)
            print("objects by type, growth:", ", ".join(f"{n} +{c}" for n, c in grown), flush=True)
            states = {device_id: s.health.state for device_id, s in agent.core.live.devices.items()}
            print(f"device states: {states}", flush=True)
            _print_top("steady run", second.compare_to(first, "traceback"), args.top)
            await asyncio.to_thread(flood, port, args.flood)
            await asyncio.sleep(args.settle)
            _print_top(f"{args.flood} commands", _snapshot().compare_to(second, "traceback"), args.top)
            stop.set()
            await task


def _snapshot() -> tracemalloc.Snapshot:
    gc.collect()
    return tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])


def _types() -> Counter[str]:
    gc.collect()
    return Counter(type(thing).__qualname__ for thing in gc.get_objects())


def _print_top(title: str, differences: list[tracemalloc.StatisticDiff], top: int) -> None:
    print(f"--- {title}: largest growth", flush=True)
    for difference in differences[:top]:
        print(f"{difference.size_diff / 1024:+9.1f} KiB {difference.count_diff:+7d} blocks")
        for line in difference.traceback.format()[-6:]:
            print(f"      {line}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--warmup", type=float, default=120)
    parser.add_argument("--interval", type=float, default=0.25, help="poll interval of the fast devices")
    parser.add_argument("--flood", type=int, default=10_000, help="commands in the flood")
    parser.add_argument("--settle", type=float, default=30)
    parser.add_argument("--trace", action="store_true", help="in-process, with tracemalloc differences")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--frames", type=int, default=4, help="traceback depth kept by tracemalloc")
    args = parser.parse_args()
    if args.trace:
        asyncio.run(trace(args))
    else:
        measure(args)


if __name__ == "__main__":
    main()
