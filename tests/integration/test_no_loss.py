"""No loss: the outbox carries every sequenced message across broker outages and agent crashes.

A central subscriber with a persistent session (as central systems should run) checks that every
`seq` arrives, in order, with repeats detectable by `id`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.agent import AgentProcess, write_config
from support.sequence import assert_complete_sequence

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Every sequenced topic: seq runs over events, states, reports and audit records together.
SEQUENCED = [f"edge/v1/cab-test/{topic}" for topic in ("event", "device/+/state", "report/daily", "audit")]
PULSE = {"type": "pulse", "device_id": "pulse", "poll_interval_s": 0.05}
OUTAGES = 5
OUTAGE_S = 10


def _event(kind: str, **detail: object):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    def matches(message) -> bool:  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
        if not message.topic.endswith("/event"):
            return False
        body = message.json()
        return body["type"] == kind and all(body["detail"].get(k) == v for k, v in detail.items())

    return matches


def _pulses_at_least(count: int):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    def matches(message) -> bool:  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
        if not message.topic.endswith("/event"):
            return False
        body = message.json()
        return body["type"] == "pulse" and body["detail"]["n"] >= count

    return matches


def _wait_for_file(path: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():  # mosquitto's autosave has no event to wait on
        assert time.monotonic() < deadline, f"{path} not written"
        time.sleep(0.05)


def test_every_seq_arrives_across_five_broker_outages(
    broker_factory, subscriber_factory, tmp_path: Path
) -> None:
    broker = broker_factory(persistence=True)
    central = subscriber_factory(
        broker.host, broker.port, SEQUENCED, client_id="central", persistent_session=True
    )
    central.wait_connected()
    with AgentProcess(write_config(tmp_path, port=broker.port, devices=[PULSE])) as agent:
        central.wait_for(_pulses_at_least(10), timeout=15)
        _wait_for_file(broker.workdir / "mosquitto.db")  # central's session is saved before the first crash
        for _ in range(OUTAGES):
            # A stop, not kill -9: a killed mosquitto loses what it held in memory for the subscriber
            # since its last autosave, which is the broker's durability, not the agent's. The agent's
            # side of a crash is the same either way (its connection drops); its own kill -9 is below.
            broker.stop()
            time.sleep(OUTAGE_S)  # the outage itself: the agent keeps producing into its outbox meanwhile
            broker.restart()
            central.wait_connected(timeout=15)
        assert agent.terminate(timeout=60) == 0
    central.wait_for(_event("agent_stopping"), timeout=30)
    report = assert_complete_sequence(central.messages())
    assert report.first == 1
    # 5 x 10 s of outage at 20 pulses/s: the replayed backlog is most of the stream.
    assert report.unique > OUTAGES * OUTAGE_S * 10


def test_outbox_resumes_after_kill_9_of_the_agent(broker_factory, subscriber_factory, tmp_path: Path) -> None:
    broker = broker_factory()
    central = subscriber_factory(broker.host, broker.port, SEQUENCED)
    central.wait_connected()
    config = write_config(tmp_path, port=broker.port, devices=[PULSE])
    with AgentProcess(config) as first:
        central.wait_for(_pulses_at_least(40), timeout=15)
        first.kill()
    started = [m.json()["detail"]["boot_id"] for m in central.messages() if _event("agent_started")(m)]
    with AgentProcess(config) as second:
        restarted = central.wait_for(
            lambda m: _event("agent_started")(m) and m.json()["detail"]["boot_id"] not in started, timeout=15
        )
        central.wait_for(lambda m: _pulses_at_least(20)(m) and m.json()["seq"] > restarted.json()["seq"])
        assert second.terminate() == 0
    central.wait_for(_event("agent_stopping"), timeout=15)
    report = assert_complete_sequence(central.messages())
    assert report.first == 1
