"""The agent's core figures: RSS and CPU at steady state, outbox replay rate, state-change latency.

.venv/bin/python benchmarks/agent_core.py [--quick]
"""

from __future__ import annotations

import argparse

import core
from table import emit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds, count, changes = (10, 5000, 100) if args.quick else (60, 20000, 500)
    steady = core.steady_state(seconds)
    emit(
        "agent RSS, one host device",
        f"{steady['rss_mb']:.1f} MB",
        f"peak {steady['rss_peak_mb']:.1f} MB, {seconds} s",
    )
    emit("agent CPU, one host device", f"{steady['cpu_percent']:.2f} % of one core", f"{seconds} s")
    for receive_maximum in (20, 100):
        replay = core.replay_rate(count, receive_maximum)
        emit(
            f"outbox replay, receive maximum {receive_maximum}",
            f"{replay['messages_per_s']:.0f} events/s",
            f"{count} events",
        )
    latency = core.latency(changes)
    emit("state change -> subscriber p50", f"{latency['p50_ms']:.1f} ms", f"{latency['samples']:.0f} changes")
    emit("state change -> subscriber p99", f"{latency['p99_ms']:.1f} ms", f"{latency['samples']:.0f} changes")


if __name__ == "__main__":
    main()
