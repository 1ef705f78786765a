"""The broker connect does not load the `idna` codec (edge_agent/mqtt/paho_client.py, RSS issue 16).

Each connect runs in a fresh interpreter against the suite's mosquitto: ours must connect (CONNACK)
without `encodings.idna`; paho's own client, in the same conditions, loads it, which shows that the
check would see the codec if the replaced method stopped being used."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.mosquitto import Broker

CONNECT = """
import sys, time
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from edge_agent.mqtt.paho_client import Client
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = (Client if kind == "ours" else paho.Client)(CallbackAPIVersion.VERSION2, client_id="idna-" + kind)
answered = []
client.on_connect = lambda *args: answered.append(args[3])
client.connect(host, port)
deadline = time.monotonic() + 20
while not answered and time.monotonic() < deadline:
    client.loop(timeout=0.2)
client.disconnect()
print(answered[0] if answered else "no CONNACK", "encodings.idna" in sys.modules)
"""


def _connect(kind: str, host: str, port: int) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CONNECT, kind, host, str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "EDGE_AGENT_PLUGINS": ""},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_connect_without_the_idna_codec(broker: Broker, host: str) -> None:
    assert _connect("ours", host, broker.port) == "Success False"


def test_paho_alone_loads_the_codec(broker: Broker) -> None:
    assert _connect("paho", "127.0.0.1", broker.port) == "Success True"
