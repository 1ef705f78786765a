"""Runs the benchmarks and prints their figures as one table: `./dev.sh bench [--quick]`.

Figures are measured, never asserted: they go in the closing notes and docs, not in tests.
Each source below is a script run in its own process (several measure memory added by imports,
which must start clean). To add figures, add a script and one line to SOURCES; a script that
cannot measure yields a row saying so, and the others still run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from table import Row, parse, render

HERE = Path(__file__).parent
TIMEOUT_S = 1800


@dataclass(frozen=True)
class Source:
    name: str
    script: str
    args: list[str] = field(default_factory=list)
    quick: list[str] = field(default_factory=list)


SOURCES: list[Source] = [
    Source("agent core", "agent_core.py", quick=["--quick"]),
    Source("uplink bytes", "uplink_bytes.py", quick=["--warm-up", "20", "--seconds", "30"]),
    Source("modbus overhead", "modbus_throughput.py", quick=["--seconds", "2"]),
    Source("modbus vs floor", "modbus_yardstick.py", quick=["--seconds", "15"]),
    Source("cameras", "onvif_cameras.py", quick=["--rounds", "2"]),
    Source("diagnostics page", "diagnostics_page.py", quick=["--seconds", "5"]),
    Source("health", "health.py", quick=["--records", "300"]),
    # Issue 16: the agent beside the pymodbus+paho floor (3 and 30 meters), start-up, host alone;
    # the demo cabinet's RSS and bytes per day (quick: not yet at steady state).
    Source("footprint", "footprint.py", quick=["--seconds", "15", "--meters", "3"]),
    # Where the RSS goes: the agent's imports layer by layer (host alone, 3 meters), built, not run.
    Source("import census", "import_census.py", quick=["--rounds", "1"]),
    # The same for the demo cabinet beyond the core: each kind, the camera stack by package, the page.
    Source("demo census", "demo_census.py", quick=["--rounds", "1"]),
    Source("CPU side by side", "cpu_side_by_side.py", quick=["--seconds", "15", "--rounds", "1"]),
    Source("demo cabinet", "demo_cabinet.py", quick=["--warm-up", "20", "--seconds", "30"]),
    # Issue 12: memory slopes of the cabinet (4x faster) after warm-up, and a command flood;
    # the goal (< 1 MB/day) needs `memory_soak.py` run for an hour or more (see its docstring).
    # What the soak's "glibc in use" approaches: the threads' caches of freed chunks, when full.
    Source("glibc thread caches", "tcache_ceiling.py"),
    Source(
        "memory soak",
        "memory_soak.py",
        args=["--speed", "4", "--seconds", "900", "--warmup", "180"],
        quick=["--speed", "4", "--seconds", "90", "--warmup", "30", "--sample", "5", "--flood", "2000"],
    ),
]


def measure(source: Source, quick: bool) -> list[Row]:
    argv = [sys.executable, str(HERE / source.script), *(source.quick if quick else source.args)]
    print(f"--- {source.name}: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return [Row(source.name, "(all)", "could not measure", f"no result within {TIMEOUT_S} s")]
    rows = parse(source.name, done.stdout)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        rows.append(Row(source.name, "(rest)", "could not measure", f"exit {done.returncode}: {last[:160]}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs, for a quick look")
    parser.add_argument("--only", nargs="*", help="names of the sources to run (default: all)")
    args = parser.parse_args()
    rows: list[Row] = []
    for source in SOURCES:
        if not args.only or source.name in args.only:
            rows += measure(source, args.quick)
    print(render(rows), flush=True)


if __name__ == "__main__":
    main()
