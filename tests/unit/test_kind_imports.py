"""An agent imports only what its configuration uses (RSS, issue 16): a host-only cabinet loads no
Modbus, serial, camera or page code, and no other kind's config model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

# What a cabinet with only the host device must never load.
BANNED = (
    "pymodbus",
    "serial",
    "zeep",
    "onvif",
    "aiohttp",
    "httpx",
    "requests",
    "lxml",
    "gpiozero",
    "edge_agent.devices.modbus",
    "edge_agent.devices.serial",
    "edge_agent.devices.onvif_camera",
    "edge_agent.devices.link",
    "edge_agent.diagnostics",
    "edge_agent.simulators",
    # the centre, the operator's tools and firmware upgrades: never part of a running cabinet agent
    "edge_agent.fleet",
    "edge_agent.health.cli",
    "edge_agent.local.command_client",
    "edge_agent.firmware.upgrade",
    "edge_agent.firmware.camera",
    # command handlers: imported on the first request of their command (commands/__init__.py)
    "edge_agent.commands.basic",
    "edge_agent.commands.camera",
    "edge_agent.commands.health",
    "edge_agent.commands.actions",
    "edge_agent.commands.firmware",
    "edge_agent.commands.resend",
    # where a config problem is (line, meant key): loaded only when a file has problems
    "edge_agent.config_where",
    # pydantic's plugin look-up, off on the command line (edge_agent/pydantic_plugins.py), and the
    # daily report's CSV writer
    "importlib.metadata",
    "zipfile",
    "csv",
    # what paho's module-level `import urllib.request` brings, while the stand-in of
    # edge_agent/lazy_urllib.py is not read
    "http.client",
    "email",
)


def _loaded_after_building_agent(tmp_path: Path, devices: list[dict[str, object]]) -> list[str]:
    config = tmp_path / "cabinet.yaml"
    document = {
        "cabinet": {"id": "imports"},
        "mqtt": {"host": "127.0.0.1", "port": 1883},
        "storage": {"data_dir": str(tmp_path / "data")},
        "devices": devices,
    }
    config.write_text(yaml.safe_dump(document))
    code = (
        "import sys\n"
        "from edge_agent.pydantic_plugins import turn_off\n"
        "turn_off()  # as the command line does first\n"
        "from edge_agent.lazy_urllib import defer\n"
        "defer()\n"
        "from edge_agent.config import load_config\n"
        "from edge_agent.runtime.agent import Agent\n"
        f"agent = Agent(load_config({str(config)!r}))\n"
        "assert list(agent.pollers) == [d.device_id for d in agent.config.devices]\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "EDGE_AGENT_PLUGINS": ""}  # the suite's scripted kinds are not a cabinet's
    command = [sys.executable, "-c", code]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120, env=env)
    return out.stdout.split()


def test_host_only_cabinet_loads_no_other_kind(tmp_path: Path) -> None:
    loaded = _loaded_after_building_agent(tmp_path, [{"type": "host", "device_id": "host"}])
    assert "edge_agent.devices.host.poller" in loaded
    assert [m for m in loaded if m.startswith(BANNED)] == []


def test_modbus_cabinet_loads_modbus_but_no_camera_or_serial(tmp_path: Path) -> None:
    meter = {
        "type": "modbus",
        "device_id": "meter",
        "profile": "eastron_sdm630",
        "unit_id": 1,
        "transport": {"kind": "tcp", "host": "127.0.0.1", "port": 1502},
    }
    loaded = _loaded_after_building_agent(tmp_path, [meter])
    assert "edge_agent.devices.modbus.poller" in loaded
    banned = tuple(m for m in BANNED if "modbus" not in m and m != "serial")
    assert [m for m in loaded if m.startswith(banned)] == []


def test_camera_cabinet_loads_the_soap_stack_without_its_unused_parts(tmp_path: Path) -> None:
    (tmp_path / "cam.pass").write_text("secret")
    camera = {
        "type": "onvif_camera",
        "device_id": "cam",
        "host": "127.0.0.1",
        "port": 8000,
        "username": "admin",
        "password": {"file": str(tmp_path / "cam.pass")},
    }
    loaded = _loaded_after_building_agent(tmp_path, [camera])
    assert {"zeep", "onvif", "edge_agent.devices.onvif_camera.poller"} <= set(loaded)
    # httpx's command-line client and requests' charset guessing (see onvif_camera/soap_stack.py)
    unused = ("httpx._main", "rich", "click", "pygments", "charset_normalizer", "chardet")
    assert [m for m in loaded if m.startswith((*unused, "pymodbus", "serial"))] == []
