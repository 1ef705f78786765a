"""The fleet now, in memory: presence and device states folded from retained messages.

Shared by the terminal view (`fleet watch`) and any other live view. A state message replaces the
device's picture only if its `seq` is newer: a retained state replays an old seq.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from datetime import datetime

from edge_agent.mqtt.payloads import DeviceStatePayload, StatusPayload
from edge_agent.mqtt.reading import read_payload
from edge_agent.mqtt.topics import TopicParts

# Worst first: the order of the table.
SEVERITY = {"offline": 0, "fault": 1, "degraded": 2, "unknown": 3, "ok": 4}


@dataclass(frozen=True, slots=True)
class WatchFilter:
    sites: tuple[str, ...] = ()  # shell patterns on the site name
    districts: tuple[str, ...] = ()  # site name prefixes (sites are named "<district>/<place>" or alike)

    def admits(self, site: str | None) -> bool:
        name = site or ""
        if self.sites and not any(fnmatch.fnmatchcase(name, pattern) for pattern in self.sites):
            return False
        return not self.districts or any(name.startswith(prefix) for prefix in self.districts)


@dataclass
class CabinetNow:
    cabinet_id: str
    site: str | None = None
    presence: str = "unknown"
    presence_since: datetime | None = None
    devices: dict[str, DeviceStatePayload] = field(default_factory=dict)

    @property
    def severity(self) -> int:
        if self.presence == "offline":
            return -1  # the whole cabinet is gone: above any device
        return min((SEVERITY.get(d.state, 3) for d in self.devices.values()), default=3)


class FleetView:
    def __init__(self) -> None:
        self.cabinets: dict[str, CabinetNow] = {}

    def apply(self, parts: TopicParts, document: object) -> None:
        """Fold one parsed message in; raises ValueError (pydantic's included) on a bad payload."""
        cabinet = self.cabinets.setdefault(parts.cabinet_id, CabinetNow(parts.cabinet_id))
        if parts.kind == "status":
            status = read_payload(StatusPayload, document)
            cabinet.site = status.site or cabinet.site
            cabinet.presence = status.state
            cabinet.presence_since = status.ts
        elif parts.kind == "state":
            state = read_payload(DeviceStatePayload, document)
            known = cabinet.devices.get(state.device_id)
            if known is None or state.seq > known.seq:
                cabinet.devices[state.device_id] = state

    def ordered(self, where: WatchFilter) -> list[CabinetNow]:
        chosen = [c for c in self.cabinets.values() if where.admits(c.site)]
        return sorted(chosen, key=lambda c: (c.severity, c.site or "", c.cabinet_id))


def render_table(view: FleetView, where: WatchFilter, *, now: float) -> str:
    """Text table: per cabinet a summary line, then its devices that are not ok."""
    cabinets = view.ordered(where)
    lines = [f"{len(cabinets)} cabinet(s); worst first. {datetime.fromtimestamp(now):%H:%M:%S}"]
    for cabinet in cabinets:
        lines.append(_summary(cabinet))
        bad = sorted(
            (d for d in cabinet.devices.values() if d.state != "ok"),
            key=lambda d: (SEVERITY.get(d.state, 3), d.device_id),
        )
        for device in bad:
            faults = ",".join(f.code for f in device.faults) or "-"
            lines.append(
                f"    {device.device_id:<20} {device.state:<9} {device.cause or '-':<16} "
                f"since {device.since:%m-%d %H:%M:%S}  faults {faults}  {device.reason[:60]}"
            )
    return "\n".join(lines) + "\n"


def _summary(cabinet: CabinetNow) -> str:
    counts: dict[str, int] = {}
    for device in cabinet.devices.values():
        counts[device.state] = counts.get(device.state, 0) + 1
    tally = ", ".join(f"{counts[s]} {s}" for s in sorted(counts, key=lambda s: SEVERITY.get(s, 3)))
    since = f" since {cabinet.presence_since:%m-%d %H:%M:%S}" if cabinet.presence_since else ""
    return (
        f"{cabinet.cabinet_id:<16} {cabinet.site or '-':<24} {cabinet.presence:<8}{since}  "
        f"{len(cabinet.devices)} device(s): {tally or 'none reported'}"
    )
