"""`edge-agent watch`: a small subscriber that prints what arrives, one line per message."""

from __future__ import annotations

import sys
import threading
import time

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

MAX_SHOWN = 400  # characters of payload per line; telemetry can be long


def watch(
    host: str,
    port: int,
    topic: str,
    *,
    count: int = 0,
    seconds: float = 0,
    stop: threading.Event | None = None,
) -> int:
    """Print messages until `count` arrived, `seconds` passed, `stop` is set, or Ctrl-C."""
    done = stop or threading.Event()
    received = 0

    def on_connect(client: paho.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        client.subscribe(topic, qos=1)

    def on_message(_c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        nonlocal received
        text = message.payload.decode("utf-8", "replace")
        flag = " (retained)" if message.retain else ""
        shown = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"
        print(f"{time.strftime('%H:%M:%S')} {message.topic}{flag} {shown}", flush=True)
        received += 1
        if count and received >= count:
            done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.on_connect = on_connect
    client.on_message = on_message
    try:
        client.connect(host, port)
    except OSError as exc:
        print(f"cannot connect to {host}:{port}: {exc}", file=sys.stderr)
        return 1
    client.loop_start()
    try:
        done.wait(seconds or None)
    except KeyboardInterrupt:
        pass
    finally:
        client.disconnect()
        client.loop_stop()
    return 0
