"""The broker's MQTT version kept across restarts: hostile or foreign files only mean "unknown"."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from edge_agent.mqtt.protocol_memory import ProtocolMemory

V311, V5 = MQTTProtocolVersion.MQTTv311, MQTTProtocolVersion.MQTTv5


def test_remembers_per_broker(tmp_path: Path) -> None:
    path = tmp_path / "mqtt_protocol.json"
    ProtocolMemory(path, "broker-a:1883").store(V311)
    assert ProtocolMemory(path, "broker-a:1883").recall() == V311
    assert ProtocolMemory(path, "broker-b:1883").recall() is None  # another broker: start from 5
    ProtocolMemory(path, "broker-a:1883").store(V5)
    assert ProtocolMemory(path, "broker-a:1883").recall() == V5


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"broker": "b:1", "protocol": "4"}',
        b'{"broker": "b:1"}',
        b"{" * 5000,
        b"[" * 200_000,  # nesting: RecursionError in the parser
        b'{"broker": "b:1",' + b" " * 5000 + b'"protocol": "5"}',  # over the size cap
    ],
)
def test_a_damaged_file_means_unknown(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "mqtt_protocol.json"
    path.write_bytes(content)
    assert ProtocolMemory(path, "b:1").recall() is None


def test_a_failed_write_is_logged_once_and_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    memory = ProtocolMemory(tmp_path / "missing-dir" / "mqtt_protocol.json", "b:1")
    with caplog.at_level(logging.WARNING):
        memory.store(V311)
        memory.store(V5)
    assert len([r for r in caplog.records if "cannot remember" in r.getMessage()]) == 1
    assert memory.recall() is None
