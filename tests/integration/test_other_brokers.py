"""The agent against more than mosquitto: real brokers that speak MQTT 3.1.1 only.

amqtt (PyPI) never answers an MQTT 5 CONNECT that carries a will (it parses it as 3.1.1 and waits
for bytes that never come); nats-server (Debian) refuses it with CONNACK return code 1. With
`protocol: auto` the agent must fall back to 3.1.1 either way and remember it. Presence, state,
events, commands and a reconnect are proved against each, and a broker that lost its retained
messages (restarted without its store) gets every device's state again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.enums import MQTTProtocolVersion
from support.agent import AgentProcess, running_agent, wait_until, write_config
from support.amqtt_broker import AmqttBroker
from support.nats_broker import NatsBroker

pytestmark = pytest.mark.integration

ROOT = "edge/v1/cab-test"
V311 = MQTTProtocolVersion.MQTTv311
DEVICES = [
    {"type": "host", "device_id": "host"},
    {"type": "pulse", "device_id": "pulse", "poll_interval_s": 1},
]


@pytest.fixture
def amqtt(tmp_path: Path) -> Iterator[AmqttBroker]:
    broker = AmqttBroker(tmp_path / "amqtt").start()
    yield broker
    broker.stop()


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsBroker]:
    broker = NatsBroker(tmp_path / "nats").start()
    yield broker
    broker.stop()


@pytest.fixture(params=["amqtt", "nats"])
def only_311(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


@pytest.fixture(params=["mosquitto", "amqtt", "nats"])
def any_broker(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("broker" if request.param == "mosquitto" else request.param)


def _online(message: Any) -> bool:
    return bool(message.topic == f"{ROOT}/status" and message.json()["state"] == "online")


def _state_of(device_id: str) -> Callable[[Any], bool]:
    return lambda m: m.topic == f"{ROOT}/device/{device_id}/state"


def _meta_of(device_id: str) -> Callable[[Any], bool]:
    return lambda m: m.topic == f"{ROOT}/device/{device_id}/meta"


async def test_auto_falls_back_to_3_1_1_and_everything_works(
    only_311: Any, subscriber_factory: Any, tmp_path: Path
) -> None:
    # amqtt gives no CONNACK to MQTT 5; nats answers "unacceptable protocol version".
    central = subscriber_factory(only_311.host, only_311.port, [f"{ROOT}/#"], protocol=V311)
    central.wait_connected()
    config = write_config(tmp_path, port=only_311.port, mqtt={"connect_timeout_s": 3}, devices=DEVICES)
    async with running_agent(config) as agent:
        await central.until(_online, timeout=30)
        assert agent.link.protocol == V311
        await central.until(_state_of("host"))
        await central.until(lambda m: m.topic == f"{ROOT}/event" and m.json()["type"] == "pulse")
        await central.apublish(f"{ROOT}/cmd/ping", json.dumps({"transaction": "t-1"}).encode())
        reply = (await central.until(lambda m: m.topic == f"{ROOT}/cmd-reply")).json()
        assert (reply["transaction"], reply["status"]) == ("t-1", "ok")
        # A crash of the broker: the agent comes back, on 3.1.1 at once, and is present again.
        attempts = agent.link.connect_attempts
        only_311.kill()
        central.wait_disconnected()
        central.clear()
        only_311.start()
        central.wait_connected()
        await central.until(_online, timeout=30)
        assert agent.link.protocol == V311
        assert agent.link.connect_attempts > attempts
    # The version is remembered across a restart of the agent: the first attempt is 3.1.1.
    async with running_agent(config) as agent:
        await wait_until(agent.link.connected.is_set, timeout=10)
        assert (agent.link.protocol, agent.link.connect_attempts) == (V311, 1)


async def test_every_device_state_is_republished_after_the_broker_lost_its_retained_messages(
    any_broker: Any, subscriber_factory: Any, tmp_path: Path
) -> None:
    # Compact telemetry: units go in the retained `meta`, which must come back too.
    config = write_config(tmp_path, port=any_broker.port, devices=DEVICES, mqtt={"telemetry_units": "meta"})
    watcher = subscriber_factory(any_broker.host, any_broker.port, [f"{ROOT}/device/+/+"], protocol=V311)
    watcher.wait_connected()
    async with running_agent(config) as agent:
        await wait_until(lambda: len(agent.live.devices) == 2 and agent.link.connected.is_set())
        await watcher.until(_meta_of("host"))
        any_broker.kill()  # no persistence: every retained message is gone
        await wait_until(lambda: not agent.link.connected.is_set())
        watcher.wait_disconnected()
        watcher.clear()
        any_broker.start()
        watcher.wait_connected()
        # The republished states reach the broker (the watcher sees them, live or retained) ...
        for device_id in ("host", "pulse"):
            await watcher.until(_state_of(device_id), timeout=20)
        await watcher.until(_meta_of("host"))
        # ... so a subscriber joining now learns the whole cabinet from retained messages alone.
        late = subscriber_factory(any_broker.host, any_broker.port, [f"{ROOT}/#"], protocol=V311)
        late.wait_connected()
        await late.until(lambda m: _online(m) and m.retain)
        for device_id in ("host", "pulse"):
            state = await late.until(lambda m, d=device_id: _state_of(d)(m) and m.retain)
            assert state.json()["device_id"] == device_id
        meta = await late.until(lambda m: _meta_of("host")(m) and m.retain)
        assert meta.json()["units"]


async def test_last_will_after_kill_9_on_a_3_1_1_broker(
    only_311: Any, subscriber_factory: Any, tmp_path: Path
) -> None:
    central = subscriber_factory(only_311.host, only_311.port, [f"{ROOT}/status"], protocol=V311)
    central.wait_connected()
    config = write_config(tmp_path, port=only_311.port, mqtt={"connect_timeout_s": 3})
    with AgentProcess(config) as agent:
        await central.until(_online, timeout=30)
        agent.kill()
    lost = await central.until(lambda m: m.json()["state"] == "offline", timeout=15)  # 1.5 x keepalive 5 s
    assert lost.json()["reason"] == "lost"
