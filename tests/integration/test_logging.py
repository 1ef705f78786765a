"""Logs: one line per state change, never one per poll; secrets redacted from every line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from support.agent import AgentProcess, running_agent, wait_until, write_config

pytestmark = pytest.mark.integration


async def test_a_failing_device_is_logged_once_not_at_every_poll(
    broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    device = {"type": "script", "device_id": "cam", "poll_interval_s": 0.05, "offline_after_failures": 2}
    config = write_config(tmp_path, port=broker.port, devices=[device])
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "script-cam.json").write_text(json.dumps({"fail": True, "error": "no route"}))
    with caplog.at_level(logging.INFO):
        async with running_agent(config) as agent:
            await wait_until(lambda: agent.live.devices["cam"].polls_failed >= 30)
    lines = [r.getMessage() for r in caplog.records if "cam" in r.getMessage()]
    assert lines == ["device cam: unknown -> offline (device: no route)"]


def test_broker_password_never_reaches_the_log(broker_factory, tmp_path: Path) -> None:
    password = "pw-Zq8-never-log-me"
    protected = broker_factory(passwords={"cab-test": "another-password"})  # so every attempt is refused
    config = write_config(
        tmp_path,
        port=protected.port,
        logging={"level": "DEBUG"},
        mqtt={"username": "cab-test", "password": {"env": "TEST_MQTT_PW"}},
    )
    with AgentProcess(config, env={"TEST_MQTT_PW": password}) as agent:
        agent.wait_log("broker refused the connection")  # at DEBUG: where a password would leak if it could
        assert agent.terminate() == 0
    assert password not in agent.log_text()
