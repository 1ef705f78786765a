"""Turns health changes and readings into contract payloads and stores them in the outbox.

The one producer of outgoing messages (besides presence, which the link publishes itself). It
also logs each state change once, and keeps the in-memory live picture current.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from edge_agent.health.tracker import FaultCleared, FaultRaised, HealthChange, StateChanged
from edge_agent.mqtt.encode import dumps
from edge_agent.mqtt.payloads import AuditPayload, DailyReportPayload, Payload
from edge_agent.mqtt.topics import Topics
from edge_agent.readings import Cause, Severity, Value, iso_ts, utc_now
from edge_agent.runtime.live_state import DeviceSnapshot
from edge_agent.runtime.outbox import NewMessage, Outbox, PayloadBuilder

log = logging.getLogger(__name__)

THIN_EVENT_INTERVAL_S = 60.0


class Emitter:
    """Builds messages (`*_message(s)`) and stores them (`put`); the other methods do both at once.

    `units_inline`: telemetry carries its `units` (the v1.0 form); otherwise units go once in the
    retained `device/<id>/meta` message, re-sent whenever they change (compact form, v1.1).
    """

    def __init__(
        self, outbox: Outbox, topics: Topics, *, telemetry_qos: int, units_inline: bool = True
    ) -> None:
        self.outbox = outbox
        self.topics = topics
        self.telemetry_qos = telemetry_qos
        self.units_inline = units_inline
        self._meta_units: dict[str, dict[str, str]] = {}  # device id -> units of its last meta message
        self._thinned_unreported = 0
        self._last_thin_event = 0.0

    async def event(
        self,
        type: str,
        *,
        severity: Severity = "info",
        device_id: str | None = None,
        cause: Cause | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        await self.put([self.event_message(type, severity, device_id, cause, detail)])

    async def device_changes(self, snapshot: DeviceSnapshot, changes: list[HealthChange]) -> None:
        """Store the events of a poll's health changes, and the new retained state if it moved."""
        await self.put(self.change_messages(snapshot, changes))

    async def report(self, report: Mapping[str, Any]) -> None:
        """The daily report (`report/daily`); `report` holds every DailyReportPayload field but id/seq."""
        ts = utc_now()
        await self.put(
            [NewMessage("report", self.topics.report_daily, _sequenced(DailyReportPayload, ts, report))]
        )

    async def audit(self, record: Mapping[str, Any]) -> None:
        """One audit record (`audit`), as written by `edge_agent.audit.AuditLog`."""
        await self.put([NewMessage("audit", self.topics.audit, _sequenced(AuditPayload, None, record))])

    async def device_state(self, snapshot: DeviceSnapshot) -> None:
        await self.put([self._state(snapshot)])

    async def put(self, messages: list[NewMessage]) -> None:
        """Store `messages` in one outbox transaction (nothing to do for none)."""
        if messages:
            await self._put(messages)

    def change_messages(self, snapshot: DeviceSnapshot, changes: list[HealthChange]) -> list[NewMessage]:
        """The events of a poll's health changes, and the new retained state if it moved."""
        messages = []
        for change in changes:
            messages.append(self._change_event(snapshot, change))
            if isinstance(change, StateChanged):
                _log_state_change(snapshot, change)
        if any(isinstance(change, StateChanged | FaultRaised | FaultCleared) for change in changes):
            messages.append(self._state(snapshot))
        return messages

    def event_message(
        self,
        type: str,
        severity: Severity = "info",
        device_id: str | None = None,
        cause: Cause | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> NewMessage:
        return self._event(type, severity, device_id, cause, dict(detail or {}))

    def telemetry_messages(
        self, snapshot: DeviceSnapshot, values: Mapping[str, Value], units: Mapping[str, str], full: bool
    ) -> list[NewMessage]:
        """The telemetry of `values`; in the compact form preceded by a meta message when units changed."""
        device_id = snapshot.device_id
        document: dict[str, Any] = {"ts": iso_ts(utc_now()), "device_id": device_id, "full": full}
        document["values"] = dict(values)
        messages = []
        if self.units_inline:
            document["units"] = {name: unit for name, unit in units.items() if name in values and unit}
        elif self._meta_units.get(device_id) != units:
            messages.append(self._meta(snapshot, units))
        encoded = dumps(document)
        topic = self.topics.device_telemetry(device_id)
        messages.append(NewMessage("telemetry", topic, lambda _id, _seq: encoded, qos=self.telemetry_qos))
        return messages

    async def device_states(self, snapshots: list[DeviceSnapshot]) -> None:
        """Every device's retained messages again (birth): its state, and its meta in the compact
        form once it has one; queued behind what is stored, so order is kept."""
        messages = []
        for snapshot in snapshots:
            messages.append(self._state(snapshot))
            units = self._meta_units.get(snapshot.device_id)
            if units is not None:
                messages.append(self._meta(snapshot, units))
        await self.put(messages)

    async def telemetry(
        self, snapshot: DeviceSnapshot, values: Mapping[str, Value], units: Mapping[str, str], full: bool
    ) -> None:
        await self.put(self.telemetry_messages(snapshot, values, units, full))

    # --- building -----------------------------------------------------------------------------

    def _event(
        self,
        type: str,
        severity: Severity,
        device_id: str | None,
        cause: Cause | None,
        detail: dict[str, Any],
    ) -> NewMessage:
        ts = iso_ts(utc_now())

        def build(message_id: str, seq: int | None) -> bytes:
            assert seq is not None
            return dumps(
                {
                    "id": message_id,
                    "seq": seq,
                    "ts": ts,
                    "device_id": device_id,
                    "type": type,
                    "severity": severity,
                    "cause": cause,
                    "detail": detail,
                }
            )

        return NewMessage("event", self.topics.event, build)

    def _change_event(self, snapshot: DeviceSnapshot, change: HealthChange) -> NewMessage:
        device_id = snapshot.device_id
        if isinstance(change, StateChanged):
            severity: Severity = "warning" if change.current in ("offline", "fault") else "info"
            detail: dict[str, Any] = {"from": change.previous, "to": change.current, "reason": change.reason}
            return self._event("state_changed", severity, device_id, change.cause, detail)
        if isinstance(change, FaultRaised):
            detail = {"code": change.fault.code, "message": change.fault.message}
            return self._event("fault_raised", change.fault.severity, device_id, change.fault.cause, detail)
        detail = {
            "code": change.fault.code,
            "message": change.fault.message,
            "active_s": round(change.active_s, 3),
        }
        return self._event("fault_cleared", "info", device_id, None, detail)

    def _state(self, snapshot: DeviceSnapshot) -> NewMessage:
        health = snapshot.health
        document = {
            "ts": iso_ts(utc_now()),
            "device_id": snapshot.device_id,
            "kind": snapshot.kind,
            "name": snapshot.name,
            "state": health.state,
            "since": iso_ts(health.since),
            "cause": health.cause,
            "reason": health.reason,
            "faults": [
                {
                    "code": code,
                    "severity": item.fault.severity,
                    "message": item.fault.message,
                    "since": iso_ts(item.since),
                }
                for code, item in health.faults.items()
            ],
        }

        def build(message_id: str, seq: int | None) -> bytes:
            assert seq is not None
            return dumps({"id": message_id, "seq": seq, **document})

        return NewMessage("state", self.topics.device_state(snapshot.device_id), build, retain=True)

    def _meta(self, snapshot: DeviceSnapshot, units: Mapping[str, str]) -> NewMessage:
        """The retained `device/<id>/meta`: what the compact telemetry leaves out."""
        self._meta_units[snapshot.device_id] = dict(units)
        document = {
            "ts": iso_ts(utc_now()),
            "device_id": snapshot.device_id,
            "kind": snapshot.kind,
            "name": snapshot.name,
            "units": {name: unit for name, unit in units.items() if unit},
        }
        encoded = dumps(document)
        topic = self.topics.device_meta(snapshot.device_id)
        return NewMessage("meta", topic, lambda _id, _seq: encoded, retain=True)

    async def _put(self, messages: list[NewMessage]) -> None:
        thinned = await self.outbox.put(messages)
        if thinned:
            self._thinned_unreported += thinned
        now = time.monotonic()
        if self._thinned_unreported and now - self._last_thin_event >= THIN_EVENT_INTERVAL_S:
            count, self._thinned_unreported = self._thinned_unreported, 0
            self._last_thin_event = now
            stats = self.outbox.stats()
            log.warning("outbox over its quota: %d telemetry messages thinned", count)
            detail = {"thinned": count, "stored_bytes": stats.stored_bytes, "max_bytes": stats.max_bytes}
            self._thinned_unreported += await self.outbox.put(
                [self._event("outbox_telemetry_thinned", "warning", None, None, detail)]
            )


def _sequenced(model: type[Payload], ts: Any, fields: Mapping[str, Any]) -> PayloadBuilder:
    """A builder validating `fields` into `model` once the outbox gives the message its id and seq."""
    document = dict(fields)
    if ts is not None:
        document["ts"] = ts
    model.model_validate({**document, "id": "x" * 8, "seq": 1})  # fail here, not inside the outbox

    def build(message_id: str, seq: int | None) -> bytes:
        assert seq is not None
        return _encode(model.model_validate({**document, "id": message_id, "seq": seq}))

    return build


def _encode(payload: Payload) -> bytes:
    return payload.model_dump_json().encode()


def _log_state_change(snapshot: DeviceSnapshot, change: StateChanged) -> None:
    level = logging.WARNING if change.current in ("offline", "fault") else logging.INFO
    because = ""
    if change.reason:
        because = f" ({change.cause}: {change.reason})" if change.cause else f" ({change.reason})"
    log.log(level, "device %s: %s -> %s%s", snapshot.device_id, change.previous, change.current, because)
