"""The shipped fleet ACL (deploy/mosquitto/acl), enforced by a real mosquitto over TLS with passwords."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from support.certs import TestPki
from support.mosquitto import Broker
from support.subscriber import Subscriber

pytestmark = pytest.mark.integration

ACL_FILE = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "acl"
PASSWORDS = {"cab-a": "secret-a", "cab-b": "secret-b", "central": "secret-central"}
# Everything a cabinet publishes under its root, per the topic contract.
CABINET_TOPICS = (
    "status",
    "device/cam1/state",
    "device/cam1/telemetry",
    "event",
    "report/daily",
    "audit",
    "cmd-reply",
)

Connect = Callable[..., Subscriber]


@pytest.fixture
def fleet_broker(broker_factory: Callable[..., Broker], pki: TestPki) -> Broker:
    """A broker configured like the fleet: TLS, passwords, and the ACL file exactly as shipped."""
    return broker_factory(tls=pki, passwords=PASSWORDS, acl=ACL_FILE.read_text())


@pytest.fixture
def connect(fleet_broker: Broker, pki: TestPki, subscriber_factory: Callable[..., Subscriber]) -> Connect:
    """Connect as one of PASSWORDS' users, subscribed to *topics*, and wait for the SUBACK."""

    def make(user: str, topics: Sequence[str] = ()) -> Subscriber:
        client = subscriber_factory(
            fleet_broker.host,
            fleet_broker.port,
            topics,
            client_id=user,
            username=user,
            password=PASSWORDS[user],
            ca_file=pki.ca_file,
        )
        client.wait_connected()
        return client

    return make


def test_cabinet_publishes_under_its_own_root(connect: Connect) -> None:
    central = connect("central", ["edge/v1/#"])
    cab_a = connect("cab-a")

    for suffix in CABINET_TOPICS:
        assert not cab_a.publish(f"edge/v1/cab-a/{suffix}", b"{}").is_failure

    for suffix in CABINET_TOPICS:
        central.wait_for(f"edge/v1/cab-a/{suffix}")


def test_cabinet_cannot_publish_for_another_cabinet(connect: Connect) -> None:
    central = connect("central", ["#"])
    cab_a = connect("cab-a")

    assert cab_a.publish("edge/v1/cab-b/status", b"spoofed").reason_code == "Not authorized"
    assert cab_a.publish("edge/v1/cab-b/device/cam1/state", b"spoofed").reason_code == "Not authorized"
    assert cab_a.publish("elsewhere/cab-a/status", b"outside").reason_code == "Not authorized"
    # cab-a's publishes reach central in order, so once this marker is there the refused ones would be too.
    cab_a.publish("edge/v1/cab-a/status", b"marker")
    central.wait_for("edge/v1/cab-a/status")

    assert [m.topic for m in central.messages()] == ["edge/v1/cab-a/status"]


def test_cabinet_reads_only_its_own_commands(connect: Connect) -> None:
    # mosquitto grants these subscriptions (SUBACK QoS 1) and filters on delivery instead.
    cab_a = connect("cab-a", ["edge/v1/cab-b/cmd/#", "edge/v1/+/cmd/+"])
    cab_b = connect("cab-b", ["edge/v1/cab-b/cmd/+"])
    central = connect("central")

    assert not central.publish("edge/v1/cab-b/cmd/ping", b"for b").is_failure
    assert not central.publish("edge/v1/cab-a/cmd/ping", b"for a").is_failure
    # Same publisher, same subscriber session: delivery is in order, so this is the synchronisation point.
    cab_a.wait_for("edge/v1/cab-a/cmd/ping")
    cab_b.wait_for("edge/v1/cab-b/cmd/ping")  # the refused message really was published

    assert cab_a.messages("edge/v1/cab-b/#") == []


def test_cabinet_cannot_read_another_cabinets_data(connect: Connect) -> None:
    cab_a = connect("cab-a", ["edge/v1/#"])
    cab_b = connect("cab-b")
    central = connect("central")

    cab_b.publish("edge/v1/cab-b/status", b"b is fine")
    # cab-b's PUBACK means mosquitto already routed its message; anything routed later arrives after it.
    central.publish("edge/v1/cab-a/cmd/ping", b"marker")
    cab_a.wait_for("edge/v1/cab-a/cmd/ping")

    assert [m.topic for m in cab_a.messages()] == ["edge/v1/cab-a/cmd/ping"]


def test_central_reads_everything_and_writes_only_commands(connect: Connect) -> None:
    central = connect("central", ["edge/v1/#"])
    cab_a, cab_b = connect("cab-a"), connect("cab-b")

    cab_a.publish("edge/v1/cab-a/device/cam1/telemetry", b"{}")
    cab_b.publish("edge/v1/cab-b/event", b"{}")
    cab_b.publish("edge/v1/cab-b/cmd-reply", b"{}")

    for topic in ("edge/v1/cab-a/device/cam1/telemetry", "edge/v1/cab-b/event", "edge/v1/cab-b/cmd-reply"):
        central.wait_for(topic)
    # Central may command cabinets but not speak for them.
    assert central.publish("edge/v1/cab-a/status", b"spoofed").reason_code == "Not authorized"
