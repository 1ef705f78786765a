"""Outages per link (or any device) with their repair times, from the stored state changes.

A device's states in `seq` order: an outage starts at the `since` of a state `offline` with one
of the contract's `link_outages` causes and ends at the `since` of the next state that is not
offline with that cause (a repeated offline state, e.g. a new fault, continues the outage). An
outage is listed if it touches the month; its repair time is its whole length, also across the
month's edges; one still open has none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge_agent.fleet.contracts import Contract
from edge_agent.fleet.store import Store
from edge_agent.mqtt.payloads import DeviceStatePayload
from edge_agent.mqtt.reading import read_payload


@dataclass(frozen=True, slots=True)
class LinkOutage:
    cabinet_id: str
    device_id: str
    cause: str
    start: datetime
    end: datetime | None

    @property
    def repair_s(self) -> float | None:
        return None if self.end is None else (self.end - self.start).total_seconds()


def link_outages(
    store: Store, contract: Contract, first: date, last: date, zones: dict[str, ZoneInfo]
) -> list[LinkOutage]:
    found: list[LinkOutage] = []
    for (cabinet_id, device_id), states in _states(store, contract).items():
        zone = zones.get(cabinet_id, ZoneInfo("UTC"))
        month_start = datetime.combine(first, time(), zone)
        month_end = datetime.combine(last + timedelta(days=1), time(), zone)
        for outage in _walk(cabinet_id, device_id, states, set(contract.link_outages)):
            if outage.start < month_end and (outage.end is None or outage.end > month_start):
                found.append(outage)
    return sorted(found, key=lambda o: (o.cabinet_id, o.device_id, o.start))


def _states(store: Store, contract: Contract) -> dict[tuple[str, str], list[DeviceStatePayload]]:
    states: dict[tuple[str, str], list[DeviceStatePayload]] = {}
    rows = store.query(
        "SELECT m.cabinet_id, c.site, m.payload FROM message m LEFT JOIN cabinet c "
        "ON c.cabinet_id = m.cabinet_id WHERE m.kind = 'state' ORDER BY m.cabinet_id, m.device_id, m.seq"
    )
    for cabinet_id, site, text in rows:
        state = read_payload(DeviceStatePayload, json.loads(text))
        if contract.devices.counts(state.kind, state.device_id, site):
            states.setdefault((cabinet_id, state.device_id), []).append(state)
    return states


def _walk(
    cabinet_id: str, device_id: str, states: list[DeviceStatePayload], causes: set[str]
) -> list[LinkOutage]:
    outages: list[LinkOutage] = []
    open_at: tuple[datetime, str] | None = None
    for state in states:
        down = state.state == "offline" and state.cause in causes
        if open_at is not None and (not down or state.cause != open_at[1]):
            outages.append(LinkOutage(cabinet_id, device_id, open_at[1], open_at[0], state.since))
            open_at = None
        if down and open_at is None:
            open_at = (state.since, str(state.cause))
    if open_at is not None:
        outages.append(LinkOutage(cabinet_id, device_id, open_at[1], open_at[0], None))
    return outages
