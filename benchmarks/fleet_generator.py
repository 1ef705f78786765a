"""Simulated cabinets for the centre's load test: the contract's payload models, a cabinet's mix.

Each cabinet has 8 devices (host, uplink, meter, radar, 4 cameras), its own `seq`, a valid audit
chain, and a journal of what it sent, from which it answers `resend_events` like the agent does
(same bytes, not retained). Cabinets share a few MQTT connections (a test machine has 1,024 file
descriptors); topics and payloads are exactly those of separate cabinets.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from pydantic import BaseModel

from edge_agent.mqtt.audit_chain import GENESIS, record_hash
from edge_agent.mqtt.payloads import (
    AuditPayload,
    CauseSeconds,
    CommandReplyPayload,
    CommandRequest,
    DailyReportPayload,
    DeviceStatePayload,
    EventPayload,
    FaultItem,
    ReportDevice,
    StatusPayload,
    TelemetryPayload,
)
from edge_agent.mqtt.topics import Topics
from edge_agent.readings import iso_ts

DEVICES = [
    ("host", "host"),
    ("uplink", "link"),
    ("mains-meter", "modbus"),
    ("radar", "serial"),
    ("cam-lane-1", "onvif_camera"),
    ("cam-lane-2", "onvif_camera"),
    ("cam-lane-3", "onvif_camera"),
    ("cam-panorama", "onvif_camera"),
]
# A cabinet-month of sequenced messages; the generator keeps these proportions.
MONTHLY = {"event": 900, "state": 600, "audit": 60, "report": 30}
MONTHLY_SEQUENCED = sum(MONTHLY.values())
CONNECTIONS = 8


@dataclass
class Cabinet:
    topics: Topics
    seq: int = 0
    audit_n: int = 0
    audit_hash: str = GENESIS
    journal: dict[int, tuple[str, bytes]] = field(default_factory=dict)


class Generator:
    def __init__(self, cabinets: int, port: int, *, seed: int = 1) -> None:
        self.port = port
        self.random = random.Random(seed)
        self.cabinets = [Cabinet(Topics("edge", f"cab-{i:05d}")) for i in range(cabinets)]
        self.clients = [self._client(f"gen-{i}") for i in range(CONNECTIONS)]
        self.published_total = 0
        self.sequenced_total = 0
        self.resent_ids: set[str] = set()
        self._lock = threading.Lock()
        kinds = ["telemetry"] * MONTHLY_SEQUENCED + [k for k, n in MONTHLY.items() for _ in range(n)]
        self._mix = kinds

    def _client(self, name: str) -> paho.Client:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=MQTTProtocolVersion.MQTTv5)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        return client

    def start(self) -> None:
        self.clients[0].on_connect = lambda c, *_: c.subscribe("edge/v1/+/cmd/resend_events", qos=1)
        self.clients[0].on_message = self._on_resend
        for client in self.clients:
            client.connect("127.0.0.1", self.port)
            client.loop_start()
        for index, cabinet in enumerate(self.cabinets):
            status = StatusPayload(
                state="online",
                reason=None,
                cabinet_id=cabinet.topics.cabinet_id,
                site=f"district-{index % 12}/site-{index % 300}",
                boot_id=uuid.uuid4().hex,
                agent_version="bench",
                config_hash="bench",
                ts=_now(),
            )
            self._send(index, cabinet.topics.status, status.model_dump_json().encode(), retain=True)
            self._one(index, "event")  # seq 1, as the agent's `agent_started` at boot

    def stop(self) -> None:
        for client in self.clients:
            client.disconnect()
            client.loop_stop()

    def publish_for(self, seconds: float, rate: float) -> None:
        """Publish `rate` messages/s, random cabinets, for `seconds`."""
        started = time.monotonic()
        for sent in itertools.count():
            due = started + sent / rate
            if due - started >= seconds:
                return
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)  # pacing the generator, not synchronising a test
            index = self.random.randrange(len(self.cabinets))
            self._one(index, self.random.choice(self._mix))

    def close_out(self) -> None:
        """One more event per cabinet, as a running cabinet's next message (at the latest its daily
        report) would be: a loss at the tail of a sequence is only seen once something follows it."""
        for index in range(len(self.cabinets)):
            self._one(index, "event")

    def _one(self, index: int, kind: str) -> None:
        cabinet = self.cabinets[index]
        device_id, device_kind = self.random.choice(DEVICES)
        if kind == "telemetry":
            payload = TelemetryPayload(
                ts=_now(),
                device_id=device_id,
                full=False,
                values={"temperature_c": round(self.random.uniform(20, 60), 1)},
                units={"temperature_c": "°C"},
            )
            self._send(index, cabinet.topics.device_telemetry(device_id), payload.model_dump_json().encode())
            return
        with self._lock:
            cabinet.seq += 1
            seq = cabinet.seq
            self.sequenced_total += 1
        topic, body = self._sequenced(cabinet, kind, seq, device_id, device_kind)
        cabinet.journal[seq] = (topic, body)
        self._send(index, topic, body, retain=kind == "state")

    def _sequenced(
        self, cabinet: Cabinet, kind: str, seq: int, device_id: str, device_kind: str
    ) -> tuple[str, bytes]:
        message_id, now = uuid.uuid4().hex, _now()
        if kind == "event":
            payload: BaseModel = EventPayload(
                id=message_id,
                seq=seq,
                ts=now,
                device_id=device_id,
                type="state_changed",
                severity="warning",
                cause="device",
                detail={"from": "ok", "to": "offline", "reason": "no answer"},
            )
            return cabinet.topics.event, _encode(payload)
        if kind == "state":
            fault = FaultItem(code="no_answer", severity="critical", message="no answer", since=now)
            payload = DeviceStatePayload(
                id=message_id,
                seq=seq,
                ts=now,
                device_id=device_id,
                kind=device_kind,
                name=None,
                state="offline",
                since=now,
                cause="device",
                reason="no answer",
                faults=[fault],
            )
            return cabinet.topics.device_state(device_id), _encode(payload)
        if kind == "audit":
            return cabinet.topics.audit, self._audit(cabinet, message_id, seq, now)
        return cabinet.topics.report_daily, _encode(_report(cabinet, message_id, seq, now))

    def _audit(self, cabinet: Cabinet, message_id: str, seq: int, now: datetime) -> bytes:
        with self._lock:  # the chain is in n order, like the agent's
            cabinet.audit_n += 1
            record = {
                "n": cabinet.audit_n,
                "ts": iso_ts(now),
                "operator": "duty",
                "source": "mqtt",
                "module": "cmd/maintenance_start",
                "target": None,
                "params": {"duration_s": 3600},
                "result": "ok",
                "prev_hash": cabinet.audit_hash,
            }
            record["hash"] = cabinet.audit_hash = record_hash(record)
        return _encode(AuditPayload.model_validate({**record, "id": message_id, "seq": seq}))

    def _send(self, index: int, topic: str, body: bytes, *, retain: bool = False) -> None:
        self.clients[index % CONNECTIONS].publish(topic, body, qos=1, retain=retain)
        with self._lock:
            self.published_total += 1

    def _on_resend(self, client: paho.Client, _u: object, message: paho.MQTTMessage) -> None:
        cabinet_id = message.topic.split("/")[2]
        index = int(cabinet_id.split("-")[1])
        cabinet = self.cabinets[index]
        request = CommandRequest.model_validate(json.loads(message.payload))
        first, last = int(request.args["from_seq"]), int(request.args["to_seq"])
        found = [seq for seq in range(first, last + 1) if seq in cabinet.journal]
        for seq in found:
            topic, body = cabinet.journal[seq]
            self.resent_ids.add(json.loads(body)["id"])
            self._send(index, topic, body)
        missing = [] if len(found) == last - first + 1 else [[first, last]]
        reply = CommandReplyPayload(
            transaction=request.transaction,
            command="resend_events",
            status="ok",
            data={"requeued": len(found), "missing": missing},
            error=None,
            ts=_now(),
        )
        self._send(index, cabinet.topics.command_reply, _encode(reply))


def _report(cabinet: Cabinet, message_id: str, seq: int, now: datetime) -> DailyReportPayload:
    day = CauseSeconds(
        state_s={"ok": 86_000.0, "offline": 400.0}, offline_cause_s={"device": 400.0}, online_rate=0.995370
    )
    lines = [
        ReportDevice(
            device_id=d,
            kind=k,
            state="ok",
            cause=None,
            day=day,
            month=day,
            faults_raised=[],
            faults_cleared=[],
            faults_active=[],
            replace_recommended=[],
            values={"sd_free_gb": 90.5} if k == "onvif_camera" else {},
        )
        for d, k in DEVICES
    ]
    return DailyReportPayload(
        id=message_id,
        seq=seq,
        ts=now,
        cabinet_id=cabinet.topics.cabinet_id,
        day=now.date().isoformat(),
        timezone="Asia/Shanghai",
        excluded_causes=["power_supply", "network_carrier"],
        devices=lines,
    )


def _encode(payload: BaseModel) -> bytes:
    return payload.model_dump_json().encode()


def _now() -> datetime:
    return datetime.now(UTC)
