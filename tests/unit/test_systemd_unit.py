"""The systemd unit: the copy in the package is the role's template with its defaults, and it verifies.

`systemd-analyze verify` works without systemd running (this test machine has no systemd as PID 1).
It exits 0 on unknown keys and bad values, only printing them, so the tests require silence.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from support.requirements import missing

ROLE = Path(__file__).parents[2] / "deploy" / "ansible" / "roles" / "edge_agent"
PACKAGED = Path(str(files("edge_agent") / "systemd" / "edge-agent.service"))


def render_unit(**overrides: Any) -> str:
    """Render the role's unit template as Ansible would (trim_blocks), defaults resolved recursively."""
    variables = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(playbook_dir=".", inventory_hostname="cabinet", **overrides)
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 - renders a systemd unit, not HTML
    for _ in range(5):  # defaults refer to other defaults, a few levels deep
        variables = {
            key: env.from_string(value).render(**variables) if isinstance(value, str) else value
            for key, value in variables.items()
        }
    return env.from_string((ROLE / "templates" / "edge-agent.service.j2").read_text()).render(**variables)


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )


def fake_install(root: Path) -> None:
    """verify checks that ExecStart is executable, so give it one under a test root."""
    binary = root / "opt" / "edge-agent" / "current" / "bin" / "edge-agent"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    for folder in ("etc/edge-agent/credentials", "var/lib/edge-agent"):
        (root / folder).mkdir(parents=True)


@pytest.fixture
def needs_analyze() -> None:
    if shutil.which("systemd-analyze") is None:
        missing("systemd-analyze is not installed (apt: systemd)")


def test_packaged_unit_is_the_role_template_with_its_defaults() -> None:
    assert PACKAGED.read_text() == render_unit(), "re-render edge_agent/systemd/edge-agent.service"


def test_packaged_unit_has_the_required_settings() -> None:
    lines = set(PACKAGED.read_text().splitlines())
    for setting in (
        "Type=notify",
        "Restart=always",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/edge-agent",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=",
        "SupplementaryGroups=dialout gpio",
    ):
        assert setting in lines
    assert any(line.startswith("WatchdogSec=") for line in lines)


@pytest.mark.usefixtures("needs_analyze")
@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"edge_agent_credentials": {"mqtt-password": "x", "tls-key": "y"}},
        {"edge_agent_icmp_raw": True},
    ],
    ids=["defaults", "credentials", "icmp"],
)
def test_rendered_unit_verifies_clean(tmp_path: Path, overrides: dict[str, Any]) -> None:
    fake_install(tmp_path)
    unit = tmp_path / "edge-agent.service"
    unit.write_text(render_unit(edge_agent_prefix=str(tmp_path), **overrides))
    result = verify(unit)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.usefixtures("needs_analyze")
def test_restart_back_off_only_where_systemd_knows_it(tmp_path: Path) -> None:
    """RestartSteps= exists from systemd 254 on; older systemd must not see it (it would warn)."""
    version = int(
        subprocess.run(
            ["systemd-analyze", "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.split()[1]
    )
    fake_install(tmp_path)
    unit = tmp_path / "edge-agent.service"
    text = render_unit(edge_agent_prefix=str(tmp_path), edge_agent_systemd_version=version)
    unit.write_text(text)
    assert ("RestartSteps=" in text) == (version >= 254)
    result = verify(unit)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.usefixtures("needs_analyze")
def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """Guards the guard: a wrong type and a missing binary are reported."""
    unit = tmp_path / "edge-agent.service"
    unit.write_text(render_unit(edge_agent_prefix=str(tmp_path)).replace("Type=notify", "Type=notfy"))
    result = verify(unit)
    assert "notfy" in result.stderr
    assert "not executable" in result.stderr


def test_cli_prints_the_packaged_unit(capsys: pytest.CaptureFixture[str]) -> None:
    from edge_agent.cli import main

    assert main(["unit"]) == 0
    assert capsys.readouterr().out == PACKAGED.read_text()
    assert os.access(PACKAGED, os.R_OK)


@pytest.mark.usefixtures("needs_analyze")
def test_security_exposure_is_low(tmp_path: Path) -> None:
    """`systemd-analyze security` scores the sandbox (0 safe .. 10 exposed); printed for the record."""
    fake_install(tmp_path)
    unit = tmp_path / "edge-agent.service"
    unit.write_text(render_unit(edge_agent_prefix=str(tmp_path)))
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    overall = [line for line in result.stdout.splitlines() if "Overall exposure level" in line]
    assert overall, result.stdout + result.stderr
    print(overall[0])
    exposure = float(overall[0].split(":")[1].split()[0])
    assert exposure <= 2.0, result.stdout


def test_unit_confines_devices_and_system_calls() -> None:
    lines = set(PACKAGED.read_text().splitlines())
    for setting in ("SystemCallFilter=@system-service", "ProtectClock=yes", "ProtectKernelLogs=yes",
                    "ProtectHostname=yes", "ProtectProc=invisible", "DevicePolicy=closed",
                    "DeviceAllow=char-ttyUSB rw", "DeviceAllow=char-ttyS rw"):  # fmt: skip
        assert setting in lines, setting
