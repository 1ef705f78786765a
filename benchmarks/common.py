"""Shared pieces of the benchmarks: a private mosquitto, an agent process, a recording subscriber."""

from __future__ import annotations

import getpass
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

HERE = Path(__file__).parent


def compile_agent() -> None:
    """Byte-compile the agent's package, as an installed package is (pip, Debian): start-up and RSS
    figures must not include compiling ~100 modules from source on every start (this happens when
    the checkout is not writable or PYTHONDONTWRITEBYTECODE is set)."""
    import compileall

    import edge_agent

    compileall.compile_dir(Path(edge_agent.__file__).parent, quiet=1)


def lifetime_peak_mb(pid: int) -> float:
    """VmHWM: the largest RSS the process has had, start-up included (NaN off Linux)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def broker(port: int, receive_maximum: int = 20) -> Iterator[subprocess.Popen[bytes]]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    conf = workdir / "mosquitto.conf"
    # A large queue: the broker must not drop what a slow subscriber has not taken yet (0, "no limit",
    # makes mosquitto 2.0.11 drop the client after a refused publish).
    conf.write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
        "max_queued_messages 1000000\nset_tcp_nodelay true\n"  # no Nagle delay on small messages
        f"max_inflight_messages {receive_maximum}\n"  # the Receive Maximum the broker grants clients
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def sdm630_meters(modbus_port: int, units: Iterable[int]) -> list[dict[str, Any]]:
    """SDM630-like meters behind one Modbus TCP simulator, polled every second: the meter cabinet."""
    transport = {"kind": "tcp", "host": "127.0.0.1", "port": modbus_port}
    return [
        {
            "type": "modbus",
            "device_id": f"meter{unit}",
            "profile": "eastron_sdm630",
            "unit_id": unit,
            "transport": transport,
            "poll_interval_s": 1.0,
        }
        for unit in units
    ]


def write_config(directory: Path, port: int, devices: list[dict[str, Any]], **extra: Any) -> Path:
    document = {
        "cabinet": {"id": "bench"},
        "mqtt": {"host": "127.0.0.1", "port": port, "reconnect_min_s": 0.2, "reconnect_max_s": 1},
        "storage": {"data_dir": str(directory / "data")},
        "logging": {"level": "WARNING"},
        "devices": devices,
        **extra,
    }
    path = directory / "bench.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def start_agent(config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EDGE_AGENT_PLUGINS": "kinds", "PYTHONPATH": str(HERE)}
    return subprocess.Popen(
        [sys.executable, "-m", "edge_agent", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def stop_agent(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


class Recorder:
    """Subscribes to everything under the bench cabinet and keeps (arrival time, topic, payload)."""

    def __init__(self, port: int, topic: str = "edge/v1/bench/#") -> None:
        self.messages: list[tuple[float, str, bytes]] = []
        self.lock = threading.Condition()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((time.time(), message.topic, bytes(message.payload)))
            self.lock.notify_all()

    def wait(self, predicate: Any, timeout: float) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: predicate(self.messages), timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
