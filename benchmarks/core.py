"""Core benchmarks: steady-state RSS and CPU, outbox replay rate, state-change latency.

Goals (issue "agent core"): RSS <= 40 MB for a cabinet without cameras, CPU <= 1 % of a core;
replay >= 5,000 messages/s; p99 state change -> subscriber <= 50 ms on loopback.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import psutil
from common import Recorder, broker, free_port, percentile, start_agent, stop_agent, write_config

from edge_agent.runtime.outbox import NewMessage, Outbox


def steady_state(seconds: float) -> dict[str, float]:
    """The demo cabinet (host device every 5 s) for `seconds` after a 5 s warm-up."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, broker(port):
        devices = [{"type": "host", "device_id": "host", "poll_interval_s": 5}]
        agent = start_agent(write_config(Path(tmp), port, devices))
        try:
            process = psutil.Process(agent.pid)
            time.sleep(5)
            cpu_before, wall_before = sum(process.cpu_times()[:2]), time.monotonic()
            peak = 0
            for _ in range(int(seconds)):
                time.sleep(1)
                peak = max(peak, process.memory_info().rss)
            cpu = sum(process.cpu_times()[:2]) - cpu_before
            wall = time.monotonic() - wall_before
            return {
                "rss_mb": process.memory_info().rss / 2**20,
                "rss_peak_mb": peak / 2**20,
                "cpu_percent": 100 * cpu / wall,
            }
        finally:
            stop_agent(agent)


async def _fill_outbox(path: Path, count: int) -> None:
    async with Outbox(path, max_bytes=2**30) as outbox:
        for start in range(0, count, 500):
            batch = []
            for n in range(start, min(count, start + 500)):
                body = {"type": "pulse", "detail": {"n": n}}
                batch.append(
                    NewMessage(
                        "event",
                        "edge/v1/bench/event",
                        lambda i, s, b=body: json.dumps({**b, "id": i, "seq": s}).encode(),
                    )
                )
            await outbox.put(batch)


def replay_rate(count: int, receive_maximum: int) -> dict[str, float]:
    """`count` events waiting in the outbox (a 60 s outage at a high event rate), then the broker returns.

    The broker's Receive Maximum bounds the messages in flight: mosquitto's default grants 20, the
    fleet configuration in deploy/mosquitto grants 100.
    """
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, broker(port, receive_maximum):
        config = write_config(Path(tmp), port, [])
        asyncio.run(_fill_outbox(Path(tmp) / "data" / "outbox.sqlite3", count))
        recorder = Recorder(port, "edge/v1/bench/event")
        time.sleep(0.3)
        agent = start_agent(config)
        try:
            first = recorder.wait(lambda m: len(m) > 0, 20)
            started = recorder.messages[0][0] if first else time.time()
            recorder.wait(lambda m: sum(b'"pulse"' in p for _, _, p in m) >= count, 120)
            pulses = [t for t, _, p in recorder.messages if b'"pulse"' in p]
            elapsed = pulses[-1] - started
            return {"messages": len(pulses), "seconds": elapsed, "messages_per_s": len(pulses) / elapsed}
        finally:
            recorder.close()
            stop_agent(agent)


def latency(changes: int) -> dict[str, float]:
    """A device changing state every 0.1 s; delay from the state's `ts` to its arrival at a subscriber."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, broker(port):
        recorder = Recorder(port, "edge/v1/bench/device/+/state")
        devices = [{"type": "toggle", "device_id": "toggle", "poll_interval_s": 0.1}]
        agent = start_agent(write_config(Path(tmp), port, devices))
        try:
            recorder.wait(lambda m: len(m) >= changes, changes * 0.1 + 20)
        finally:
            stop_agent(agent)
            recorder.close()
        delays = []
        for arrived, _, payload in recorder.messages[5:]:  # skip start-up
            ts = json.loads(payload)["ts"]
            sent = time.mktime(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone + float(ts[19:23])
            delays.append((arrived - sent) * 1000)
        return {"samples": len(delays), "p50_ms": percentile(delays, 0.5), "p99_ms": percentile(delays, 0.99)}
