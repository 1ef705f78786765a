"""Acceptance of one cabinet as the centre sees it: presence, every device's state, commands, report.

Runs against the simulated cabinet by default (in `./dev.sh test`), or a bench cabinet named by
EDGE_AGENT_HIL_TARGET. Observes and sends harmless commands only.
"""

from __future__ import annotations

import json

import pytest
from support.subscriber import Received, Subscriber
from target import Target

pytestmark = pytest.mark.integration


def _state_settled(target: Target, device_id: str):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    topic = f"{target.root}/device/{device_id}/state"
    return lambda m: m.topic == topic and m.json()["state"] != "unknown"


def _command(central: Subscriber, target: Target, name: str, transaction: str, **args: object) -> Received:
    request = {"transaction": transaction, "operator": target.operator, "args": args}
    central.publish(f"{target.root}/cmd/{name}", json.dumps(request).encode())
    return central.wait_for(
        lambda m: m.topic == f"{target.root}/cmd-reply" and m.json()["transaction"] == transaction, timeout=30
    )


def test_cabinet_is_online_with_its_identity(target: Target, central: Subscriber) -> None:
    status = central.wait_for(lambda m: m.topic == f"{target.root}/status" and m.json()["state"] == "online",
                              timeout=target.settle_s).json()  # fmt: skip
    assert status["cabinet_id"] == target.cabinet_id and status["agent_version"]


def test_every_device_reaches_its_expected_state(target: Target, central: Subscriber) -> None:
    wrong = {}
    for device_id, expected in target.expect.items():
        state = central.wait_for(_state_settled(target, device_id), timeout=target.settle_s).json()
        latest = [m.json() for m in central.messages(f"{target.root}/device/{device_id}/state")][-1]
        codes = {fault["code"] for fault in latest["faults"]}
        if not expected.met_by(latest["state"], codes):
            wrong[device_id] = (latest["state"], sorted(codes), state["reason"])
    assert not wrong, f"devices not as expected: {wrong}"


def test_commands_answer_and_status_lists_every_device(target: Target, central: Subscriber) -> None:
    assert _command(central, target, "ping", "hil-ping").json()["status"] == "ok"
    status = _command(central, target, "get_status", "hil-status").json()
    assert status["status"] == "ok"
    assert set(target.expect) <= set(status["data"]["devices"])


def test_daily_report_covers_every_device(target: Target, central: Subscriber) -> None:
    reply = _command(central, target, "report_daily", "hil-report").json()
    assert reply["status"] == "ok", reply
    report = central.wait_for(f"{target.root}/report/daily", timeout=30).json()
    assert set(target.expect) <= {device["device_id"] for device in report["devices"]}
