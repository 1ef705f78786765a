"""Memory soak: does the agent's memory grow while it runs? (issue 12, item 3; goal < 1 MB/day)

The issue's cabinet (soak_cabinet.py: 2 Modbus TCP meters every 0.5 s, 2 host devices every 1 s, a
link probe and an ONVIF camera every 2 s, all simulated) with the agent run by soak_probe.py, which
adds a thread writing glibc's, SQLite's and Python's own figures. Every `--sample` seconds this
script also reads RSS, /proc/PID/smaps_rollup, fds and threads. After the warm-up it prints each
part's least-squares slope per day with its standard error and the slopes of the two halves (a
cache still filling shows as a steep first half), the growth per 1,000 polls and per 1,000
messages published, and a table of the parts over time. `--speed N` divides every interval by N:
growth that comes with polls then shows N times faster, and the per-1,000-polls figure extrapolates
to the shipped intervals (7 polls/s, 604,800 a day). The agent's `malloc_trim` stays every 300 s
unless `--scale-trim` divides it by N too: then the accelerated run is the shipped cabinet
compressed (as many polls between trims), without it a harsher case. Then a flood of commands on
`cmd/get_status`.

    python benchmarks/memory_soak.py --seconds 3600 --warmup 600        # the issue's cabinet, 1 h
    python benchmarks/memory_soak.py --speed 4 --seconds 900 --warmup 180
    python benchmarks/memory_soak.py --plain ...      # `edge-agent run` itself, RSS/smaps only
    python benchmarks/memory_soak.py --trace --speed 4 --seconds 300   # in-process tracemalloc diffs
    python benchmarks/memory_soak.py --speed 8 --seconds 720 --warmup 120 --only modbus --mtrace
    python benchmarks/memory_soak.py --speed 8 --scale-trim --seconds 7500 --warmup 1200

`--only KIND,...` runs a part of the cabinet (which kind's polls make memory grow: the growth per
1,000 polls is then per poll of those kinds). `--mtrace` runs the agent under glibc's malloc trace
from the end of the warm-up and prints what was allocated with malloc after it and is still held
at the end of the sampling, by caller (any library: libxml2 in lxml, SQLite, OpenSSL, Python) and
by fifth of the run (`mtrace_live.py`); the trace slows the agent and writes ~15-30 MB a minute.

The probe also writes, when asked: `SOAK_PROBE_CENSUS_S=300` a census every 300 s (objects by type,
and the containers that grew since the first census, by id, length, first items and who holds
them) to the figures file's `.census` neighbour; `SOAK_PROBE_COLLECT=1` a full collection before
each sample (is what grows garbage?). The collector's generations and its full collections are
in every sample.

Figures (the shared 2-core machine under other work's load; more in docs/architecture.md), before
and after the fixed mmap threshold and the small SQLite caches, run side by side:
- `--speed 8 --seconds 720 --warmup 120 --sample 5`: RSS +82.7 ± 23.2 -> +4.7 ± 1.2 MB/day, per
  1,000 polls 17.1 -> 0.98 KB (+10.3 -> +0.59 MB/day at the shipped intervals); glibc heap extent
  +560 -> +0.8 MB/day, SQLite +8.8 -> 0.0 MB/day, Python arenas flat in both.
- the shipped intervals, `--seconds 3600 --warmup 600`: before RSS +6.33 ± 0.90 MB/day (halves
  +13.7, -0.1), heap extent +31.3 MB/day; after +5.44 ± 0.04 MB/day (halves +5.5, +6.0), heap
  extent +0.15 MB/day; what remains is Python objects (+3.5 MB/day) and glibc in use (+1.7).
- after a full collection every trim period (start-up's objects frozen at READY), the shipped
  intervals, `--seconds 4500 --warmup 600`: RSS +1.08 ± 0.08 MB/day (halves +2.95, +0.29), Python
  objects +1.69 (halves +2.94, +0.20), glibc in use +1.79 (steady).
- what that glibc "in use" is: chunks freed into the threads' own caches (tcache, 240 KiB per
  thread when full: tcache_ceiling.py), which `mallinfo2` counts as in use. `--mtrace`, whole
  cabinet at 4x for 11 min: 0.0 KiB malloc'd in the first four fifths still held; `--only` at 8x
  for 10 min, the same 0.0 KiB for the camera, the Modbus meters and host + link, while in use
  grew 5.9, 1.25 and 0.48 KB per 1,000 polls of the kind. Whole cabinet at 8x side by side, with
  `GLIBC_TUNABLES=glibc.malloc.tcache_count=0`: in use +3.14 ± 0.31 -> +0.56 ± 0.32 MB/day.
- two hours at the shipped intervals, `--seconds 8100 --warmup 900 --sample 15` (the agent before
  its own outbox worker and grouped telemetry deletes): RSS +1.53 ± 0.12 MB/day (halves +3.30,
  +1.07; 71.13 -> 71.32 MiB), the floor per trim period +0.49 ± 0.65; the slope falls as the run
  goes on (a 30 s sampler beside it: minutes 15-40 +5.7, 40-75 +3.2, 75-135 +1.75, 60-135 +1.2 ±
  0.4 MB/day); all of it in the main heap (smaps by mapping), Python objects +0.43, glibc in use
  +0.35, fds and threads flat, 1.6 % of a core.
- the goal shown, 14 hours of the shipped cabinet's polls after 2.7 (`--speed 8 --seconds 7500
  --warmup 1200`, two runs side by side): `--scale-trim` RSS +0.17 KB per 1,000 polls, +0.10
  MB/day at the shipped intervals (+0.82 ± 0.11 MB/day of the 8x run itself; 71.41 -> 71.41 MiB);
  the trim left at 300 s +0.29 KB per 1,000 polls, +0.18 MB/day (71.67 -> 71.86 MiB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psutil
from common import HERE, broker, free_port, start_agent, stop_agent, write_config
from mtrace_live import summary
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from soak_cabinet import ROOT, SHIPPED, cabinet, flood, polls_per_s, simulators
from soak_figures import DAY_S, PARTS, breakdown, fit, floors, per_day, series
from soak_trace import trace
from table import emit

from edge_agent.memory_trim import TRIM_INTERVAL_S

PER_POLL = {"rss": "RSS", "malloc_used": "glibc in use"}  # figure -> label, growth per poll printed
ROLLUP = {"Anonymous": "anon", "Private_Dirty": "private_dirty"}  # smaps_rollup line -> figure


class Counter:
    """Counts what the agent publishes (all its topics), from outside."""

    def __init__(self, port: int) -> None:
        self.count, self._lock = 0, threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(f"{ROOT}/#", qos=0)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, *_: Any) -> None:
        with self._lock:
            self.count += 1

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def start(config: Path, figures: Path, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    """The agent as `edge-agent run` (--plain), or under the probe (the default)."""
    if args.plain:
        return start_agent(config)
    probe = [
        str(HERE / "soak_probe.py"),
        str(figures),
        str(args.sample),
        "--",
        "run",
        "--config",
        str(config),
    ]
    # PYTHONPATH kept behind ours: a run of another checkout's agent puts that checkout there.
    path = os.pathsep.join(p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "EDGE_AGENT_PLUGINS": "kinds", "PYTHONPATH": path}
    if args.scale_trim:
        env["SOAK_PROBE_TRIM_S"] = str(trim_period(args))
    if args.mtrace:  # glibc's debugging allocator logs every malloc/free from the warm-up's end
        trace = {
            "MALLOC_TRACE": str(figures.with_name("malloc.trace")),
            "LD_PRELOAD": "libc_malloc_debug.so.0",
        }
        env |= {**trace, "SOAK_PROBE_MTRACE_AFTER_S": str(args.warmup)}
    return subprocess.Popen(
        [sys.executable, *probe], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )


def trim_period(args: argparse.Namespace) -> float:
    return TRIM_INTERVAL_S / args.speed if args.scale_trim else TRIM_INTERVAL_S


def outside(process: psutil.Process) -> dict[str, float]:
    figures: dict[str, float] = {"rss": process.memory_info().rss, "fds": process.num_fds()}
    figures["threads"] = process.num_threads()
    for line in Path(f"/proc/{process.pid}/smaps_rollup").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ROLLUP:
            figures[ROLLUP[name]] = int(value.split()[0]) * 1024
    return figures


def inside(figures: Path) -> dict[str, float]:
    """The probe's last line (nothing with --plain, or before its first sample)."""
    try:
        lines = figures.read_text().splitlines()
    except FileNotFoundError:
        return {}
    return json.loads(lines[-1]) if lines else {}


