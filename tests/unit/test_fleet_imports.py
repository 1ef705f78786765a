"""The centre's tools import the MQTT contract and nothing of the agent runtime (DESIGN: `fleet/`)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import edge_agent.fleet

# What runs on a cabinet: the centre must not need it, nor drag it (or its hardware libraries) in.
BANNED = (
    "edge_agent.runtime",
    "edge_agent.devices",
    "edge_agent.health",
    "edge_agent.commands",
    "edge_agent.local",
    "edge_agent.actions",
    "edge_agent.firmware",
    "edge_agent.audit",
    "edge_agent.mqtt.link",
    "edge_agent.mqtt.reporter",
    "edge_agent.simulators",
    "pymodbus",
    "serial",
    "onvif",
    "gpiozero",
)


def test_fleet_imports_nothing_of_the_agent_runtime() -> None:
    modules = sorted(f"edge_agent.fleet.{m.name}" for m in pkgutil.iter_modules(edge_agent.fleet.__path__))
    assert "edge_agent.fleet.collector" in modules
    code = (
        f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}];"
        f"print(','.join(sorted(m for m in sys.modules if m.startswith({BANNED!r}))))"
    )
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == ""
