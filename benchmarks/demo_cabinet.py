"""The demo cabinet (examples/demo.yaml: RS-485 meters, radar, 4 cameras, uplink probe, the page):
the agent's RSS, and what it sends a day at steady state, per device.

Runs `edge-agent demo` on a copy of examples/ whose ports and pty paths are free ones (so it runs
beside a demo on the usual ports), waits until the scripted faults are over (the last one at
180 s), then counts every message a subscriber receives for `--seconds`: payload + topic bytes,
MQTT/TCP overhead not counted. Goals (issue 16): RSS <= 64 MB, <= 5 MB per cabinet per day.
Last measured RSS (2026-11-30, `--warm-up 20 --seconds 30`): 86.9 -> 80.1 MB with the camera
stack imported without httpx's CLI and charset guessing (devices/onvif_camera/soap_stack.py);
80.1 -> 79.8 MB steady (lifetime peak 80.3) with pydantic plugins off and lazy command handlers;
79.9 -> 74.7 MB steady (lifetime peak 80.6 -> 75.5) with the ONVIF WSDLs cut to the operations called
(two runs each, main and this back to back).

    .venv/bin/python benchmarks/demo_cabinet.py [--warm-up 190] [--seconds 120]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from common import compile_agent, free_port, lifetime_peak_mb
from paho.mqtt.enums import CallbackAPIVersion
from table import emit

EXAMPLES = Path(__file__).parent.parent / "examples"
FIXED_PORTS = (18830, 18880, 18081, 18082, 18083, 18084, 18551, 18552, 18553, 18554)
DAY_S = 86400


def _private_copy(workdir: Path) -> tuple[Path, int]:
    """examples/ with free ports and private pty links; returns (demo.yaml, broker port)."""
    copy = workdir / "examples"
    shutil.copytree(EXAMPLES, copy)
    ports = {old: free_port() for old in FIXED_PORTS}
    for path in copy.rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\b(18\d\d\d)\b", lambda m: str(ports.get(int(m.group(1)), m.group(1))), text)
        text = text.replace("/tmp/edge-demo-", str(workdir / "edge-demo-"))  # noqa: S108  # replaced, not used
        text = text.replace("../.demo/", str(workdir / "state") + "/")
        path.write_text(text, encoding="utf-8")
    return copy / "demo.yaml", ports[18830]


class Tally:
    """Bytes and messages per source (a device id, or the cabinet-level topic) from a subscriber."""

    def __init__(self, port: int) -> None:
        self.counting = False
        self.bytes: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-cabinet-bench")
        self.client.on_connect = lambda c, *_: c.subscribe("edge/#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if not self.counting or message.retain:  # retained copies replayed on subscribe are not sent
            return
        parts = message.topic.split("/")
        source = parts[4] if len(parts) > 4 and parts[3] == "device" else "/".join(parts[3:])
        with self.lock:
            self.bytes[source] += len(message.payload) + len(message.topic.encode())
            self.messages[source] += 1

    def close(self) -> None:
        self.client.loop_stop()


def _agent_process(demo: psutil.Process, timeout_s: float = 30) -> psutil.Process:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in demo.children(recursive=True):
            if "run" in child.cmdline() and "edge_agent" in child.cmdline():
                return child
        time.sleep(0.2)
    raise RuntimeError("the demo's agent did not start")


def _stop(demo: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a person stops the demo (it then stops what it started), then the whole group."""
    demo.send_signal(signal.SIGINT)
    try:
        demo.wait(30)
    except subprocess.TimeoutExpired:
        demo.kill()
        demo.wait(10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(demo.pid, signal.SIGKILL)  # anything of the demo's still running


def measure(warm_up_s: float, seconds: float, edit: Callable[[Path], None] | None = None) -> dict[str, Any]:
    """RSS of the agent at steady state (the largest per-second sample over `seconds` after
    `warm_up_s`: what the goal is measured on), its lifetime peak (start-up included) and bytes per
    day by source.

    `edit` may change the copied demo.yaml first (benchmarks/uplink_bytes.py turns off report-by-exception).
    """
    with tempfile.TemporaryDirectory() as tmp:
        config, port = _private_copy(Path(tmp))
        if edit is not None:
            edit(config)
        command = [sys.executable, "-m", "edge_agent", "demo", "--config", str(config)]
        # Its own process group: whatever happens here, the demo's broker, simulators and agent go too.
        demo = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            agent = _agent_process(psutil.Process(demo.pid))
            tally = Tally(port)
            time.sleep(warm_up_s)
            tally.counting = True
            started, peak = time.monotonic(), 0
            while time.monotonic() - started < seconds:
                time.sleep(1)
                peak = max(peak, agent.memory_info().rss)
            tally.counting = False
            elapsed = time.monotonic() - started
            hwm_mb = lifetime_peak_mb(agent.pid)
            tally.close()
        finally:
            _stop(demo)
    scale = DAY_S / elapsed
    return {
        "rss_mb": peak / 2**20,
        "hwm_mb": hwm_mb,
        "bytes_per_day": {k: v * scale for k, v in tally.bytes.most_common()},
        "messages_per_day": sum(tally.messages.values()) * scale,
    }


def report(warm_up_s: float, seconds: float) -> None:
    figures = measure(warm_up_s, seconds)
    per_day = figures["bytes_per_day"]
    total = sum(per_day.values())
    sample = f"{seconds:.0f} s after {warm_up_s:.0f} s"
    emit(
        "demo cabinet (4 cameras, page): agent RSS steady",
        f"{figures['rss_mb']:.1f} MB",
        f"{sample}; lifetime peak {figures['hwm_mb']:.1f} MB; goal <= 64 MB (steady)",
    )
    emit(
        "demo cabinet: uplink bytes/day (payload + topic)",
        f"{total / 1e6:.2f} MB",
        f"{figures['messages_per_day']:.0f} messages/day; {sample}; goal <= 5 MB",
    )
    by_source = ", ".join(f"{k} {v / 1e6:.2f}" for k, v in per_day.items())
    emit("demo cabinet: MB/day by source", f"{len(per_day)} sources", by_source)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warm-up", type=float, default=190.0, help="seconds before counting")
    parser.add_argument("--seconds", type=float, default=120.0, help="seconds counted")
    args = parser.parse_args()
    compile_agent()  # as installed: RSS without the compiler's leftovers
    report(args.warm_up, args.seconds)


if __name__ == "__main__":
    main()
