"""Where a cabinet agent's RSS goes: its imports layer by layer, then the agent built (not run).

For a host-only cabinet and for a Modbus one, a fresh interpreter imports what `edge-agent run`
imports, one layer at a time in the order below, and notes RSS after each (after a full collection
and `malloc_trim`, as the agent does before READY=1). A module imported by two layers counts in the
first: `ssl` comes before asyncio (which imports it whatever the configuration). paho is imported as
the command line has it, behind the stand-in for `urllib.request` (edge_agent/lazy_urllib.py: no
`http.client`, no `email`). The running agent's RSS is `footprint.py`'s; the difference is what
running adds (threads, SQLite, buffers).

    .venv/bin/python benchmarks/import_census.py [--rounds 3] [--ref main]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import compile_agent, sdm630_meters, write_config
from cpu_side_by_side import _checkout
from table import emit

# What the command line does first: the stand-in for pydantic's plugin loader or, at a `--ref` from
# before it, only the variable. Looked for in the package's folder: an editable install's finder
# would find this checkout's module for a `--ref` copy without it.
PLUGINS_OFF = """
import os, pathlib, edge_agent
if (pathlib.Path(edge_agent.__file__).parent / "pydantic_plugins.py").exists():
    from edge_agent.pydantic_plugins import turn_off
    turn_off()
else:
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
"""
# What the command line does before anything imports paho (at a `--ref` from before it: nothing).
LAZY_URLLIB = """
import pathlib, edge_agent
if (pathlib.Path(edge_agent.__file__).parent / "lazy_urllib.py").exists():
    from edge_agent.lazy_urllib import defer
    defer()
"""
POLLERS = """
import importlib
from edge_agent.devices import KINDS
for device in c.devices:
    importlib.import_module(KINDS[device.type].poller_path.partition(":")[0])
"""
LAYERS: list[tuple[str, str]] = [
    ("bare Python (+ ctypes, for the trim)", "pass"),
    ("ssl (imported by asyncio)", "import ssl"),
    ("asyncio", "import asyncio"),
    ("sqlite3", "import sqlite3"),
    ("paho-mqtt", LAZY_URLLIB + "import paho.mqtt.client"),
    ("PyYAML", "import yaml"),
    ("psutil", "import psutil"),
    ("tenacity", "import tenacity"),
    ("pydantic (import)", PLUGINS_OFF + "import pydantic.main"),
    ("pydantic (first model)", "class First(pydantic.main.BaseModel):\n    x: int = 0\nFirst(x=1)"),
    (
        "agent: config modules + the file's model",
        "from edge_agent.config import load_config\nc = load_config(CONFIG)",
    ),
    ("agent: the kinds' pollers (pymodbus for meters)", POLLERS),
    (
        "agent: runtime modules (and the command line's)",
        "import edge_agent.cli\nfrom edge_agent.runtime.agent import Agent",
    ),
    ("agent: built, not run", "a = Agent(c)"),
]

CHILD = """
import ctypes, gc, json, sys
CONFIG = sys.argv[1]
libc = ctypes.CDLL("libc.so.6")
def rss():
    gc.collect(); libc.malloc_trim(0)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
out = []
for code in json.loads(sys.argv[2]):
    exec(code)
    out.append(rss())
print(json.dumps(out))
"""


def _config(directory: Path, kind: str) -> Path:
    if kind == "host":
        devices = [{"type": "host", "device_id": "host", "poll_interval_s": 5}]
    else:
        devices = sdm630_meters(1502, range(1, 4))  # built, never connected
    return write_config(directory, 1883, devices)


def census(kind: str, agent: Path | None) -> list[float]:
    """RSS (MB) after each layer, in a fresh interpreter (the agent's package from `agent` if given)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = _config(Path(tmp), kind)
        codes = json.dumps([code for _, code in LAYERS])
        env = {**os.environ, "EDGE_AGENT_PLUGINS": ""}  # the suite's scripted kinds are not a cabinet's
        if agent is not None:
            env["PYTHONPATH"] = str(agent)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(config), codes],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp,  # not a checkout: it would shadow the PYTHONPATH copy being measured
            env=env,
        )
    return [float(value) for value in json.loads(done.stdout)]


def _medians(kind: str, agent: Path | None, rounds: int) -> list[float]:
    runs = [census(kind, agent) for _ in range(rounds)]
    return [statistics.median(run[i] for run in runs) for i in range(len(LAYERS))]


def _added(totals: list[float], i: int) -> float:
    return totals[i] - totals[i - 1] if i else totals[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ref", help="also measure the agent as it is at this git ref (e.g. main)")
    args = parser.parse_args()
    compile_agent()
    with tempfile.TemporaryDirectory() as tmp:
        before = _checkout(args.ref, Path(tmp)) if args.ref else None
        for kind, label in (("host", "host alone"), ("modbus", "3 Modbus TCP meters")):
            totals = _medians(kind, None, args.rounds)
            then = _medians(kind, before, args.rounds) if before else None
            for i, (name, _) in enumerate(LAYERS):
                note = f"total {totals[i]:.1f} MB"
                if then:
                    note += f"; at {args.ref}: +{_added(then, i):.1f}, total {then[i]:.1f} MB"
                emit(f"{label}: {name}", f"+{_added(totals, i):.1f} MB", f"{note} (medians of {args.rounds})")


if __name__ == "__main__":
    main()
