"""A hung device only delays itself: the others keep their poll rate; it goes offline after the debounce."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from support.agent import running_agent, write_config

pytestmark = pytest.mark.integration

ROOT = "edge/v1/cab-test"


async def test_hung_device_does_not_delay_the_others(broker, subscriber_factory, tmp_path: Path) -> None:
    devices = [
        {
            "type": "hang",
            "device_id": "hung",
            "poll_interval_s": 0.5,
            "timeout_s": 2,
            "offline_after_failures": 2,
        },
        {"type": "pulse", "device_id": "pulse", "poll_interval_s": 0.1},
    ]
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/event", f"{ROOT}/device/+/state"])
    central.wait_connected()
    async with running_agent(write_config(tmp_path, port=broker.port, devices=devices)):
        offline = await central.until(
            lambda m: m.topic.endswith("hung/state") and m.json()["state"] == "offline", timeout=15
        )
    state = offline.json()
    assert state["cause"] == "device" and "no answer within 2 s" in state["reason"]
    pulses = [json.loads(m.payload) for m in central.messages(f"{ROOT}/event") if m.json()["type"] == "pulse"]
    # Two 2 s timeouts of the hung device passed; the pulse device kept polling every 0.1 s meanwhile.
    assert len(pulses) >= 25
    stamps = sorted(m.at for m in central.messages(f"{ROOT}/event") if m.json()["type"] == "pulse")
    assert max(b - a for a, b in itertools.pairwise(stamps)) < 1.0
