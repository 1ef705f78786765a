"""MQTT 5 first, 3.1.1 when asked or when the broker does not speak 5; TLS failures are retried."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from support.agent import running_agent, wait_until, write_config

pytestmark = pytest.mark.integration

ROOT = "edge/v1/cab-test"


async def test_plain_3_1_1_when_configured(broker, subscriber_factory, tmp_path: Path) -> None:
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    central.wait_connected()
    config = write_config(
        tmp_path,
        port=broker.port,
        mqtt={"protocol": "3.1.1"},
        devices=[{"type": "host", "device_id": "host"}],
    )
    async with running_agent(config):
        await central.until(lambda m: m.topic == f"{ROOT}/status" and m.json()["state"] == "online")
        await central.until(f"{ROOT}/device/host/state")
    await central.until(lambda m: m.topic == f"{ROOT}/status" and m.json()["reason"] == "shutdown")


class OnlyMqtt311:
    """A broker stand-in that refuses MQTT 5 (CONNACK 'unacceptable protocol version') and accepts 3.1.1."""

    def __init__(self, *, close_on_5: bool = False) -> None:
        self.close_on_5 = close_on_5  # close the connection without any CONNACK, as some brokers do
        self.levels: list[int] = []
        self.published_topics: list[str] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header, body = await _read_packet(reader)
                kind, qos = header >> 4, (header >> 1) & 3
                if kind == 1:  # CONNECT: protocol name (2 + 4 bytes) then the level
                    level = body[6]
                    self.levels.append(level)
                    if level != 4 and self.close_on_5:
                        break
                    writer.write(bytes([0x20, 2, 0, 0 if level == 4 else 1]))
                    await writer.drain()
                    if level != 4:
                        break
                elif kind == 3:  # PUBLISH
                    length = int.from_bytes(body[:2], "big")
                    self.published_topics.append(body[2 : 2 + length].decode())
                    packet_id = body[2 + length : 4 + length]
                    if qos:
                        writer.write(bytes([0x40, 2]) + packet_id)
                        await writer.drain()
                elif kind == 8:  # SUBSCRIBE -> SUBACK granting QoS 1
                    writer.write(bytes([0x90, 3]) + body[:2] + b"\x01")
                    await writer.drain()
                elif kind == 12:  # PINGREQ
                    writer.write(b"\xd0\x00")
                    await writer.drain()
                elif kind == 14:  # DISCONNECT
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    header = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return header, await reader.readexactly(length)


async def test_falls_back_to_3_1_1_when_the_broker_refuses_5(tmp_path: Path) -> None:
    broker = OnlyMqtt311()
    port = await broker.start()
    async with running_agent(write_config(tmp_path, port=port)) as agent:
        await wait_until(lambda: f"{ROOT}/status" in broker.published_topics, timeout=15)
        assert agent.link.connected.is_set()
    assert broker.levels[:2] == [5, 4]  # tried 5, then 3.1.1


async def test_falls_back_to_3_1_1_when_the_broker_closes_without_connack(tmp_path: Path) -> None:
    broker = OnlyMqtt311(close_on_5=True)
    port = await broker.start()
    async with running_agent(write_config(tmp_path, port=port)) as agent:
        await wait_until(lambda: f"{ROOT}/status" in broker.published_topics, timeout=15)
        assert agent.link.connected.is_set()
    assert broker.levels[:2] == [5, 4]


async def test_wrong_ca_is_refused_logged_once_and_retried(
    broker_factory, pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tls_broker = broker_factory(tls=pki)
    other = tmp_path / "other-ca.pem"
    other.write_text((pki.server_cert).read_text())  # a certificate that did not sign the broker's
    config = write_config(
        tmp_path, port=tls_broker.port, mqtt={"host": "localhost", "tls": {"ca_file": str(other)}}
    )
    with caplog.at_level(logging.WARNING, logger="edge_agent.mqtt.link"):
        async with running_agent(config) as agent:
            await wait_until(lambda: agent.link.connect_attempts >= 4, timeout=15)
            assert not agent.link.connected.is_set()
    assert "CERTIFICATE_VERIFY_FAILED" in agent.link.last_error
    assert len([r for r in caplog.records if "cannot connect" in r.getMessage()]) == 1
