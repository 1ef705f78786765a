"""Contract messages for the centre's tests, built with the contract's own payload models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from edge_agent.fleet.ingest import Incoming
from edge_agent.mqtt.audit_chain import GENESIS, record_hash
from edge_agent.mqtt.payloads import AuditPayload, DeviceStatePayload, EventPayload, StatusPayload
from edge_agent.mqtt.topics import Topics

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def incoming(topic: str, payload: Any, received_at: float = 0.0) -> Incoming:
    body = payload if isinstance(payload, bytes) else payload.model_dump_json().encode()
    return Incoming(topic, body, received_at)


def event(cabinet: str, seq: int, *, message_id: str | None = None, received_at: float = 0.0) -> Incoming:
    payload = EventPayload(
        id=message_id or uuid.uuid4().hex,
        seq=seq,
        ts=T0 + timedelta(seconds=seq),
        device_id="cam-1",
        type="test",
        severity="info",
        cause=None,
        detail={},
    )
    return incoming(Topics("edge", cabinet).event, payload, received_at)


def state(cabinet: str, seq: int, device: str, value: str, cause: str | None = None) -> Incoming:
    payload = DeviceStatePayload(
        id=uuid.uuid4().hex,
        seq=seq,
        ts=T0 + timedelta(seconds=seq),
        device_id=device,
        kind="onvif_camera",
        name=None,
        state=value,
        since=T0 + timedelta(seconds=seq),
        cause=cause,
        reason="",
        faults=[],  # type: ignore[arg-type]  # a test double or a deliberately wrong value
    )
    return incoming(Topics("edge", cabinet).device_state(device), payload)


def status(cabinet: str, value: str = "online", site: str = "north/gate 1") -> Incoming:
    payload = StatusPayload(
        state=value,
        reason=None if value == "online" else "lost",
        cabinet_id=cabinet,
        site=site,  # type: ignore[arg-type]  # a test double or a deliberately wrong value
        boot_id="b1",
        agent_version="1.0",
        config_hash="h",
        ts=T0,
    )
    return incoming(Topics("edge", cabinet).status, payload)


def audit_chain(count: int) -> list[dict[str, Any]]:
    """`count` chained audit records as the agent writes them (without id and seq)."""
    records: list[dict[str, Any]] = []
    prev = GENESIS
    for n in range(1, count + 1):
        record: dict[str, Any] = {
            "n": n,
            "ts": f"2026-11-01T00:00:0{n % 10}.000Z",
            "operator": "op",
            "source": "mqtt",
            "module": "cmd/maintenance_start",
            "target": None,
            "params": {"n": n},
            "result": "ok",
            "prev_hash": prev,
        }
        record["hash"] = prev = record_hash(record)
        records.append(record)
    return records


def audit(cabinet: str, record: dict[str, Any], seq: int) -> Incoming:
    payload = AuditPayload.model_validate({**record, "id": uuid.uuid4().hex, "seq": seq})
    return incoming(Topics("edge", cabinet).audit, payload)
