"""Commands on `cmd/<name>`: hostile requests get an error reply and change nothing; good ones work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from support.agent import running_agent, write_config

pytestmark = pytest.mark.integration

ROOT = "edge/v1/cab-test"
TOO_BIG = json.dumps({"transaction": "big", "args": {"x": "y" * 20000}}).encode()

BAD = [
    ("ping", b"{not json", "malformed_json", None),
    ("ping", b"\xff\xfe\x00", "malformed_json", None),
    ("ping", b"[1, 2]", "invalid_request", None),
    ("ping", b"{}", "invalid_request", None),
    ("ping", json.dumps({"transaction": 5}).encode(), "invalid_request", None),
    ("ping", json.dumps({"transaction": "t-args", "args": "x"}).encode(), "invalid_request", "t-args"),
    ("ping", json.dumps({"transaction": "t-extra", "sudo": True}).encode(), "invalid_request", "t-extra"),
    ("ping", json.dumps({"transaction": "t-arg", "args": {"x": 1}}).encode(), "invalid_args", "t-arg"),
    ("format_disk", json.dumps({"transaction": "t-unknown"}).encode(), "unknown_command", "t-unknown"),
    ("ping", TOO_BIG, "payload_too_large", None),
]


def _online(message) -> bool:  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    # The agent subscribes to cmd/+ before it publishes its birth, so once the birth is seen, commands land.
    return bool(message.topic == f"{ROOT}/status" and message.json()["state"] == "online")


def _reply_to(transaction: str | None, command: str):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    def matches(message) -> bool:  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
        if message.topic != f"{ROOT}/cmd-reply":
            return False
        body = message.json()
        return body["transaction"] == transaction and body["command"] == command

    return matches


async def test_hostile_commands_get_error_replies_and_the_agent_keeps_answering(
    broker, subscriber_factory, tmp_path: Path
) -> None:
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/cmd-reply", f"{ROOT}/event"])
    central.wait_connected()
    config = write_config(tmp_path, port=broker.port, devices=[{"type": "host", "device_id": "host"}])
    async with running_agent(config) as agent:
        await central.until(lambda m: m.topic.endswith("/event") and m.json()["type"] == "state_changed")
        seq_before = agent.outbox.stats()
        for name, payload, code, transaction in BAD:
            central.clear()
            await central.apublish(f"{ROOT}/cmd/{name}", payload)
            reply = (await central.until(_reply_to(transaction, name))).json()
            assert (reply["status"], reply["error"]["code"], reply["data"]) == ("error", code, None), reply
        assert agent.outbox.stats().depth <= seq_before.depth  # nothing was queued by refused commands
        await central.apublish(
            f"{ROOT}/cmd/ping", json.dumps({"transaction": "alive", "operator": "ops1"}).encode()
        )
        reply = (await central.until(_reply_to("alive", "ping"))).json()
        assert reply["status"] == "ok" and reply["data"]["pong"] is True and reply["error"] is None


async def test_get_status_and_resend_birth(broker, subscriber_factory, tmp_path: Path) -> None:
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    central.wait_connected()
    config = write_config(tmp_path, port=broker.port, devices=[{"type": "script", "device_id": "cam"}])
    async with running_agent(config):
        await central.until(lambda m: m.topic == f"{ROOT}/device/cam/state" and m.json()["state"] == "ok")
        await central.apublish(f"{ROOT}/cmd/get_status", json.dumps({"transaction": "s1"}).encode())
        status = (await central.until(_reply_to("s1", "get_status"))).json()["data"]
        assert status["devices"]["cam"]["state"] == "ok"
        assert status["agent"]["broker_connected"] is True
        central.clear()
        await central.apublish(f"{ROOT}/cmd/resend_birth", json.dumps({"transaction": "b1"}).encode())
        await central.until(_reply_to("b1", "resend_birth"))
        await central.until(lambda m: m.topic == f"{ROOT}/status" and m.json()["state"] == "online")
        await central.until(f"{ROOT}/device/cam/state")


async def test_reply_echoes_mqtt5_correlation_data(broker, subscriber_factory, tmp_path: Path) -> None:
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/cmd-reply", f"{ROOT}/status"])
    central.wait_connected()
    async with running_agent(write_config(tmp_path, port=broker.port)):
        await central.until(_online)
        properties = Properties(PacketTypes.PUBLISH)
        properties.CorrelationData = b"corr-42"
        await central.apublish(
            f"{ROOT}/cmd/ping", json.dumps({"transaction": "c1"}).encode(), properties=properties
        )
        reply = await central.until(_reply_to("c1", "ping"))
    assert reply.correlation_data == b"corr-42"


async def test_flood_of_commands_is_throttled_and_the_agent_answers_after(
    broker, subscriber_factory, tmp_path: Path
) -> None:
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/cmd-reply", f"{ROOT}/status"])
    central.wait_connected()
    async with running_agent(write_config(tmp_path, port=broker.port)):
        await central.until(_online)
        for index in range(200):
            central.client.publish(f"{ROOT}/cmd/ping", json.dumps({"transaction": f"f{index}"}), qos=1)
        # Replies come in request order, so once a later ping is answered every flood reply is in.
        for attempt in range(50):
            await central.apublish(
                f"{ROOT}/cmd/ping", json.dumps({"transaction": f"after{attempt}"}).encode()
            )
            try:
                await central.until(
                    lambda m: m.json().get("transaction", "").startswith("after"), timeout=0.2
                )
                break
            except AssertionError:
                continue
        else:
            raise AssertionError("the agent stopped answering after a flood")
    answered = [m for m in central.messages(f"{ROOT}/cmd-reply") if m.json()["transaction"].startswith("f")]
    assert 10 <= len(answered) < 200
