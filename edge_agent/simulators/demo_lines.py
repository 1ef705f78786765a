"""What the demo prints: one readable line per change on the broker (`--raw`: every message whole).

A cabinet going online or offline, a device changing state or faults (in the fault catalogue's
words), an event, a daily report; telemetry is counted and summed up every half minute instead
of printed, so the terminal stays readable.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho

from edge_agent.faults import catalogue, lookup
from edge_agent.fleet.connection import new_client
from edge_agent.mqtt.config import MqttConfig
from edge_agent.mqtt.topics import CONTRACT_VERSION, parse_topic

TELEMETRY_SUMMARY_S = 30.0


class Lines:
    """Turns messages into lines; remembers each device's last state so repeats print nothing."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._states: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.telemetry: dict[str, int] = {}

    def line(self, topic: str, payload: bytes | bytearray) -> str | None:
        parts = parse_topic(self.prefix, topic)
        try:
            document = json.loads(payload)
        except ValueError:
            return None
        if parts is None or not isinstance(document, dict):
            return None
        if parts.kind == "telemetry":
            self.telemetry[parts.device_id or "?"] = self.telemetry.get(parts.device_id or "?", 0) + 1
            return None
        describe = {"status": _status, "state": self._state, "event": _event, "report": _report}.get(
            parts.kind
        )
        return describe(document) if describe else None

    def _state(self, state: dict[str, Any]) -> str | None:
        device = str(state.get("device_id", "?"))
        faults = tuple(sorted(str(f.get("code")) for f in state.get("faults", []) if isinstance(f, dict)))
        now = (str(state.get("state")), faults)
        before = self._states.get(device)
        self._states[device] = now
        if before == now:
            return None
        change = f"{before[0]} -> {now[0]}" if before and before[0] != now[0] else now[0]
        why = "; ".join(_title(code) for code in faults) or (state.get("reason") or "")
        cause = f" (cause: {state['cause']})" if state.get("cause") else ""
        return f"{device}: {change.upper()}{' · ' + why if why else ''}{cause}"

    def summary(self) -> str | None:
        """`telemetry: 42 messages from 6 devices` since the last summary, or None if there were none."""
        if not self.telemetry:
            return None
        total, devices = sum(self.telemetry.values()), len(self.telemetry)
        self.telemetry = {}
        return f"telemetry: {total} messages from {devices} devices in the last {TELEMETRY_SUMMARY_S:g} s"


def _title(code: str) -> str:
    found = lookup(code)
    if found is None:
        return code
    key, subject = found
    return f"{catalogue()[key].en.title.replace('{subject}', subject)} ({code})"


def _status(status: dict[str, Any]) -> str:
    cabinet = status.get("cabinet_id", "?")
    if status.get("state") == "online":
        return f"cabinet {cabinet} ONLINE (agent {status.get('agent_version', '?')})"
    return f"cabinet {cabinet} OFFLINE ({status.get('reason') or 'no reason'})"


# Told by the device's state line already: one line per change, not three.
_SAID_BY_STATE = frozenset({"state_changed", "fault_raised", "fault_cleared"})


def _event(event: dict[str, Any]) -> str | None:
    if event.get("type") in _SAID_BY_STATE:
        return None
    where = event.get("device_id") or "cabinet"
    cause = f" (cause: {event['cause']})" if event.get("cause") else ""
    detail = event.get("detail") or {}
    code = detail.get("code") if isinstance(detail, dict) else None
    what = f" · {_title(str(code))}" if code else ""
    return f"event {event.get('type', '?')} [{event.get('severity', '?')}] {where}{what}{cause}"


def _report(report: dict[str, Any]) -> str:
    return f"daily report for {report.get('day', '?')}: {len(report.get('devices', []))} devices"


def watch_lines(mqtt: MqttConfig, *, stop: threading.Event, out: Callable[[str], object] = print) -> int:
    """Print one line per change until `stop` is set; a telemetry summary every half minute."""
    lines = Lines(mqtt.prefix)
    lock = threading.Lock()

    def on_message(_c: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        with lock:
            text = lines.line(message.topic, message.payload)
        if text:
            out(f"{time.strftime('%H:%M:%S')} {text}")

    client = new_client(mqtt, f"demo-lines-{time.monotonic_ns() % 10**9}")
    client.on_connect = lambda c, *_: c.subscribe(f"{mqtt.prefix}/{CONTRACT_VERSION}/#", qos=1)
    client.on_message = on_message
    try:
        client.connect(mqtt.host, mqtt.effective_port, keepalive=mqtt.keepalive_s)
    except OSError as exc:
        out(f"cannot connect to {mqtt.host}:{mqtt.effective_port}: {exc}")
        return 1
    client.loop_start()
    try:
        while not stop.wait(TELEMETRY_SUMMARY_S):
            with lock:
                summary = lines.summary()
            if summary:
                out(f"{time.strftime('%H:%M:%S')} {summary}")
    finally:
        client.disconnect()
        client.loop_stop()
    return 0
