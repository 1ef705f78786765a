"""The page's alarm log: every fault and outage with raised/cleared times and cause, acknowledgeable.

Built from the live state the page already watches: a fault that came and went between two
visits (a 30 s mains loss, a breaker trip) leaves a row. Kept in memory, bounded; the agent's
MQTT events and daily reports remain the durable record.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from edge_agent.faults import catalogue, lookup
from edge_agent.readings import iso_ts, utc_now
from edge_agent.runtime.live_state import DeviceSnapshot

MAX_ALARMS = 500
OFFLINE = "offline"  # the pseudo fault code of an outage row (its catalogue key is the failure's code)


@dataclass
class Alarm:
    id: int
    device_id: str
    name: str
    code: str
    key: str | None  # catalogue entry
    subject: str
    severity: str
    cause: str | None
    message: str
    raised: str
    cleared: str | None = None
    acked_by: str | None = None
    acked_at: str | None = None


class AlarmLog:
    def __init__(self, limit: int = MAX_ALARMS) -> None:
        self._rows: deque[Alarm] = deque(maxlen=limit)
        self._open: dict[tuple[str, str], Alarm] = {}
        self._ids = itertools.count(1)

    def observe(self, snapshot: DeviceSnapshot) -> None:
        """Open a row per new fault (and outage), close the rows of those gone."""
        health, device_id = snapshot.health, snapshot.device_id
        now = iso_ts(utc_now())
        current: dict[str, tuple[str, str | None, str, str]] = {
            code: (active.fault.severity, health.cause, active.fault.message, iso_ts(active.since))
            for code, active in health.faults.items()
        }
        if health.state == "offline":
            current[OFFLINE] = ("critical", health.cause, health.reason, iso_ts(health.since))
        for (owner, code), alarm in list(self._open.items()):
            if owner == device_id and code not in current:
                alarm.cleared = now
                del self._open[(owner, code)]
        for code, (severity, cause, message, since) in current.items():
            if (device_id, code) not in self._open:
                self._add(snapshot, code, severity, cause, message, since)

    def _add(
        self, snapshot: DeviceSnapshot, code: str, severity: str, cause: str | None, message: str, since: str
    ) -> None:
        lookup_code = (snapshot.health.error_code or "poll_failed") if code == OFFLINE else code
        key, subject = lookup(lookup_code) or (None, "")
        if cause is None and key is not None:  # a warning has no outage cause: the catalogue's default
            cause = catalogue()[key].cause
        alarm = Alarm(
            id=next(self._ids),
            device_id=snapshot.device_id,
            name=snapshot.name or snapshot.device_id,
            code=code,
            severity=severity,
            cause=cause,
            message=message[:300],
            raised=since,
            key=key,
            subject=subject,
        )
        self._rows.append(alarm)
        self._open[(snapshot.device_id, code)] = alarm

    def acknowledge(self, alarm_id: int, user: str) -> Alarm | None:
        """Mark one row as seen by `user` (first acknowledgement kept); None if there is no such row."""
        for alarm in self._rows:
            if alarm.id == alarm_id:
                if alarm.acked_by is None:
                    alarm.acked_by, alarm.acked_at = user, iso_ts(utc_now())
                return alarm
        return None

    def rows(self) -> list[dict[str, Any]]:
        """Newest first."""
        return [asdict(alarm) for alarm in reversed(self._rows)]
