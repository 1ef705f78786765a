"""The README's first command: the demo brings up a broker and a cabinet and shows what it publishes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.ports import free_port as free_port_2

pytestmark = pytest.mark.integration

DEMO = Path(__file__).parents[2] / "examples" / "demo.yaml"


def test_demo_shows_birth_state_telemetry_and_clean_stop(tmp_path: Path, free_port: int) -> None:
    document = yaml.safe_load(DEMO.read_text())
    document["mqtt"]["port"] = free_port  # the shipped demo port may be busy on a developer machine
    document["storage"]["data_dir"] = str(tmp_path / "demo" / "data")
    page_port = free_port_2()
    document["diagnostics"].update(port=page_port, users_file=str(tmp_path / "demo" / "users.json"))
    for device in document["devices"]:
        if "password" in device:
            device["password"] = {"file": str(DEMO.with_name("camera.pass"))}
    config = tmp_path / "demo.yaml"
    config.write_text(yaml.safe_dump(document))
    simulators = DEMO.with_name("demo-simulators.yaml")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge_agent",
            "demo",
            "--config",
            str(config),
            "--seconds",
            "5",
            "--simulators",
            str(simulators),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = result.stdout
    assert f"mqtt://127.0.0.1:{free_port}" in out
    assert '/status {"state":"online"' in out
    assert "/device/host/state" in out and "/device/host/telemetry" in out
    assert "/device/cam-exit/state {" in out and '"code":"sd_missing"' in out  # a simulated camera
    assert '/status {"state":"offline","reason":"shutdown"' in out
    assert "agent | " in result.stderr
    assert f"diagnostics http://127.0.0.1:{page_port}/  (user technician, password " in out
