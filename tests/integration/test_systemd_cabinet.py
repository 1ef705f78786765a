"""A cabinet with real systemd as PID 1: the role's systemd branch, the shipped unit, the rollout.

A Debian container (tests/support/container.py) boots systemd; the real `site.yml` and
`upgrade.yml` run inside it with Ansible's local connection (the controller's venv and this
checkout are bind-mounted read-only, so the container needs neither SSH nor a network: it has only
its own loopback). Then the unit is proven as systemd runs it: READY (Type=notify), the watchdog,
Restart=always, the sandbox and LoadCredential=. The tests share one container, in order.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from support.container import Container, booted
from support.container import unavailable_reason as container_unavailable
from support.requirements import missing
from test_fleet_ansible import ANSIBLE_DIR, REPO, VENV_BIN, build_bundles, failures

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

SERVICE = "edge-agent"
WATCHDOG_S = 6
TOKEN = "credential-from-the-vault"
HOME = "/opt/edge-agent"


@dataclass
class Cabinet:
    box: Container
    root: Path

    def playbook(self, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
        environ = [f"{k}={v}" for k, v in {
            "ANSIBLE_CONFIG": ANSIBLE_DIR / "ansible.cfg", "ANSIBLE_HOME": self.root / "ansible-home",
            "ANSIBLE_LOCAL_TEMP": self.root / "ansible-local", "ANSIBLE_REMOTE_TEMP": "/root/.ansible-tmp",
            "ANSIBLE_NOCOLOR": "1", "PATH": f"{VENV_BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
        }.items()]  # fmt: skip
        inventory = str(self.root / "inventory.yml")
        argv = ["env", "-i", *environ, str(VENV_BIN / "ansible-playbook"), "-i", inventory,
                str(ANSIBLE_DIR / name), *extra]  # fmt: skip
        result = self.box.run(*argv, check=False, timeout=600)
        with (self.root / "playbook.log").open("a") as log:
            log.write(
                f"\n===== {name} {' '.join(extra)} rc={result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def show(self, *properties: str) -> dict[str, str]:
        out = self.box.run("systemctl", "show", SERVICE, *[f"--property={p}" for p in properties]).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_for(self, what: str, test: object, timeout: float = 90) -> dict[str, str]:
        """Poll systemd's view of the service (it offers no event we can wait on from outside)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.show("ActiveState", "SubState", "MainPID", "NRestarts", "Result")
            if test(state):  # type: ignore[operator]  # a predicate over the properties
                return state
            if time.monotonic() > deadline:
                log = self.box.run("journalctl", "-u", SERVICE, "-n", "30", "--no-pager", check=False).stdout
                raise AssertionError(f"{what}: not within {timeout} s: {state}\n{log}")
            time.sleep(0.5)

    def as_agent(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run a command inside the running service's sandbox (its mount namespace, user and group)."""
        pid = self.show("MainPID")["MainPID"]
        uid = self.box.run("id", "-u", "edge-agent").stdout.strip()
        gid = self.box.run("id", "-g", "edge-agent").stdout.strip()
        return self.box.run("nsenter", "-t", pid, "-m", "-S", uid, "-G", gid, *argv, check=False)


def _inventory(root: Path) -> None:
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "/usr/bin/python3",
        "edge_agent_bundle_dir": str(root / "dist"),
        "edge_agent_check_command": str(VENV_BIN / "edge-agent"),
        "edge_agent_service_manager": "systemd",
        "edge_agent_watchdog_s": WATCHDOG_S,
        "edge_agent_restart_s": 1,
        "edge_agent_mqtt": {"host": "127.0.0.1", "port": 1883},
        "edge_agent_credentials": {"mqtt-token": TOKEN},
        "edge_agent_health_wait_s": 20,
        "edge_agent_health_require_broker": False,
        "edge_agent_flush_wait_s": 5,
        "edge_agent_pip_compile": False,
        "edge_agent_devices": [{"type": "host", "device_id": "host", "poll_interval_s": 5}],
    }
    inventory = {"cabinets": {"hosts": {"cab-sd1": host}}}
    (root / "inventory.yml").write_text(yaml.safe_dump(inventory))


