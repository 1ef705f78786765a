"""The running agent keeps <data_dir>/health.json current and removes it on a clean stop."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.agent import running_agent, wait_until
from support.mosquitto import Broker

from edge_agent import __version__
from edge_agent.local.health_gate import check_health
from edge_agent.runtime.liveness_file import liveness_path, read_liveness

pytestmark = pytest.mark.integration


async def test_agent_writes_and_removes_its_liveness_file(tmp_path: Path, broker: Broker) -> None:
    config_file = tmp_path / "agent.yaml"
    config_file.write_text(
        f"cabinet: {{id: c1}}\nmqtt: {{host: 127.0.0.1, port: {broker.port}}}\nstorage: {{data_dir: state}}\n"
    )
    async with running_agent(config_file) as agent:
        await wait_until(liveness_path(tmp_path / "state").exists)  # a file has no event to await
        record = read_liveness(liveness_path(tmp_path / "state"))
        assert (record.version, record.pid, record.boot_id) == (__version__, os.getpid(), agent.boot_id)
        # The process check wants an edge-agent command line, which pytest's is not: only the rest here.
        report = check_health(tmp_path / "state", expect_version=__version__)
        assert {c.name: c.ok for c in report.checks if c.name != "process"} == {
            "liveness_file": True,
            "fresh": True,
            "version": True,
        }
    assert not liveness_path(tmp_path / "state").exists()
