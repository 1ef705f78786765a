"""The fleet now, read from the centre's database: what the duty room's page shows.

Rows are cabinets, worst first: a cabinet that is offline (its last will, or a clean stop) or has
a device offline is `offline` (red), then `fault`, `degraded`, `unknown`, `ok`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from edge_agent.fleet.store import Store
from edge_agent.fleet.view import SEVERITY


@dataclass
class DeviceRow:
    device_id: str
    kind: str
    state: str
    cause: str | None
    since: str
    reason: str
    faults: list[str]


@dataclass
class CabinetRow:
    cabinet_id: str
    site: str
    presence: str
    presence_since: str | None
    devices: list[DeviceRow] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.presence == "offline":
            return "offline"
        return min((d.state for d in self.devices), key=lambda s: SEVERITY.get(s, 3), default="unknown")

    @property
    def down(self) -> list[DeviceRow]:
        return sorted((d for d in self.devices if d.state != "ok"), key=lambda d: SEVERITY.get(d.state, 3))

    @property
    def cause(self) -> str | None:
        if self.presence == "offline":
            return "cabinet"
        return next((d.cause for d in self.down if d.cause), None)

    @property
    def since(self) -> str | None:
        if self.presence == "offline":
            return self.presence_since
        return min((d.since for d in self.down if d.state == self.state), default=None)

    def as_dict(self) -> dict[str, Any]:
        summary = {"state": self.state, "cause": self.cause, "since": self.since}
        return {**asdict(self), **summary, "down": [asdict(d) for d in self.down]}


def fleet_now(store: Store, *, site: str | None = None, cabinet_id: str | None = None) -> list[CabinetRow]:
    """Cabinets (of one site, or one cabinet), worst first."""
    cabinets: dict[str, CabinetRow] = {}
    for cab, cab_site, presence, ts in store.query("SELECT cabinet_id, site, state, ts FROM cabinet"):
        cabinets[cab] = CabinetRow(cab, cab_site or "-", presence, ts)
    rows = store.query("SELECT cabinet_id, device_id, kind, state, cause, since, reason, faults FROM device")
    for cab, device_id, kind, state, cause, since, reason, faults in rows:
        row = cabinets.setdefault(cab, CabinetRow(cab, "-", "unknown", None))
        codes = [fault["code"] for fault in json.loads(faults)]
        row.devices.append(DeviceRow(device_id, kind, state, cause, since, reason, codes))
    chosen = [
        row for row in cabinets.values()
        if (site is None or row.site == site) and (cabinet_id is None or row.cabinet_id == cabinet_id)
    ]  # fmt: skip
    for row in chosen:
        row.devices.sort(key=lambda d: d.device_id)
    return sorted(
        chosen, key=lambda r: (SEVERITY.get(r.state, 3) - (r.presence == "offline"), r.site, r.cabinet_id)
    )
