"""Fixtures of the hardware-in-the-loop suite: one cabinet for the whole session, one recording client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))  # the suite's MQTT test client

from support.subscriber import Subscriber
from target import Target, cabinet, target_file


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with cabinet(target_file(), tmp_path_factory.mktemp("hil")) as found:
        yield found


@pytest.fixture(scope="session")
def central(target: Target) -> Iterator[Subscriber]:
    client = Subscriber(target.host, target.port, [f"{target.root}/#"], username=target.username,
                        password=target.password, ca_file=target.ca_file)  # fmt: skip
    client.wait_connected(timeout=30)
    yield client
    client.close()
