"""`edge-agent fleet watch` (alias `edge-agent watch`): the fleet now, in a terminal.

Subscribes to every cabinet's presence and device states (both retained, so the picture is
complete at once) and redraws a table: one summary line per cabinet, then its devices that are
not ok, worst cabinets first. `--raw` prints each message whole instead, one line each.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as paho
from pydantic import ValidationError

from edge_agent.fleet.connection import new_client
from edge_agent.fleet.view import FleetView, WatchFilter, render_table
from edge_agent.mqtt.config import MqttConfig
from edge_agent.mqtt.topics import CONTRACT_VERSION, parse_topic

__all__ = ["WatchFilter", "watch", "watch_raw"]

CLEAR = "\x1b[H\x1b[2J"


def watch(
    mqtt: MqttConfig,
    where: WatchFilter,
    *,
    seconds: float = 0,
    refresh_s: float = 1.0,
    stop: threading.Event | None = None,
    out: Callable[[str], object] = sys.stdout.write,
) -> int:
    """Redraw the fleet table every `refresh_s` until `seconds` passed, `stop` is set or Ctrl-C."""
    view = FleetView()
    lock = threading.Lock()

    def on_message(_c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        parts = parse_topic(mqtt.prefix, message.topic)
        if parts is None:
            return
        try:
            document = json.loads(message.payload)
            with lock:
                view.apply(parts, document)
        except (ValueError, ValidationError):
            pass  # a cabinet publishing garbage does not stop the view; the collector logs it

    topics = [
        f"{mqtt.prefix}/{CONTRACT_VERSION}/+/status",
        f"{mqtt.prefix}/{CONTRACT_VERSION}/+/device/+/state",
    ]

    def draw() -> None:
        with lock:
            out(CLEAR + render_table(view, where, now=time.time()))

    return _run(mqtt, topics, on_message, draw, seconds=seconds, refresh_s=refresh_s, stop=stop)


def watch_raw(
    mqtt: MqttConfig,
    topic: str | None,
    *,
    count: int = 0,
    seconds: float = 0,
    stop: threading.Event | None = None,
) -> int:
    """Print every message whole until `count` arrived, `seconds` passed, `stop` is set, or Ctrl-C."""
    done = stop or threading.Event()
    received = 0

    def on_message(_c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        nonlocal received
        flag = " (retained)" if message.retain else ""
        text = message.payload.decode("utf-8", "replace")
        print(f"{time.strftime('%H:%M:%S')} {message.topic}{flag} {text}", flush=True)
        received += 1
        if count and received >= count:
            done.set()

    filter_ = topic or f"{mqtt.prefix}/{CONTRACT_VERSION}/#"
    return _run(mqtt, [filter_], on_message, lambda: None, seconds=seconds, refresh_s=0.2, stop=done)


def _run(
    mqtt: MqttConfig,
    topics: list[str],
    on_message: Callable[[paho.Client, object, paho.MQTTMessage], None],
    tick: Callable[[], None],
    *,
    seconds: float,
    refresh_s: float,
    stop: threading.Event | None,
) -> int:
    done = stop or threading.Event()

    def on_connect(client: paho.Client, _u: object, _f: object, _reason: object, _p: object) -> None:
        for topic in topics:
            client.subscribe(topic, qos=1)

    client = new_client(mqtt, f"fleet-watch-{time.monotonic_ns() % 10**9}")
    client.on_connect = on_connect
    client.on_message = on_message
    try:
        client.connect(mqtt.host, mqtt.effective_port, keepalive=mqtt.keepalive_s)
    except OSError as exc:
        print(f"cannot connect to {mqtt.host}:{mqtt.effective_port}: {exc}", file=sys.stderr)
        return 1
    client.loop_start()
    deadline = time.monotonic() + seconds if seconds else None
    try:
        while not done.wait(refresh_s):
            tick()
            if deadline is not None and time.monotonic() >= deadline:
                break
    except KeyboardInterrupt:
        pass
    finally:
        tick()
        client.disconnect()
        client.loop_stop()
    return 0
