"""Every payload the agent publishes matches the JSON Schema shipped for its topic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.agent import running_agent, write_config
from support.contract import assert_valid

pytestmark = pytest.mark.integration

ROOT = "edge/v1/cab-test"


@pytest.mark.parametrize("units", ["inline", "meta"])
async def test_all_published_payloads_validate(
    broker, subscriber_factory, tmp_path: Path, units: str
) -> None:
    devices = [
        {"type": "host", "device_id": "host", "poll_interval_s": 0.2},
        {"type": "pulse", "device_id": "pulse", "poll_interval_s": 0.1},
        {"type": "script", "device_id": "flaky", "poll_interval_s": 0.1, "offline_after_failures": 1},
    ]
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    central.wait_connected()
    config = write_config(tmp_path, port=broker.port, devices=devices, mqtt={"telemetry_units": units})
    script = tmp_path / "data" / "script-flaky.json"
    async with running_agent(config):
        await central.until(f"{ROOT}/device/flaky/state")
        script.write_text(json.dumps({"faults": [{"code": "lamp", "severity": "critical"}]}))
        await central.until(lambda m: m.topic.endswith("/event") and m.json()["type"] == "fault_raised")
        script.write_text(json.dumps({"fail": True}))
        await central.until(lambda m: m.topic.endswith("flaky/state") and m.json()["state"] == "offline")
        await central.apublish(f"{ROOT}/cmd/ping", json.dumps({"transaction": "t1"}).encode())
        await central.apublish(f"{ROOT}/cmd/nope", b"{not json")
        await central.until(lambda m: m.topic.endswith("cmd-reply") and m.json()["command"] == "nope")
        await central.until(f"{ROOT}/device/host/telemetry")
    await central.until(lambda m: m.topic.endswith("/status") and m.json()["state"] == "offline")
    published_by_agent = [
        m for m in central.messages() if m.topic != f"{ROOT}/cmd/nope"
    ]  # ours, broken on purpose
    used = {assert_valid(message, ROOT) for message in published_by_agent}
    assert used >= {"status", "device-state", "device-telemetry", "event", "cmd-reply", "audit"}
    telemetry = [m.json() for m in published_by_agent if m.topic.endswith("/telemetry")]
    if units == "meta":  # compact: the units once, retained, instead of in every message
        assert "device-meta" in used and not any("units" in body for body in telemetry)
        meta = [m.json() for m in published_by_agent if m.topic == f"{ROOT}/device/host/meta"]
        assert meta[0]["units"]["cpu_percent"] == "%"
    else:
        assert "device-meta" not in used and all("units" in body for body in telemetry)