def sample(
    process: psutil.Process, figures: Path, args: argparse.Namespace, counter: Counter
) -> list[dict[str, float]]:
    started, samples = time.monotonic(), []
    while (elapsed := time.monotonic() - started) < args.seconds:
        samples.append({**inside(figures), **outside(process), "t": elapsed, "messages": counter.count})
        time.sleep(min(args.sample, max(0.0, args.seconds - elapsed)))
    return samples


def report(samples: list[dict[str, float]], args: argparse.Namespace) -> None:
    rss = series(samples, "rss")
    slope, error = fit(rss)
    minutes, rate = (samples[-1]["t"] - samples[0]["t"]) / 60, polls_per_s(args.speed, args.only)
    emit(
        "RSS slope after warm-up",
        f"{slope * DAY_S / 1e6:+.2f} ± {error * DAY_S / 1e6:.2f} MB/day",
        f"goal < 1; {per_day(rss, 1e6)}; {minutes:.0f} min after {args.warmup / 60:.0f} min warm-up, speed "
        f"{args.speed:g} ({rate:.1f} polls/s); RSS {rss[0][1] / 2**20:.2f} -> {rss[-1][1] / 2**20:.2f} MiB",
    )
    lows = floors(rss, trim_period(args))
    emit(
        "RSS floor slope (lowest per trim period)",
        f"{per_day(lows, 1e6)} MB",
        f"{len(lows)} periods of {trim_period(args):g} s (the agent's malloc_trim); "
        f"{lows[0][1] / 2**20:.2f} -> {lows[-1][1] / 2**20:.2f} MiB",
    )
    messages_per_s = (samples[-1]["messages"] - samples[0]["messages"]) / (samples[-1]["t"] - samples[0]["t"])
    for name, label in PER_POLL.items():
        if len(points := series(samples, name)) > 2:
            _per_poll(label, fit(points)[0], rate, messages_per_s, polls_per_s(1, args.only) * DAY_S)
    for name, (label, divisor, unit) in PARTS.items():
        points = series(samples, name)
        if name != "rss" and len(points) > 2:
            span = f"{points[0][1] / divisor:.2f} -> {points[-1][1] / divisor:.2f} {unit}"
            emit(f"slope: {label}", f"{per_day(points, divisor)} {unit}", span)
    print("parts over time after warm-up (MiB)")
    print("\n".join(breakdown(samples)), flush=True)


