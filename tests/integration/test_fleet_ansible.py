"""The fleet rollout over real SSH: install, idempotency, a gated upgrade, a failed upgrade rolled back.

The test host is an OpenSSH server in a network namespace this test creates (tests/support/netns.py);
Ansible runs in a second namespace, so the only addresses involved are the two ends of a veth
pair that exist inside those namespaces. Three cabinets share that host, each under its own
install prefix in a temporary folder (the file system is shared with this machine).

systemd is NOT running on this test host (PID 1 is not systemd). The role's "external" service
manager starts the agent from the installed unit file with tests/support/unit_runner.py (same
ExecStart, user, groups and LoadCredential; no sandboxing, no watchdog, no Restart=). The unit
itself is checked with `systemd-analyze verify`, by the role on the host and by
tests/unit/test_systemd_unit.py. No test here pretends that systemd started a service.

The tests run in order and share one module fixture: each step starts from the previous one.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from support.netns import CABINET_ADDRESS, NetnsLab, unavailable_reason
from support.requirements import missing

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

REPO = Path(__file__).parents[2]
ANSIBLE_DIR = REPO / "deploy" / "ansible"
VENV_BIN = Path(sys.executable).parent
CABINETS = ("cab-t1", "cab-t2")
# Dependency wheels are downloaded once and reused by later runs (build/ is not versioned).
WHEEL_CACHE = REPO / "build" / "wheelhouse-cache"
PLAYBOOK_TIMEOUT_S = 300


@dataclass
class Fleet:
    root: Path
    net: NetnsLab
    inventory: Path
    user: str

    def prefix(self, cabinet: str) -> Path:
        return self.root / "hosts" / cabinet

    def home(self, cabinet: str) -> Path:
        return self.prefix(cabinet) / "opt" / "edge-agent"

    def active_version(self, cabinet: str, link: str = "current") -> str:
        return os.readlink(self.home(cabinet) / link).rsplit("/", 1)[-1]

    def playbook(self, name: str, *extra: str) -> subprocess.CompletedProcess[str]:
        environ = {
            **os.environ,
            "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
            "ANSIBLE_HOME": str(self.root / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(self.root / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(self.root / "ansible-remote"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.root / "cp"),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_CALLBACK_PLUGINS": str(REPO / "tests" / "support" / "ansible_callbacks"),
            "ANSIBLE_CALLBACKS_ENABLED": "task_timing",
            "TASK_TIMING_FILE": str(self.root / "task-timing.log"),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        }
        argv = [
            str(VENV_BIN / "ansible-playbook"),
            "-i",
            str(self.inventory),
            str(ANSIBLE_DIR / name),
            *extra,
        ]
        result = subprocess.run(
            self.net.in_controller(*argv),
            capture_output=True,
            text=True,
            env=environ,
            timeout=PLAYBOOK_TIMEOUT_S,
            check=False,
        )
        log = self.root / "playbook.log"
        with log.open("a") as handle:
            handle.write(
                f"\n===== {name} {' '.join(extra)} (rc={result.returncode})\n{result.stdout}\n{result.stderr}"
            )
        return result

    def health(self, cabinet: str, version: str) -> dict[str, object]:
        binary = self.home(cabinet) / "current" / "bin" / "edge-agent"
        config = self.prefix(cabinet) / "etc" / "edge-agent" / "agent.yaml"
        done = subprocess.run(
            [str(binary), "health", "--config", str(config), "--expect-version", version, "--wait-s", "20"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        report: dict[str, object] = json.loads(done.stdout)
        return report


def failures(result: subprocess.CompletedProcess[str]) -> str:
    """What to show when a playbook run was not as expected: the failed tasks and the recap."""
    lines = result.stdout.splitlines()
    shown = [line[:2000] for line in lines if line.startswith(("fatal:", "failed:", "[ERROR]"))]
    return "\n".join([*shown, *lines[-8:], result.stderr[-2000:]])


def task_runs(output: str, task: str) -> list[list[str]]:
    """Hosts that ran `task` (ok or changed), one list per time the task header appears."""
    runs = []
    for block in output.split("\nTASK [")[1:]:
        if block.startswith(task):
            runs.append(re.findall(r"^(?:ok|changed): \[([^\]]+)\]", block, flags=re.MULTILINE))
    return runs


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines -> {host: {ok, changed, failed, ...}}."""
    hosts: dict[str, dict[str, int]] = {}
    for line in output.split("PLAY RECAP", 1)[-1].splitlines():
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if match:
            hosts[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return hosts


def build_bundles(dist: Path, work: Path) -> None:
    """0.1.0 (the checkout), 0.2.0 (a newer version) and 0.3.0 (a defect: it dies on start)."""
    script = REPO / "deploy" / "build-wheelhouse.sh"
    environ = {**os.environ, "PYTHON": sys.executable, "WHEELHOUSE_CACHE": str(WHEEL_CACHE)}

    def build(*args: str, check: bool = True) -> bool:
        done = subprocess.run(
            [str(script), "--out", str(dist), *args], env=environ, timeout=300, capture_output=True, text=True
        )
        assert done.returncode == 0 or not check, (
            f"build-wheelhouse.sh {' '.join(args)}: {done.stderr[-3000:]}"
        )
        return done.returncode == 0

    # Offline when earlier runs filled the cache; otherwise (first run) the dependency wheels are downloaded.
    if not build("--version", "0.1.0", "--offline", check=False):
        build("--version", "0.1.0")
    build("--version", "0.2.0", "--offline")
    broken = work / "broken-source"
    broken.mkdir()
    shutil.copy(REPO / "pyproject.toml", broken)
    shutil.copytree(REPO / "edge_agent", broken / "edge_agent", ignore=shutil.ignore_patterns("__pycache__"))
    app = broken / "edge_agent" / "runtime" / "agent.py"  # the composition root: importing it fails
    app.write_text(app.read_text() + '\nraise RuntimeError("simulated defect: this version dies on start")\n')
    build("--version", "0.3.0", "--offline", "--source", str(broken))


def write_inventory(root: Path, net: NetnsLab, user: str) -> Path:
    runner = REPO / "tests" / "support" / "unit_runner.py"
    hosts = {}
    for cabinet in CABINETS:
        prefix = root / "hosts" / cabinet
        unit = prefix / "etc" / "systemd" / "system" / "edge-agent.service"
        command = f"/usr/bin/python3 {runner} {{}} --unit {unit} --run-dir {prefix}/run/edge-agent"
        hosts[cabinet] = {
            "edge_agent_prefix": str(prefix),
            "edge_agent_cabinet_id": cabinet,
            "edge_agent_site": "Test bench",
            "edge_agent_external_commands": {a: command.format(a) for a in ("start", "restart", "stop")},
            "edge_agent_devices": [
                {"type": "host", "device_id": "host", "name": "Cabinet controller", "poll_interval_s": 5}
            ],
        }
    common = {
        "ansible_host": CABINET_ADDRESS,
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(net.client_key),
        "ansible_ssh_common_args": " ".join(net.ssh_options()[:-2]),
        "ansible_python_interpreter": "/usr/bin/python3",
        "edge_agent_bundle_dir": str(root / "dist"),
        "edge_agent_check_command": str(VENV_BIN / "edge-agent"),
        "edge_agent_service_manager": "external",
        "edge_agent_user": user,
        "edge_agent_groups": ["dialout", f"{user}-gpio"],
        "edge_agent_mqtt": {"host": "127.0.0.1", "port": 1883},
        "edge_agent_credentials": {"mqtt-token": "not-used-by-the-test-broker"},
        "edge_agent_health_wait_s": 15,
        "edge_agent_health_require_broker": True,
        "edge_agent_flush_wait_s": 10,
        # Speed: .pyc compilation is the slowest part of a venv build; cabinets keep the default.
        "edge_agent_pip_compile": False,
    }
    inventory = {
        "cabinets": {
            "vars": common,
            "children": {"district_test": {"children": {"site_bench": {"hosts": hosts}}}},
        }
    }
    path = root / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    reason = unavailable_reason()
    if reason:
        missing(reason)
    if not (VENV_BIN / "ansible-playbook").exists():
        missing("ansible-core is not installed: pip install -e '.[fleet]'")
    root = Path(tempfile.mkdtemp(prefix="ea-fleet-"))
    root.chmod(0o755)  # the service user must reach its venv, config and state below here
    user = f"eat{secrets.token_hex(3)}"
    net = NetnsLab(root)
    try:
        build_bundles(root / "dist", root)
        net.start()
        yield Fleet(root, net, write_inventory(root, net, user), user)
    finally:
        _teardown(root, net, user)


def _teardown(root: Path, net: NetnsLab, user: str) -> None:
    for cabinet in CABINETS:
        prefix = root / "hosts" / cabinet
        unit = prefix / "etc" / "systemd" / "system" / "edge-agent.service"
        if unit.exists():
            subprocess.run(
                [sys.executable, str(REPO / "tests/support/unit_runner.py"), "stop", "--unit", str(unit),
                 "--run-dir", str(prefix / "run" / "edge-agent")],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
    net.stop()
    for command in (["userdel", user], ["groupdel", user], ["groupdel", f"{user}-gpio"]):
        subprocess.run(command, capture_output=True, timeout=30, check=False)
    if os.environ.get("EDGE_AGENT_KEEP_FLEET_TEST"):
        print(f"kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


def test_check_mode_on_a_fresh_cabinet_changes_nothing(fleet: Fleet) -> None:
    result = fleet.playbook("site.yml", "--check", "--diff", "--limit", "cab-t1")
    assert result.returncode == 0, failures(result)
    assert recap(result.stdout)["cab-t1"]["changed"] > 0  # it says what it would do...
    assert "cabinet:\n+  id: cab-t1" in result.stdout  # ...down to the configuration it would write
    assert not fleet.prefix("cab-t1").exists()  # ...and does none of it
    assert fleet.user not in {user.pw_name for user in pwd.getpwall()}


def test_fresh_install(fleet: Fleet) -> None:
    result = fleet.playbook("site.yml")
    assert result.returncode == 0, failures(result)
    for cabinet in CABINETS:
        assert recap(result.stdout)[cabinet]["failed"] == 0
        assert fleet.active_version(cabinet) == "0.1.0"
        report = fleet.health(cabinet, "0.1.0")
        assert report["ok"], report
        config = fleet.prefix(cabinet) / "etc" / "edge-agent" / "agent.yaml"
        assert (config.stat().st_mode & 0o777, grp.getgrgid(config.stat().st_gid).gr_name) == (
            0o640,
            fleet.user,
        )
        state = fleet.prefix(cabinet) / "var" / "lib" / "edge-agent"
        assert pwd.getpwuid(state.stat().st_uid).pw_name == fleet.user
    groups = {g.gr_name for g in grp.getgrall() if fleet.user in g.gr_mem}
    assert groups == {"dialout", f"{fleet.user}-gpio"}
    assert "Verify the unit with systemd-analyze" in result.stdout


def test_second_run_changes_nothing(fleet: Fleet) -> None:
    result = fleet.playbook("site.yml")
    assert result.returncode == 0, failures(result)
    assert {host: counts["changed"] for host, counts in recap(result.stdout).items()} == dict.fromkeys(
        CABINETS, 0
    )


def test_check_diff_shows_a_change_and_makes_none(fleet: Fleet) -> None:
    config = fleet.prefix("cab-t1") / "etc" / "edge-agent" / "agent.yaml"
    before = config.read_text()
    result = fleet.playbook(
        "site.yml",
        "--check",
        "--diff",
        "--tags",
        "config",
        "--limit",
        "cab-t1",
        "-e",
        "edge_agent_log_level=DEBUG",
    )
    assert result.returncode == 0, failures(result)
    assert "-  level: INFO" in result.stdout
    assert "+  level: DEBUG" in result.stdout
    assert recap(result.stdout)["cab-t1"]["changed"] >= 1
    assert config.read_text() == before


def test_invalid_config_is_refused_on_the_controller(fleet: Fleet) -> None:
    config = fleet.prefix("cab-t1") / "etc" / "edge-agent" / "agent.yaml"
    before = config.read_text()
    result = fleet.playbook(
        "site.yml",
        "--tags",
        "config",
        "--limit",
        "cab-t1",
        "-e",
        '{"edge_agent_mqtt": {"host": "x", "port": 0}}',
    )
    assert result.returncode != 0
    assert "mqtt.port" in result.stdout
    assert config.read_text() == before


def test_upgrade_passes_the_health_gate(fleet: Fleet) -> None:
    # An interrupted earlier staging left a half-built venv on the canary: rebuilt, not trusted.
    half_built = fleet.home("cab-t1") / "venvs" / "0.2.0"
    half_built.mkdir()
    (half_built / "left-over").write_text("interrupted")
    home = fleet.home("cab-t2")
    stale = [
        home / "venvs" / "0.0.9",
        home / "releases" / "0.0.9",
        home / "bundles" / "edge-agent-0.0.9-wheelhouse.tar",
    ]
    for path in stale[:2]:
        path.mkdir()
    stale[2].write_bytes(b"")
    result = fleet.playbook(
        "upgrade.yml",
        "-e",
        "edge_agent_version=0.2.0",
        "-e",
        "edge_agent_batch=50%",
        "-e",
        "edge_agent_keep_versions=0",
    )
    assert result.returncode == 0, failures(result)
    for cabinet in CABINETS:
        assert (fleet.active_version(cabinet), fleet.active_version(cabinet, "previous")) == (
            "0.2.0",
            "0.1.0",
        )
        report = fleet.health(cabinet, "0.2.0")
        assert report["ok"], report
    assert not (half_built / "left-over").exists()
    # An older version beyond current and previous was removed; those two stay.
    assert not any(path.exists() for path in stale)
    assert sorted(p.name for p in (home / "venvs").iterdir()) == ["0.1.0", "0.2.0"]
    # Canary alone, then the rest in batches: the gate ran once per batch, in inventory order.
    assert task_runs(result.stdout, "edge_agent : Health gate") == [["cab-t1"], ["cab-t2"]]


def test_upgrade_failing_its_gate_is_rolled_back_and_stops_the_rollout(fleet: Fleet) -> None:
    result = fleet.playbook("upgrade.yml", "-e", "edge_agent_version=0.3.0", "-e", "edge_agent_batch=50%")
    assert result.returncode != 0
    counts = recap(result.stdout)
    assert counts["cab-t1"]["failed"] == 1
    assert "0.3.0 failed its health gate on cab-t1" in result.stdout, failures(result)
    assert "rolled back to 0.2.0, healthy." in result.stdout
    assert "Failed at Health gate (post-upgrade hook):" in result.stdout  # names the step that failed
    # The canary is back on 0.2.0 and healthy; the other cabinets were never switched. `previous`
    # still names the older version everywhere: a rollback must not lose it.
    for cabinet in CABINETS:
        assert fleet.active_version(cabinet) == "0.2.0"
        assert fleet.active_version(cabinet, "previous") == "0.1.0"
        assert fleet.health(cabinet, "0.2.0")["ok"]
    assert "NO MORE HOSTS LEFT" in result.stdout
    # Only the canary's batch reached the switch: the rollout stopped before the next batch.
    assert task_runs(result.stdout, "edge_agent : Point current at the new venv") == [["cab-t1"]]
