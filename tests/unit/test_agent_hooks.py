"""The agent's upgrade hooks keep the contract of firmware_hooks/README.md: env in, JSON out, exit code.

They run here as on a cabinet (system Python, a subprocess), against a fake install whose venv is
this checkout's environment (which reports the version the project's metadata names).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.processes import wait_exec

from edge_agent import __version__
from edge_agent.runtime.liveness_file import Liveness, liveness_path, write_liveness

HOOKS = Path(__file__).parents[2] / "firmware_hooks" / "agent"
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def install(tmp_path: Path) -> Path:
    """<home>/venvs/<version>/bin/edge-agent and <home>/current -> that venv; config and state beside."""
    venv = tmp_path / "home" / "venvs" / __version__ / "bin"
    venv.mkdir(parents=True)
    (venv / "edge-agent").symlink_to(VENV_BIN / "edge-agent")
    (tmp_path / "home" / "current").symlink_to(venv.parent)
    (tmp_path / "agent.yaml").write_text(
        "cabinet: {id: c1}\nmqtt: {host: 127.0.0.1}\nstorage: {data_dir: state}\n"
    )
    (tmp_path / "state").mkdir()
    return tmp_path


@pytest.fixture
def running_agent(install: Path) -> Iterator[int]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "edge-agent"])
    now = datetime.now(UTC)
    record = Liveness(
        version=__version__, boot_id="b", pid=process.pid, started_at=now, updated_at=now,
        broker_connected=True, outbox_depth=3,
    )  # fmt: skip
    wait_exec(process.pid)
    write_liveness(liveness_path(install / "state"), record)
    yield process.pid
    process.kill()
    process.wait()


def run_hook(name: str, install: Path, **variables: str) -> tuple[int, list[dict[str, object]]]:
    environ = {
        "PATH": os.environ["PATH"],
        "EDGE_AGENT_HOME": str(install / "home"),
        "EDGE_AGENT_CONFIG": str(install / "agent.yaml"),
        **variables,
    }
    done = subprocess.run(
        ["python3", str(HOOKS / name)], env=environ, capture_output=True, text=True, timeout=120, check=False
    )
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def test_post_passes_for_the_expected_version(install: Path, running_agent: int) -> None:
    code, records = run_hook(
        "post.py", install, EDGE_AGENT_EXPECT_VERSION=__version__, EDGE_AGENT_HEALTH_WAIT_S="0"
    )
    assert code == 0
    assert records[0]["type"] == "progress"
    assert records[-1]["type"] == "result"
    assert records[-1]["ok"] is True


def test_post_fails_for_another_version(install: Path, running_agent: int) -> None:
    code, records = run_hook(
        "post.py", install, EDGE_AGENT_EXPECT_VERSION="99.0", EDGE_AGENT_HEALTH_WAIT_S="0"
    )
    assert code == 1
    assert "version" in str(records[-1]["summary"])


def test_post_fails_when_no_agent_runs(install: Path) -> None:
    code, records = run_hook(
        "post.py", install, EDGE_AGENT_EXPECT_VERSION=__version__, EDGE_AGENT_HEALTH_WAIT_S="0"
    )
    assert code == 1
    assert "does not exist" in str(records[-1]["summary"])


def test_a_missing_variable_is_a_usage_error(install: Path) -> None:
    code, records = run_hook("post.py", install)
    assert code == 64
    assert records[-1]["fault"]["code"] == "hook_usage"  # type: ignore[index]  # a JSON document, typed as Any-valued


def test_pre_checks_the_new_venv_and_the_config_and_reports_the_outbox(
    install: Path, running_agent: int
) -> None:
    code, records = run_hook(
        "pre.py", install, EDGE_AGENT_TO_VERSION=__version__, EDGE_AGENT_FROM_VERSION="0.0.1",
        EDGE_AGENT_FLUSH_WAIT_S="0.5",
    )  # fmt: skip
    result = records[-1]
    assert code == 0, result
    assert {c["name"]: c["ok"] for c in result["checks"]} == {"new_venv": True, "config_accepted": True}  # type: ignore[union-attr]  # known to be present at this point of the test
    # The record is older than the hook and holds 3 messages: not flushed, reported, not refused.
    assert result["facts"]["outbox_flushed"] is False  # type: ignore[index]  # a JSON document, typed as Any-valued


def test_pre_refuses_a_config_the_new_version_rejects(install: Path, running_agent: int) -> None:
    (install / "agent.yaml").write_text("cabinet: {id: c1}\nmqtt: {host: 127.0.0.1, port: 0}\n")
    code, records = run_hook(
        "pre.py", install, EDGE_AGENT_TO_VERSION=__version__, EDGE_AGENT_FLUSH_WAIT_S="0"
    )
    assert code == 1
    assert "config_accepted" in str(records[-1]["summary"])


def test_pre_refuses_a_venv_of_another_version(install: Path) -> None:
    code, records = run_hook("pre.py", install, EDGE_AGENT_TO_VERSION="7.7.7")
    assert code == 1
    assert "new_venv" in str(records[-1]["summary"])