@pytest.fixture(scope="module")
def cabinet() -> Iterator[Cabinet]:
    reason = container_unavailable()
    if reason:
        missing(reason)
    if not (VENV_BIN / "ansible-playbook").exists():
        missing("ansible-core is not installed: pip install -e '.[fleet]'")
    root = Path(tempfile.mkdtemp(prefix="ea-systemd-"))
    root.chmod(0o755)
    try:
        build_bundles(root / "dist", root)
        _inventory(root)
        python_home = Path(os.path.realpath(sys.executable)).parents[1]  # the venv's interpreter
        with booted(root / "container.log", [root, REPO, python_home]) as box:
            yield Cabinet(box, root)
    finally:
        if os.environ.get("EDGE_AGENT_KEEP_FLEET_TEST"):
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def test_site_installs_and_systemd_reports_ready(cabinet: Cabinet) -> None:
    result = cabinet.playbook("site.yml", "-e", "edge_agent_version=0.1.0")
    assert result.returncode == 0, failures(result)
    # Type=notify: "active (running)" only after the agent sent READY=1.
    state = cabinet.wait_for("active after READY", lambda s: s["ActiveState"] == "active")
    assert state["SubState"] == "running"
    unit = cabinet.show("Type", "WatchdogUSec", "Restart")
    assert (unit["Type"], unit["Restart"]) == ("notify", "always")
    print(
        cabinet.box.run(
            "systemd-analyze", "security", SERVICE, "--no-pager", check=False
        ).stdout.splitlines()[-1]
    )


def test_restart_always_after_kill_9(cabinet: Cabinet) -> None:
    before = cabinet.show("MainPID", "NRestarts")
    cabinet.box.run("kill", "-9", before["MainPID"])
    cabinet.wait_for(
        "restarted after SIGKILL",
        lambda s: s["ActiveState"] == "active" and s["MainPID"] not in ("0", before["MainPID"])
        and int(s["NRestarts"]) > int(before["NRestarts"]),
    )  # fmt: skip


def test_watchdog_kills_and_restarts_a_wedged_agent(cabinet: Cabinet) -> None:
    before = cabinet.show("MainPID", "NRestarts")
    cabinet.box.run("kill", "-STOP", before["MainPID"])  # alive, but its loop pings no more
    cabinet.wait_for(
        "watchdog restart",
        lambda s: s["ActiveState"] == "active" and s["MainPID"] != before["MainPID"]
        and int(s["NRestarts"]) > int(before["NRestarts"]), timeout=WATCHDOG_S * 4 + 60,
    )  # fmt: skip
    journal = cabinet.box.run("journalctl", "-u", SERVICE, "--no-pager", check=False).stdout
    assert "Watchdog timeout" in journal, journal[-2000:]


def test_sandbox_allows_writing_only_the_state_folder(cabinet: Cabinet) -> None:
    assert cabinet.as_agent("touch", "/var/lib/edge-agent/probe").returncode == 0
    for outside in ("/opt/edge-agent/probe", "/etc/probe", "/usr/probe", "/root/probe"):
        denied = cabinet.as_agent("touch", outside)
        assert denied.returncode != 0, f"the agent could write {outside}"


def test_load_credential_hands_the_secret_to_the_service_only(cabinet: Cabinet) -> None:
    inside = cabinet.as_agent("cat", f"/run/credentials/{SERVICE}.service/mqtt-token")
    assert inside.stdout.strip() == TOKEN, inside.stderr


def test_upgrade_then_a_version_dying_before_ready_is_rolled_back(cabinet: Cabinet) -> None:
    assert cabinet.playbook("upgrade.yml", "-e", "edge_agent_version=0.2.0").returncode == 0
    result = cabinet.playbook("upgrade.yml", "-e", "edge_agent_version=0.3.0")
    assert result.returncode != 0
    assert "Failed at Restart the service (systemd)" in result.stdout, failures(result)
    assert "simulated defect: this version dies on start" in result.stdout  # systemd's log, in the message
    links = {link: cabinet.box.run("readlink", f"{HOME}/{link}").stdout.strip().rsplit("/", 1)[-1]
             for link in ("current", "previous")}  # fmt: skip
    assert links == {"current": "0.2.0", "previous": "0.1.0"}
    cabinet.wait_for("rolled back and running", lambda s: s["ActiveState"] == "active")
