"""The link probe with a hung resolver: names are resolved apart from the connects.

A hung DNS resolver is not the carrier: the probe stays bounded, says so (`name_unresolved`), never
publishes `uplink_up` false for it, and never takes the agent's shared worker threads (the host
poller, the audit log and the liveness mark use them). The resolver is the one thing mocked here:
a system resolver cannot be hung from inside a test process (the netns test does it for real).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.devices.base import DeviceContext
from edge_agent.devices.link.config import LinkConfig
from edge_agent.devices.link.poller import LinkPoller
from edge_agent.devices.shared_resources import SharedResources

NAME = "broker.cabinet.invalid"


class Resolver:
    """socket.getaddrinfo for NAME: answers 127.0.0.1, or hangs (as a resolver that gets no reply)."""

    def __init__(self) -> None:
        self.hung = False
        self.released = threading.Event()
        self.lookups = 0
        self._real = socket.getaddrinfo

    def __call__(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == NAME:
            self.lookups += 1
            if self.hung:
                self.released.wait(30)
                raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
            host = "127.0.0.1"
        return self._real(host, *args, **kwargs)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resolver]:
    fake = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    yield fake
    fake.released.set()


@pytest.fixture
async def port() -> AsyncIterator[int]:
    server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


def _poller(tmp_path: Path, port: int) -> LinkPoller:
    config = LinkConfig.model_validate(
        {
            "type": "link", "device_id": "uplink", "timeout_s": 2, "attempts": 2, "connect_timeout_s": 0.4,
            "broker": {"host": NAME, "port": port}, "lan_switch": {"host": "127.0.0.1", "port": port},
        }
    )  # fmt: skip
    return LinkPoller(config, DeviceContext(tmp_path, SharedResources()))


async def _poll(poller: LinkPoller) -> Any:
    async with asyncio.timeout(poller.config.timeout_s):  # as the device runner runs every poll
        return await poller.poll()


async def test_a_hung_resolver_is_no_carrier_evidence(tmp_path: Path, port: int, resolver: Resolver) -> None:
    resolver.hung = True
    poller = _poller(tmp_path, port)
    await poller.open()
    try:
        for _ in range(4):
            result = await _poll(poller)
            assert "uplink_up" not in result.values  # unknown, not "down": no network_carrier
            assert result.values["broker_rtt_ms"] is None and result.values["lan_up"] is True
            assert [f.code for f in result.faults] == ["name_unresolved"]
        assert resolver.lookups == 1  # one lookup in flight, awaited again: no thread per poll
        async with asyncio.timeout(1):  # the agent's shared workers are free
            assert await asyncio.to_thread(lambda: 42) == 42
    finally:
        await poller.close()


async def test_the_last_address_keeps_the_evidence_while_the_resolver_hangs(
    tmp_path: Path, port: int, resolver: Resolver
) -> None:
    poller = _poller(tmp_path, port)
    await poller.open()
    try:
        first = await _poll(poller)
        assert first.values["uplink_up"] is True and first.faults == []
        resolver.hung = True
        async with asyncio.timeout(5):
            while True:  # polls go on (0.1 s apart) until the lookup is overdue: then it is said
                result = await _poll(poller)
                assert result.values["uplink_up"] is True  # connects to the address it had: evidence
                if result.faults:
                    break
                await asyncio.sleep(0.1)  # the poll interval, not a synchronisation
        assert [f.code for f in result.faults] == ["name_unresolved"]
        assert "probing its last address 127.0.0.1" in result.faults[0].message
        assert resolver.lookups == 2  # the first, then one (hung) refresh: never one per poll
    finally:
        await poller.close()
