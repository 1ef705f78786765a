"""paho driven by the event loop: TLS bursts both ways, keepalive, no network thread left running."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from support.agent import wait_until

from edge_agent.mqtt.config import MqttConfig
from edge_agent.mqtt.link import Incoming, MqttLink, Will

pytestmark = pytest.mark.integration

BURST = 2000


@contextlib.asynccontextmanager
async def _running(link: MqttLink) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(link.run(), name="link")
    try:
        yield task
    finally:
        await link.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _link(tmp_path: Path, received: list[Incoming], **mqtt: Any) -> MqttLink:
    return MqttLink(
        MqttConfig.model_validate({"host": "127.0.0.1", "reconnect_max_s": 1, **mqtt}),
        client_id=f"link-test-{tmp_path.name}",
        will=Will("t/status", b"lost"),
        on_connected=lambda: None,
        on_message=received.append,
        subscriptions=["t/echo/#"],
        protocol_file=tmp_path / "protocol.json",
    )


async def test_tls_burst_both_ways_on_the_loop(broker_factory, pki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # fixtures of tests/conftest.py
    broker = broker_factory(tls=pki)
    received: list[Incoming] = []
    link = _link(tmp_path, received, host="localhost", port=broker.port, tls={"ca_file": str(pki.ca_file)})
    async with _running(link):
        async with asyncio.timeout(15):
            await link.connected.wait()
        await asyncio.sleep(0)  # the SUBSCRIBE is written on the next turn of the loop
        window = asyncio.Semaphore(link.window)  # as the reporter: within the broker's Receive Maximum

        async def publish(number: int) -> int:
            async with window:
                return await link.publish(f"t/echo/{number}", b"x" * (number % 700), qos=1)

        codes = await asyncio.gather(*(publish(n) for n in range(BURST)))
        assert set(codes) <= {0, 16}  # 16: no subscriber matched yet (the SUBACK may still be on its way)
        assert not [t.name for t in threading.enumerate() if t.name.startswith("paho-mqtt-client")]
        # and the connect's thread has ended: none stays for the agent's life
        await wait_until(lambda: not [t for t in threading.enumerate() if t.name.startswith("mqtt-connect")])
        await wait_until(lambda: len(received) >= BURST * 0.9, timeout=15)  # echoes from after the SUBACK
        numbers = [int(m.topic.rsplit("/", 1)[1]) for m in received]
        assert numbers == sorted(numbers)
        assert all(len(m.payload) == n % 700 for m, n in zip(received, numbers, strict=True))


class SilentAfterConnack:
    """Accepts one MQTT 5 connection, then answers nothing: not even PINGREQ."""

    def __init__(self) -> None:
        self.pings = 0
        self.connects = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                header = (await reader.readexactly(1))[0]
                length, shift = 0, 0
                while (byte := (await reader.readexactly(1))[0]) & 0x80:
                    length |= (byte & 0x7F) << shift
                    shift += 7
                await reader.readexactly(length | (byte << shift))
                if header >> 4 == 1:  # CONNECT -> CONNACK, MQTT 5, no properties
                    self.connects += 1
                    writer.write(bytes([0x20, 3, 0, 0, 0]))
                elif header >> 4 == 12:
                    self.pings += 1
        writer.close()


async def test_keepalive_ping_and_a_silent_broker_is_left(tmp_path: Path) -> None:
    silent = SilentAfterConnack()
    server = await asyncio.start_server(silent.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    link = _link(tmp_path, [], port=port, tls=False, protocol="5", keepalive_s=5)
    async with server, _running(link):
        async with asyncio.timeout(10):
            await link.connected.wait()
        async with asyncio.timeout(5 * 2 + 5):  # a PINGREQ after 5 s idle, no PINGRESP within 5 s more
            await link.wait_lost()
        assert silent.pings >= 1
        await wait_until(lambda: silent.connects >= 2, timeout=10)  # and it connects again
