"""The test-support layer itself: broker crash/restart on the same port, TLS verification, start errors."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from support.certs import TestPki, make_test_pki
from support.mosquitto import Broker, BrokerError
from support.subscriber import Subscriber

pytestmark = pytest.mark.integration

SubscriberFactory = Callable[..., Subscriber]


def test_subscriber_survives_broker_kill_and_restart(
    broker: Broker, subscriber_factory: SubscriberFactory
) -> None:
    subscriber = subscriber_factory(broker.host, broker.port, ["t/#"])
    publisher = subscriber_factory(broker.host, broker.port, [])
    subscriber.wait_connected()
    publisher.wait_connected()
    publisher.publish("t/before", b"1")
    subscriber.wait_for("t/before")
    port = broker.port

    broker.kill()
    assert not broker.running
    subscriber.wait_disconnected()
    broker.restart()

    assert broker.port == port
    # The restarted broker has no persistence: wait for the re-subscription before publishing.
    subscriber.wait_connected()
    publisher.wait_connected()
    publisher.publish("t/after", b"2")
    assert subscriber.wait_for("t/after").payload == b"2"
    assert broker.log_text().count("mosquitto version 2") >= 4  # "starting" + "running", twice


def test_wait_for_sees_messages_received_earlier(
    broker: Broker, subscriber_factory: SubscriberFactory
) -> None:
    subscriber = subscriber_factory(broker.host, broker.port, ["t/#"])
    subscriber.wait_connected()
    subscriber.publish("t/json", b'{"ok": true}', retain=True)
    subscriber.wait_for("t/json")

    again = subscriber.wait_for(lambda m: m.topic == "t/json", timeout=0.1)

    assert again.json() == {"ok": True}
    assert subscriber.messages("t/+") == [again]
    subscriber.clear()
    assert subscriber.messages() == []


def test_tls_connection_verifies_against_test_ca(
    broker_factory: Callable[..., Broker], pki: TestPki, subscriber_factory: SubscriberFactory
) -> None:
    broker = broker_factory(tls=pki)
    # 127.0.0.1 is checked against the certificate's IP subjectAltName (paho keeps check_hostname on).
    subscriber = subscriber_factory(
        broker.host, broker.port, ["t/#"], ca_file=pki.ca_file, client_cert=pki.client_cert("tls-client")
    )
    subscriber.wait_connected()

    subscriber.publish("t/tls", b"x")

    assert subscriber.wait_for("t/tls").payload == b"x"


def test_tls_connection_fails_with_wrong_ca(
    broker_factory: Callable[..., Broker], pki: TestPki, tmp_path: Path
) -> None:
    broker = broker_factory(tls=pki)
    other = make_test_pki(tmp_path / "other-pki")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.tls_set(ca_certs=str(other.ca_file))

    # A synchronous connect() performs the TLS handshake, so the verification error surfaces here.
    with pytest.raises(ssl.SSLCertVerificationError):
        client.connect(broker.host, broker.port)


def test_start_failure_reports_the_log(tmp_path: Path) -> None:
    broker = Broker(workdir=tmp_path, extra_conf="no_such_option true")

    with pytest.raises(BrokerError, match="no_such_option"):
        broker.start()
    assert not broker.running