def _per_poll(label: str, slope: float, rate: float, messages_per_s: float, shipped_per_day: float) -> None:
    per_poll, per_message = slope / rate, slope / max(messages_per_s, 1e-9)
    emit(
        f"{label} growth per 1,000 polls",
        f"{per_poll * 1000 / 1e3:+.2f} KB",
        f"at the shipped intervals ({shipped_per_day:,.0f} polls/day): "
        f"{per_poll * shipped_per_day / 1e6:+.2f} MB/day; per 1,000 messages published "
        f"{per_message * 1000 / 1e3:+.2f} KB ({messages_per_s:.1f} messages/s)",
    )


def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, simulators(Path(tmp)) as (modbus_port, camera_port):
        port, figures = free_port(), Path(tmp) / "figures.jsonl"
        with broker(port):
            devices = cabinet(port, modbus_port, camera_port, args.speed, args.only)
            config = write_config(Path(tmp), port, devices)
            agent, counter = start(config, figures, args), Counter(port)
            try:
                process = psutil.Process(agent.pid)
                samples = sample(process, figures, args, counter)
                traced = _trace_size(figures)  # the flood and the stop are left out of the trace
                report([s for s in samples if s["t"] >= args.warmup], args)
                if args.mtrace:
                    _still_held(figures.with_name("malloc.trace"), traced)
                cpu = process.cpu_times()
                share = (cpu.user + cpu.system) / args.seconds * 100
                emit("agent CPU", f"{share:.1f} % of a core", "the whole run, warm-up included")
                flooded(process, port, args)
            finally:
                counter.close()
                stop_agent(agent)


def _trace_size(figures: Path) -> int:
    trace = figures.with_name("malloc.trace")
    return trace.stat().st_size if trace.exists() else 0


def _still_held(trace: Path, size: int) -> None:
    totals, callers = summary(trace, size)
    emit(
        "malloc'd after warm-up, still held (mtrace)",
        f"{sum(totals[:-1]) / 1024:.1f} KiB",
        "made in the first four fifths of the run; by fifth "
        + ", ".join(f"{t / 1024:.1f}" for t in totals)
        + f" KiB; a {size / 1e6:.0f} MB trace",
    )
    print("\n".join(callers), flush=True)


def flooded(process: psutil.Process, port: int, args: argparse.Namespace) -> None:
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


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--seconds", type=float, default=3600, help="the whole run, warm-up included")
    parser.add_argument("--warmup", type=float, default=600, help="left out of the slopes")
    parser.add_argument("--speed", type=float, default=1, help="divides every poll interval")
    parser.add_argument("--sample", type=float, default=10, help="seconds between samples")
    parser.add_argument(
        "--scale-trim", action="store_true", help="divide the agent's trim period by --speed as well"
    )
    parser.add_argument("--flood", type=int, default=10_000, help="commands in the flood")
    parser.add_argument("--settle", type=float, default=30)
    parser.add_argument(
        "--only",
        type=lambda text: tuple(text.split(",")),
        default=tuple(SHIPPED),
        help=f"a subset of the cabinet's device kinds, comma-separated: {','.join(SHIPPED)}",
    )
    parser.add_argument("--plain", action="store_true", help="`edge-agent run` itself, no probe thread")
    parser.add_argument(
        "--mtrace", action="store_true", help="glibc's malloc trace after the warm-up (mtrace_live.py)"
    )
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
