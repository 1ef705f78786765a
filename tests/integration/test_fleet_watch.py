"""`edge-agent fleet watch` (and its alias `edge-agent watch`) against a real broker."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.fleet_messages import state, status

pytestmark = pytest.mark.integration


def _cli(*args: str) -> str:
    command = [sys.executable, "-m", "edge_agent", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout


def test_table_shows_retained_fleet_worst_first_and_raw_prints_whole_messages(
    broker, subscriber_factory
) -> None:
    publisher = subscriber_factory(broker.host, broker.port, [])
    publisher.wait_connected()
    for message in (
        status("cab-a"),
        state("cab-a", 9, "cam-1", "offline", "network_carrier"),
        status("cab-b"),
    ):
        publisher.publish(message.topic, message.payload, qos=1, retain=True)
    port = str(broker.port)
    table = _cli(
        "fleet", "watch", "--host", "127.0.0.1", "--port", port, "--seconds", "3", "--refresh-s", "0.5"
    )
    last = table.split("\x1b[H\x1b[2J")[-1]
    assert last.index("cab-a") < last.index("cab-b")
    assert "network_carrier" in last
    raw = _cli("watch", "--raw", "--host", "127.0.0.1", "--port", port, "--count", "3", "--seconds", "20")
    assert raw.count("(retained)") == 3 and '"faults":[]' in raw  # whole payloads, not cut short
