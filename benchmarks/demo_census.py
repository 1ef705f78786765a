"""What the demo cabinet (examples/demo.yaml) loads beyond the core, layer by layer, and its cost.

A fresh interpreter imports what the demo's `edge-agent run` imports: first the core's layers as
`import_census.py` has them (Python, asyncio with `ssl`, sqlite3, paho, PyYAML, psutil, tenacity,
pydantic), then the demo's configuration (every kind's model), the runtime, each kind's poller, the
camera stack package by package (in its import order, without httpx's command-line client and
requests' charset guessing, as `devices/onvif_camera/soap_stack.py` imports it), the page and the
agent built, not run. RSS after each (a full collection and `malloc_trim`), medians of `--rounds`.
What running adds (the WSDLs of the first camera, four camera sessions, threads) is
`demo_cabinet.py`'s RSS less the last total. Which layers can be avoided is in docs/architecture.md.
Last measured (2026-12-01, medians of 3): the core's libraries 36.7 MB; configuration +3.6,
runtime +2.0, Modbus +2.7, radar +0.2, link probe +0.1; the camera stack +20.4 (lxml 3.9, urllib3
1.9, requests 1.3, httpx 0.9, zeep 2.3, aiohttp's client 8.1, onvif 1.6, the agent's kind 0.4);
the page +2.7 (aiohttp.web 2.2, the agent's page 0.5); built +0.7: 68.9 MB (running: 74.7).

    .venv/bin/python benchmarks/demo_census.py [--rounds 3]
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

from common import compile_agent
from demo_cabinet import _private_copy
from import_census import CHILD, LAYERS
from table import emit

CORE = LAYERS[:10]  # up to pydantic's first model: the libraries every cabinet loads
# As soap_stack.py: absent while the camera stack is imported, present again after it.
UNUSED = "('httpx._main', 'charset_normalizer', 'chardet')"
ABSENT = f"import sys, warnings\nfor n in {UNUSED}: sys.modules[n] = None\n"
PRESENT = f"for n in {UNUSED}: del sys.modules[n]\n"
QUIET = "warnings.filterwarnings('ignore', message='Unable to find acceptable character detection')\n"
KIND = (
    "import importlib\nfrom edge_agent.devices import KINDS\n"
    "importlib.import_module(KINDS[{!r}].poller_path.partition(':')[0])"
)
DEMO: list[tuple[str, str]] = [
    (
        "demo: configuration (every kind's model)",
        "from edge_agent.config import load_config\nc = load_config(CONFIG)",
    ),
    ("demo: runtime modules", "import edge_agent.cli\nfrom edge_agent.runtime.agent import Agent"),
    ("demo: host poller", KIND.format("host")),
    ("demo: Modbus poller (pymodbus, pyserial)", KIND.format("modbus")),
    ("demo: serial poller (the radar)", KIND.format("serial")),
    ("demo: link probe", KIND.format("link")),
    ("camera stack: lxml", ABSENT + QUIET + "import lxml.etree"),
    ("camera stack: urllib3 (with importlib.metadata)", "import urllib3"),
    ("camera stack: requests (zeep's transport for files)", "import requests"),
    ("camera stack: httpx (zeep's async types)", "import httpx"),
    ("camera stack: zeep", "import zeep"),
    ("camera stack: aiohttp client (onvif's transport)", "import aiohttp"),
    ("camera stack: onvif", "import onvif.client\n" + PRESENT),
    ("camera stack: the agent's camera kind", KIND.format("onvif_camera")),
    ("page: aiohttp.web", "import aiohttp.web"),
    ("page: the agent's page modules", "import edge_agent.diagnostics.server"),
    ("demo: built, not run", "a = Agent(c)"),
]


def census(config: Path) -> list[float]:
    codes = json.dumps([code for _, code in CORE + DEMO])
    env = {**os.environ, "EDGE_AGENT_PLUGINS": ""}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(config), codes],
        capture_output=True,
        text=True,
        check=True,
        cwd=config.parent,
        env=env,
    )
    return [float(value) for value in json.loads(done.stdout)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    compile_agent()
    with tempfile.TemporaryDirectory() as tmp:
        config, _ = _private_copy(Path(tmp))
        runs = [census(config) for _ in range(args.rounds)]
    totals = [statistics.median(run[i] for run in runs) for i in range(len(CORE) + len(DEMO))]
    emit("demo cabinet: the core's libraries", f"{totals[len(CORE) - 1]:.1f} MB", "as import_census.py")
    for i, (name, _) in enumerate(DEMO, start=len(CORE)):
        emit(
            name,
            f"+{totals[i] - totals[i - 1]:.1f} MB",
            f"total {totals[i]:.1f} MB (medians of {args.rounds})",
        )


if __name__ == "__main__":
    main()
