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


@dataclass(frozen=True, slots=True)
class _Parsed:
    parts: TopicParts
    payload: Sequenced
    message: Incoming


class Ingestor:
    """Writes batches: parse everything first (bad messages are only counted), then write in one
    transaction, rows in key order so that concurrent collectors take locks in the same order and
    cannot deadlock each other, with as few round trips as the SQL allows (PostgreSQL over a network)."""

    def __init__(self, store: Store, prefix: str) -> None:
        self.store = store
        self.prefix = prefix
        self._warned: set[str] = set()

    def ingest(self, batch: Iterable[Incoming]) -> IngestStats:
        """Store a batch in one transaction; returns what happened to its messages."""
        stats = IngestStats()
        statuses: list[tuple[str, StatusPayload]] = []
        sequenced: dict[str, _Parsed] = {}
        for message in batch:
            parsed = self._parse(message, stats)
            if isinstance(parsed, _Parsed):
                if parsed.payload.id in sequenced:
                    stats.duplicates += 1
                sequenced.setdefault(parsed.payload.id, parsed)
            elif parsed is not None:
                statuses.append(parsed)
        with self.store.transaction():
            for cabinet_id, status in sorted(statuses, key=lambda item: item[0]):
                self._status(cabinet_id, status)
            stats.stored += len(statuses)
            new = self._insert_messages(sorted(sequenced.values(), key=lambda p: p.payload.id))
            stats.stored += len(new)
            stats.duplicates += len(sequenced) - len(new)
            self._apply_new([p for p in sequenced.values() if p.payload.id in new])
        return stats

    def _parse(self, message: Incoming, stats: IngestStats) -> _Parsed | tuple[str, StatusPayload] | None:
        parts = parse_topic(self.prefix, message.topic)
        if parts is None or parts.kind in ("telemetry", "command"):
            stats.other += 1
            return None
        try:
            document = json.loads(message.payload)
            if parts.kind == "status":
                return parts.cabinet_id, read_payload(StatusPayload, document)
            if parts.kind == "command_reply":
                stats.replies.append((parts.cabinet_id, read_payload(CommandReplyPayload, document)))
                return None
            return _Parsed(parts, read_payload(SEQUENCED_MODELS[parts.kind], document), message)
        except (ValueError, ValidationError) as exc:  # JSONDecodeError and pydantic's are ValueErrors
            stats.invalid += 1
            if parts.cabinet_id not in self._warned:  # once per cabinet: a broken agent floods
                self._warned.add(parts.cabinet_id)
                log.warning(
                    "cabinet %s: invalid %s message: %s", parts.cabinet_id, parts.kind, str(exc)[:200]
                )
            return None

    def _insert_messages(self, parsed: list[_Parsed]) -> set[str]:
        """Insert the messages not yet stored; returns the ids that were new."""
        rows = [
            (
                item.payload.id,
                item.parts.cabinet_id,
                item.parts.kind,
                item.payload.seq,
                iso_ts(item.payload.ts),
                getattr(item.payload, "device_id", None),
                item.message.received_at,
                item.message.payload.decode(),
            )
            for item in parsed
        ]
        return {row[0] for row in self.store.insert_returning(MESSAGE_INSERT, rows)}

    def _apply_new(self, parsed: list[_Parsed]) -> None:
        states: list[tuple[str, DeviceStatePayload]] = []
        reports: list[tuple[str, DailyReportPayload]] = []
        audits: list[tuple[str, int, bytes]] = []
        for item in parsed:
            cabinet_id, payload = item.parts.cabinet_id, item.payload
            if isinstance(payload, DeviceStatePayload):
                states.append((cabinet_id, payload))
            elif isinstance(payload, DailyReportPayload):
                reports.append((cabinet_id, payload))
            elif isinstance(payload, AuditPayload):
                audits.append((cabinet_id, payload.seq, item.message.payload))
        states.sort(key=lambda item: (item[0], item[1].device_id, item[1].seq))
        self.store.executemany(DEVICE_UPSERT, [_device_row(cabinet, state) for cabinet, state in states])
        reports.sort(key=lambda item: (item[0], item[1].day))
        self.store.executemany(REPORT_UPSERT, [_report_row(cabinet, report) for cabinet, report in reports])
        for cabinet_id, _seq, body in sorted(audits):
            check_audit(self.store, cabinet_id, json.loads(body), time.time())

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


MESSAGE_INSERT = (
    "INSERT INTO message (id, cabinet_id, kind, seq, ts, device_id, received_at, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id"
)
# A retained state replays an older seq when a collector (re)subscribes: never step back.
DEVICE_UPSERT = (
    "INSERT INTO device (cabinet_id, device_id, kind, name, state, since, cause, reason, faults, seq, ts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cabinet_id, device_id) DO UPDATE "
    "SET kind = excluded.kind, name = excluded.name, state = excluded.state, since = excluded.since, "
    "cause = excluded.cause, reason = excluded.reason, faults = excluded.faults, seq = excluded.seq, "
    "ts = excluded.ts WHERE excluded.seq > device.seq"
)
# A report made again on demand (`report_daily`) for the same day replaces the older one.
REPORT_UPSERT = (
    "INSERT INTO report (cabinet_id, day, id, ts) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (cabinet_id, day) DO UPDATE SET id = excluded.id, ts = excluded.ts "
    "WHERE excluded.ts > report.ts"
)


def _device_row(cabinet_id: str, state: DeviceStatePayload) -> tuple[object, ...]:
    faults = json.dumps([fault.model_dump(mode="json") for fault in state.faults], ensure_ascii=False)
    return (
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
    )


def _report_row(cabinet_id: str, report: DailyReportPayload) -> tuple[object, ...]:
    return (cabinet_id, report.day, report.id, iso_ts(report.ts))
