"""The soak's cabinet (issue 12): 2 Modbus TCP meters polled every 0.5 s, 2 host devices every 1 s,
a link probe and an ONVIF camera every 2 s, all simulated; `speed` divides every interval, `kinds`
keeps only some of them (a split run: which kind's polls make memory grow)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import yaml
from common import free_port
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

ROOT = "edge/v1/bench"
# device kind -> (how many, poll interval in seconds at shipped speed)
SHIPPED = {"modbus": (2, 0.5), "host": (2, 1.0), "link": (1, 2.0), "onvif_camera": (1, 2.0)}
CAMERA_CHECKS_S = {"identity_s": 3600, "streams_s": 900, "storage_s": 900, "retention_s": 300}  # its defaults


def polls_per_s(speed: float, kinds: Collection[str] = tuple(SHIPPED)) -> float:
    return sum(count / interval for kind, (count, interval) in SHIPPED.items() if kind in kinds) * speed


def cabinet(
    port: int, modbus_port: int, camera_port: int, speed: float, kinds: Collection[str] = tuple(SHIPPED)
) -> list[dict[str, Any]]:
    every = {kind: {"poll_interval_s": interval / speed} for kind, (_, interval) in SHIPPED.items()}
    # The machine's own load must not flap the host devices: state changes are not what is measured.
    calm = {"warning": 1000, "critical": 1000}
    limits = {"limits": {"cpu_percent": calm, "memory_percent": calm, "disk_percent": calm}}
    meters = [
        {
            "type": "modbus",
            "device_id": f"meter{unit}",
            "profile": "eastron_sdm120",
            "unit_id": unit,
            "transport": {"kind": "tcp", "host": "127.0.0.1", "port": modbus_port},
            **every["modbus"],
        }
        for unit in (1, 2)
    ]
    hosts = [{"type": "host", "device_id": name, **every["host"], **limits} for name in ("host", "host2")]
    link = {
        "type": "link",
        "device_id": "uplink",
        "broker": {"host": "127.0.0.1", "port": port},
        "lan_switch": {"host": "127.0.0.1", "port": port},
        **every["link"],
    }
    camera = {
        "type": "onvif_camera",
        "device_id": "cam",
        "host": "127.0.0.1",
        "port": camera_port,
        "username": "admin",
        "password": {"file": "camera.pass"},
        "timeout_s": 40,  # generous: under tracemalloc the first full check set is slow
        "request_timeout_s": 20,
        **every["onvif_camera"],
        "checks": {name: period / speed for name, period in CAMERA_CHECKS_S.items()},
    }
    return [device for device in (*meters, *hosts, link, camera) if device["type"] in kinds]


@contextlib.contextmanager
def simulators(workdir: Path) -> Iterator[tuple[int, int]]:
    """The meters' Modbus server and the camera; yields their ports."""
    modbus_port, camera_port = free_port(), free_port()
    scenario = workdir / "meters.yaml"
    values = {"voltage_v": 230.0, "current_a": 1.2, "active_power_w": 270.0}
    meters = [
        {"unit_id": unit, "profile": "eastron_sdm120", "values": values, "noise": {"voltage_v": 0.5}}
        for unit in (1, 2)
    ]
    scenario.write_text(yaml.safe_dump({"devices": meters}))
    (workdir / "camera.pass").write_text("bench-camera-pass\n")
    modbus = ["edge_agent.simulators.modbus_server", "--scenario", str(scenario), "--port", str(modbus_port)]
    camera = [
        "edge_agent.simulators.onvif_camera", "--port", str(camera_port), "--rtsp-port", str(free_port()),
        "--user", "admin", "--password-file", str(workdir / "camera.pass"),
    ]  # fmt: skip
    processes = [
        subprocess.Popen([sys.executable, "-m", *c], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for c in (modbus, camera)
    ]
    try:
        for port in (modbus_port, camera_port):
            _wait_port(port)
        yield modbus_port, camera_port
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        time.sleep(0.05)
    raise RuntimeError(f"simulator on port {port} did not start")


def flood(port: int, count: int) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    for index in range(count):
        client.publish(f"{ROOT}/cmd/get_status", f'{{"transaction": "flood-{index}"}}', qos=1)
    time.sleep(1)  # let the last publishes leave this process: a pause, not a synchronisation
    client.loop_stop()
    client.disconnect()
