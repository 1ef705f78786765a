"""The agent against more than mosquitto: amqtt (PyPI), a real broker that speaks MQTT 3.1.1 only.

amqtt never answers an MQTT 5 CONNECT that carries a will (it parses it as 3.1.1 and waits for
bytes that never come): with `protocol: auto` the agent must fall back to 3.1.1 and remember it.
Presence, state, events, commands and a reconnect are then proved against it, and a broker that
lost its retained messages (restarted without persistence) gets every device's state again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.enums import MQTTProtocolVersion
from support.agent import running_agent, wait_until, write_config
from support.amqtt_broker import AmqttBroker

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


@pytest.fixture(params=["mosquitto", "amqtt"])
def any_broker(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "mosquitto":
        return request.getfixturevalue("broker")
    return request.getfixturevalue("amqtt")


def _online(message: Any) -> bool:
    return bool(message.topic == f"{ROOT}/status" and message.json()["state"] == "online")


def _state_of(device_id: str) -> Callable[[Any], bool]:
    return lambda m: m.topic == f"{ROOT}/device/{device_id}/state"


async def test_auto_falls_back_to_3_1_1_when_5_gets_no_connack_and_works(
    amqtt: AmqttBroker, subscriber_factory: Any, tmp_path: Path
) -> None:
    central = subscriber_factory(amqtt.host, amqtt.port, [f"{ROOT}/#"], protocol=V311)
    central.wait_connected()
    config = write_config(tmp_path, port=amqtt.port, mqtt={"connect_timeout_s": 2}, devices=DEVICES)
    async with running_agent(config) as agent:
        await central.until(_online, timeout=20)
        assert agent.link.protocol == V311
        await central.until(_state_of("host"))
        await central.until(lambda m: m.topic == f"{ROOT}/event" and m.json()["type"] == "pulse")
        await central.apublish(f"{ROOT}/cmd/ping", json.dumps({"transaction": "t-1"}).encode())
        reply = (await central.until(lambda m: m.topic == f"{ROOT}/cmd-reply")).json()
        assert (reply["transaction"], reply["status"]) == ("t-1", "ok")
        # A crash of the broker: the agent comes back, on 3.1.1 at once, and is present again.
        attempts = agent.link.connect_attempts
        amqtt.kill()
        central.wait_disconnected()
        central.clear()
        amqtt.start()
        central.wait_connected()
        await central.until(_online, timeout=20)
        assert agent.link.protocol == V311
        assert agent.link.connect_attempts > attempts
    # The version is remembered across a restart of the agent: the first attempt is 3.1.1.
    async with running_agent(config) as agent:
        await wait_until(agent.link.connected.is_set, timeout=10)
        assert (agent.link.protocol, agent.link.connect_attempts) == (V311, 1)


async def test_every_device_state_is_republished_after_the_broker_lost_its_retained_messages(
    any_broker: Any, subscriber_factory: Any, tmp_path: Path
) -> None:
    config = write_config(tmp_path, port=any_broker.port, devices=DEVICES)
    async with running_agent(config) as agent:
        await wait_until(lambda: len(agent.live.devices) == 2 and agent.outbox.stats().depth == 0)
        await wait_until(lambda: agent.link.connected.is_set())
        any_broker.kill()  # no persistence: every retained message is gone
        await wait_until(lambda: not agent.link.connected.is_set())
        any_broker.start()
        await wait_until(agent.link.connected.is_set, timeout=20)
        await wait_until(lambda: agent.outbox.stats().depth == 0)
        # A subscriber joining now learns the whole cabinet from retained messages alone.
        late = subscriber_factory(any_broker.host, any_broker.port, [f"{ROOT}/#"], protocol=V311)
        late.wait_connected()
        await late.until(lambda m: _online(m) and m.retain)
        for device_id in ("host", "pulse"):
            state = await late.until(lambda m, d=device_id: _state_of(d)(m) and m.retain)
            assert state.json()["device_id"] == device_id
