"""The agent process must never load simulator or server code (RSS budget on a Raspberry Pi)."""

from __future__ import annotations

import subprocess
import sys


def test_pollers_do_not_import_simulators_or_servers() -> None:
    code = (
        "import sys, edge_agent.config, edge_agent.devices.modbus.poller, edge_agent.devices.serial.poller;"
        "banned = ('edge_agent.simulators', 'pymodbus.server');"
        "print(','.join(m for m in sys.modules if m.startswith(banned)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == ""


def test_config_import_does_not_load_pymodbus() -> None:
    code = "import sys, edge_agent.config; print('pymodbus' in sys.modules, 'serial' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False False"
