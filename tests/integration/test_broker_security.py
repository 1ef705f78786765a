"""The agent against a fleet broker: TLS with hostname check, password from a file, the shipped ACL.

Cabinet A can neither publish as cabinet B nor read B's commands; its credentials never reach a log.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.agent import AgentProcess, running_agent, wait_until, write_config

pytestmark = pytest.mark.integration

ACL = (Path(__file__).parents[2] / "deploy" / "mosquitto" / "acl").read_text()
PASSWORDS = {"cab-a": "pw-of-cab-a-1234", "cab-b": "pw-of-cab-b-5678", "central": "pw-central-9999"}


@pytest.fixture
def fleet_broker(broker_factory, pki):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    return broker_factory(tls=pki, passwords=PASSWORDS, acl=ACL)


@pytest.fixture
def central(fleet_broker, subscriber_factory, pki):  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    client = subscriber_factory(
        fleet_broker.host,
        fleet_broker.port,
        ["edge/v1/#"],
        username="central",
        password=PASSWORDS["central"],
        ca_file=pki.ca_file,
    )
    client.wait_connected()
    return client


def _config(tmp_path: Path, broker, pki, *, cabinet_id: str, user: str) -> Path:  # type: ignore[no-untyped-def]  # a matcher over the subscriber's untyped messages
    secret = tmp_path / f"{cabinet_id}.secret"
    secret.write_text(PASSWORDS[user])
    return write_config(
        tmp_path / cabinet_id,
        port=broker.port,
        cabinet_id=cabinet_id,
        mqtt={
            "host": "localhost",
            "username": user,
            "password": {"file": str(secret)},
            "tls": {"ca_file": str(pki.ca_file)},
        },
        logging={"level": "DEBUG"},
    )


def test_cabinet_talks_over_tls_with_its_own_credentials(fleet_broker, central, pki, tmp_path: Path) -> None:
    config = _config(tmp_path, fleet_broker, pki, cabinet_id="cab-a", user="cab-a")
    with AgentProcess(config) as agent:
        central.wait_for(
            lambda m: m.topic == "edge/v1/cab-a/status" and m.json()["state"] == "online", timeout=15
        )
        central.publish("edge/v1/cab-a/cmd/ping", json.dumps({"transaction": "a1"}).encode())
        central.wait_for(lambda m: m.topic == "edge/v1/cab-a/cmd-reply" and m.json()["transaction"] == "a1")
        assert agent.terminate() == 0
    assert PASSWORDS["cab-a"] not in agent.log_text()
    assert all(PASSWORDS["cab-a"].encode() not in m.payload for m in central.messages())


async def test_cabinet_cannot_publish_as_another_nor_read_its_commands(
    fleet_broker, central, pki, tmp_path: Path
) -> None:
    # An agent holding cab-a's credentials but claiming to be cab-b.
    config = _config(tmp_path, fleet_broker, pki, cabinet_id="cab-b", user="cab-a")
    async with running_agent(config) as imposter:
        await wait_until(lambda: imposter.outbox.stats().rejected_total >= 1, timeout=15)
        await central.apublish("edge/v1/cab-b/cmd/ping", json.dumps({"transaction": "b1"}).encode())
        # Non-delivery has no event to wait for: give it a bounded second (the raw-client ACL test
        # proves the same rule with a positive marker).
        with pytest.raises(AssertionError):
            await wait_until(lambda: imposter.dispatcher.handled_total > 0, timeout=1.0)
    assert not [
        m for m in central.messages() if m.topic.startswith("edge/v1/cab-b/") and "/cmd/" not in m.topic
    ]
    assert imposter.link.last_error is None  # refused publishes do not break the connection
