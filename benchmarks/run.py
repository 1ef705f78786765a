"""Runs the benchmarks and prints their figures: `./dev.sh bench [--quick]`.

Figures are measured, never asserted: they go in the closing notes and docs, not in tests.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import core

HERE = Path(__file__).parent
# Benchmarks of device kinds: (script, arguments for --quick).
SCRIPTS: list[tuple[str, list[str]]] = [
    ("modbus_throughput.py", ["--seconds", "2"]),
    ("modbus_yardstick.py", ["--seconds", "15"]),
    ("onvif_cameras.py", ["--rounds", "2"]),
    ("diagnostics_page.py", ["--seconds", "5"]),
    ("health.py", ["--records", "300"]),
    ("memory_soak.py", ["--seconds", "90", "--warmup", "30", "--flood", "2000", "--settle", "10"]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, for a quick look")
    args = parser.parse_args()
    seconds, count, changes = (10, 5000, 100) if args.quick else (60, 20000, 500)

    print(f"steady state, demo cabinet, {seconds} s:", _fmt(core.steady_state(seconds)), flush=True)
    for receive_maximum in (20, 100):
        figures = core.replay_rate(count, receive_maximum)
        print(
            f"outbox replay of {count} events, broker receive maximum {receive_maximum}:",
            _fmt(figures),
            flush=True,
        )
    print(f"state change -> subscriber, {changes} changes:", _fmt(core.latency(changes)), flush=True)
    for script, quick_args in SCRIPTS:
        # Each in its own process: they measure memory added by imports, which must start clean.
        print(f"--- {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *(quick_args if args.quick else [])], check=True)


def _fmt(figures: dict[str, float]) -> str:
    return ", ".join(
        f"{name} {value:.2f}" if isinstance(value, float) else f"{name} {value}"
        for name, value in figures.items()
    )


if __name__ == "__main__":
    main()
