"""Shared fixtures: loopback ports, a test PKI, real mosquitto brokers and recording MQTT clients.

Deliberately does not import ``edge_agent`` so the support layer works before (and without) the agent.
The ``support`` package is importable because pytest puts this (package-less) directory on sys.path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.certs import TestPki, make_test_pki
from support.mosquitto import Broker
from support.ports import free_port as _free_port
from support.subscriber import Subscriber

# The suite's scripted device kinds (pulse, hang, script), for in-process and subprocess agents.
os.environ.setdefault("EDGE_AGENT_PLUGINS", "support.kinds")
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])
)

BrokerFactory = Callable[..., Broker]
SubscriberFactory = Callable[..., Subscriber]


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free when the fixture ran."""
    return _free_port()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """One CA + localhost server certificate for the whole session (issue clients with ``client_cert``)."""
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def broker_factory(tmp_path: Path) -> Iterator[BrokerFactory]:
    """Start brokers with `Broker` keyword arguments (workdir defaults to a fresh tmp dir); all stopped."""
    brokers: list[Broker] = []

    def start(**kwargs: Any) -> Broker:
        kwargs.setdefault("workdir", tmp_path / f"broker-{len(brokers)}")
        broker = Broker(**kwargs)
        brokers.append(broker)
        return broker.start()

    yield start
    for broker in brokers:
        broker.stop()


@pytest.fixture
def broker(broker_factory: BrokerFactory) -> Broker:
    """A plain (anonymous, no TLS) broker, started; stopped at teardown."""
    return broker_factory()


@pytest.fixture
def subscriber_factory() -> Iterator[SubscriberFactory]:
    """Create `Subscriber` clients with its arguments (host, port, topics, ...); all closed at teardown."""
    subscribers: list[Subscriber] = []

    def create(*args: Any, **kwargs: Any) -> Subscriber:
        subscriber = Subscriber(*args, **kwargs)
        subscribers.append(subscriber)
        return subscriber

    yield create
    for subscriber in subscribers:
        subscriber.close()
