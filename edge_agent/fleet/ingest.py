"""Turns received contract messages into rows of the centre's database, idempotently.

A message is checked against the contract (unknown fields ignored, as v1 promises) before
anything is written; one that does not parse is counted and logged, never stored, never fatal.
Sequenced messages are stored once by `id`: a duplicate or a replay is counted, not applied.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from edge_agent.fleet.audit_check import check_audit
from edge_agent.fleet.store import Store
from edge_agent.mqtt.payloads import (
    AuditPayload,
    CommandReplyPayload,
    DailyReportPayload,
    DeviceStatePayload,
    EventPayload,
    StatusPayload,
)
from edge_agent.mqtt.reading import read_payload
from edge_agent.mqtt.topics import TopicParts, parse_topic
from edge_agent.readings import iso_ts

log = logging.getLogger(__name__)

Sequenced = EventPayload | DeviceStatePayload | DailyReportPayload | AuditPayload
SEQUENCED_MODELS: dict[str, type[Sequenced]] = {
    "event": EventPayload,
    "state": DeviceStatePayload,
    "report": DailyReportPayload,
    "audit": AuditPayload,
}


@dataclass(frozen=True, slots=True)
class Incoming:
    topic: str
    payload: bytes
    received_at: float
    retained: bool = False


@dataclass
class IngestStats:
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    other: int = 0  # telemetry, our own command requests: not stored
    replies: list[tuple[str, CommandReplyPayload]] = field(default_factory=list)


class Ingestor:
    def __init__(self, store: Store, prefix: str) -> None:
        self.store = store
        self.prefix = prefix
        self._warned: set[str] = set()

    def ingest(self, batch: Iterable[Incoming]) -> IngestStats:
        """Store a batch in one transaction; returns what happened to its messages."""
        stats = IngestStats()
        with self.store.transaction():
            for message in batch:
                self._one(message, stats)
        return stats

    def _one(self, message: Incoming, stats: IngestStats) -> None:
        parts = parse_topic(self.prefix, message.topic)
        if parts is None or parts.kind in ("telemetry", "command"):
            stats.other += 1
            return
        try:
            document = json.loads(message.payload)
            self._apply(parts, document, message, stats)
        except (ValueError, ValidationError) as exc:  # JSONDecodeError and pydantic's are ValueErrors
            stats.invalid += 1
            if parts.cabinet_id not in self._warned:  # once per cabinet: a broken agent floods
                self._warned.add(parts.cabinet_id)
                log.warning(
                    "cabinet %s: invalid %s message: %s", parts.cabinet_id, parts.kind, str(exc)[:200]
                )

    def _apply(self, parts: TopicParts, document: object, message: Incoming, stats: IngestStats) -> None:
        if parts.kind == "status":
            self._status(parts.cabinet_id, read_payload(StatusPayload, document))
            stats.stored += 1
        elif parts.kind == "command_reply":
            stats.replies.append((parts.cabinet_id, read_payload(CommandReplyPayload, document)))
        else:
            payload: Sequenced = read_payload(SEQUENCED_MODELS[parts.kind], document)
            if self._sequenced(parts, payload, message):
                stats.stored += 1
            else:
                stats.duplicates += 1

    def _sequenced(
        self,
        parts: TopicParts,
        payload: EventPayload | DeviceStatePayload | DailyReportPayload | AuditPayload,
        message: Incoming,
    ) -> bool:
        device_id = getattr(payload, "device_id", None)
        cursor = self.store.execute(
            "INSERT INTO message (id, cabinet_id, kind, seq, ts, device_id, received_at, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                payload.id,
                parts.cabinet_id,
                parts.kind,
                payload.seq,
                iso_ts(payload.ts),
                device_id,
                message.received_at,
                message.payload.decode(),
            ),
        )
        if cursor.rowcount != 1:
            return False
        if isinstance(payload, DeviceStatePayload):
            self._device(parts.cabinet_id, payload)
        elif isinstance(payload, DailyReportPayload):
            self._report(parts.cabinet_id, payload)
        elif isinstance(payload, AuditPayload):
            check_audit(self.store, parts.cabinet_id, json.loads(message.payload), time.time())
        return True

    def _status(self, cabinet_id: str, status: StatusPayload) -> None:
        ts = iso_ts(status.ts)
        self.store.execute(
            "INSERT INTO cabinet (cabinet_id, site, state, reason, boot_id, agent_version, ts, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cabinet_id) DO UPDATE SET site = excluded.site, "
            "state = excluded.state, reason = excluded.reason, boot_id = excluded.boot_id, "
            "agent_version = excluded.agent_version, ts = excluded.ts, received_at = excluded.received_at "
            "WHERE excluded.ts >= cabinet.ts",
            (
                cabinet_id,
                status.site,
                status.state,
                status.reason,
                status.boot_id,
                status.agent_version,
                ts,
                time.time(),
            ),
        )
        self.store.execute(
            "INSERT INTO presence (cabinet_id, ts, state, reason) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (cabinet_id, ts, state) DO NOTHING",
            (cabinet_id, ts, status.state, status.reason),
        )

    def _device(self, cabinet_id: str, state: DeviceStatePayload) -> None:
        faults = json.dumps([fault.model_dump(mode="json") for fault in state.faults], ensure_ascii=False)
        # A retained state replays an older seq when a collector (re)subscribes: never step back.
        self.store.execute(
            "INSERT INTO device (cabinet_id, device_id, kind, name, state, since, cause, reason, faults, "
            "seq, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cabinet_id, device_id) DO UPDATE "
            "SET kind = excluded.kind, name = excluded.name, state = excluded.state, since = excluded.since, "
            "cause = excluded.cause, reason = excluded.reason, faults = excluded.faults, seq = excluded.seq, "
            "ts = excluded.ts WHERE excluded.seq > device.seq",
            (
                cabinet_id,
                state.device_id,
                state.kind,
                state.name,
                state.state,
                iso_ts(state.since),
                state.cause,
                state.reason,
                faults,
                state.seq,
                iso_ts(state.ts),
            ),
        )

    def _report(self, cabinet_id: str, report: DailyReportPayload) -> None:
        # A report made again on demand (`report_daily`) for the same day replaces the older one.
        self.store.execute(
            "INSERT INTO report (cabinet_id, day, id, ts) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (cabinet_id, day) DO UPDATE SET id = excluded.id, ts = excluded.ts "
            "WHERE excluded.ts > report.ts",
            (cabinet_id, report.day, report.id, iso_ts(report.ts)),
        )
