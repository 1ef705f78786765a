"""Outage cause attribution: why each device (and the cabinet) is out, from the cabinet's evidence.

Rules, first match wins, for a device whose own state is `offline`:
  1. a declared maintenance window covers it                  -> maintenance
  2. the cabinet has no mains (`mains_present` false)          -> power_supply
  3. the cabinet LAN is down (`lan_up` false), or every device
     behind its switch (`health.switches`, >= 2 devices) is offline -> cabinet
  4. the poller's own cause (e.g. serial port gone = cabinet)  -> that cause
  5. otherwise                                                  -> device
A device that answers keeps its own state: with a UPS, a camera may well run without mains.

The cabinet itself is a ledger row of its own (`CABINET`): offline with `maintenance` in a
cabinet-wide window, `power_supply` without mains, `network_carrier` when the broker (uplink) is
unreachable while the LAN answers, `cabinet` when both are down, else ok.

Evidence contract (any device kind may provide it, e.g. a power meter, a UPS, the link probe):
telemetry `mains_present` (bool), `uplink_up` (bool: the central broker answers), `lan_up`
(bool: the cabinet switch answers); or the events `mains_lost` / `mains_restored`.

`Attribution` keeps the reported states and the evidence, recomputes every row on each change
and books each change of the effective (state, cause) into the ledger. Clock-free: every call
carries its time, so a scripted month replays through the same code in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from edge_agent.health.ledger import Ledger, MaintenanceWindow

CABINET = "_cabinet"  # the cabinet's own ledger row; cannot clash with a device_id (must start alnum)
EVIDENCE_NAMES = ("mains_present", "uplink_up", "lan_up")


@dataclass(frozen=True, slots=True)
class Effective:
    state: str
    cause: str | None


@dataclass(frozen=True, slots=True)
class Change:
    device_id: str
    previous: Effective | None
    current: Effective
    at: float


class Attribution:
    def __init__(self, ledger: Ledger, *, switches: Mapping[str, Iterable[str]], now: float) -> None:
        self.ledger = ledger
        self.groups = [frozenset(members) for members in switches.values() if len(set(members)) >= 2]
        self.reported: dict[str, tuple[str, str | None]] = {}
        self.effective: dict[str, Effective] = {}
        self.evidence: dict[str, bool | None] = {name: None for name in EVIDENCE_NAMES}
        self.windows = ledger.maintenance_windows(now)
        self._now = now
        self._booked_at: dict[str, float] = {}  # when each row's current interval was opened

    # --- inputs ---------------------------------------------------------------------------------

    def device_state(
        self, device_id: str, state: str, cause: str | None, at: float, *, since: float | None = None
    ) -> list[Change]:
        """A device's own state; `since` back-dates its transition (an outage confirmed after the
        debounce starts at its first failed poll), never before its current interval opened."""
        changes = self.advance(at)
        self.reported[device_id] = (state, cause)
        backdate = {} if since is None else {device_id: since}
        return changes + self._recompute(at, backdate)

    def observe(self, name: str, value: bool | None, at: float) -> list[Change]:
        """New evidence (one of EVIDENCE_NAMES); only a change of value recomputes anything."""
        changes = self.advance(at)
        if self.evidence.get(name) == value:
            return changes
        self.evidence[name] = value
        if name == "mains_present":
            self.ledger.write_meta("mains_present", value)  # read at the next start (dead window)
        return changes + self._recompute(at)

    def add_maintenance(self, window: MaintenanceWindow, at: float) -> list[Change]:
        changes = self.advance(at)
        self.ledger.add_maintenance(window)
        self.windows = self.ledger.maintenance_windows(at)
        return changes + self._recompute(at)

    def end_maintenance(self, at: float) -> list[Change]:
        changes = self.advance(at)
        self.ledger.end_maintenance(at)
        self.windows = self.ledger.maintenance_windows(at)
        return changes + self._recompute(at)

    def advance(self, at: float) -> list[Change]:
        """Recompute at every maintenance start/end passed since the last call, at its exact time."""
        changes: list[Change] = []
        bounds = sorted({t for w in self.windows for t in (w.start, w.end) if self._now < t <= at})
        for bound in bounds:
            self._now = bound
            changes.extend(self._recompute(bound))
        self._now = max(self._now, at)
        return changes

    # --- rules ----------------------------------------------------------------------------------

    def resolve(self, device_id: str, at: float) -> Effective:
        if device_id == CABINET:
            return self._resolve_cabinet(at)
        state, cause = self.reported.get(device_id, ("unknown", None))
        if state != "offline":
            return Effective(state, None)
        if self.in_maintenance(device_id, at):
            return Effective("offline", "maintenance")
        if self.evidence["mains_present"] is False:
            return Effective("offline", "power_supply")
        if self.evidence["lan_up"] is False or self._switch_down(device_id):
            return Effective("offline", "cabinet")
        return Effective("offline", cause if cause not in (None, "unknown") else "device")

    def _resolve_cabinet(self, at: float) -> Effective:
        uplink_down = self.evidence["uplink_up"] is False
        mains_lost = self.evidence["mains_present"] is False
        if (uplink_down or mains_lost) and self.in_maintenance(CABINET, at):
            return Effective("offline", "maintenance")
        if mains_lost:
            return Effective("offline", "power_supply")
        if uplink_down:
            lan_down = self.evidence["lan_up"] is False
            return Effective("offline", "cabinet" if lan_down else "network_carrier")
        return Effective("ok", None)

    def in_maintenance(self, device_id: str, at: float) -> bool:
        """A declared window covers `device_id` (`CABINET`: only cabinet-wide windows) at `at`."""
        return any(
            window.start <= at < window.end and (window.devices is None or device_id in window.devices)
            for window in self.windows
        )

    def _switch_down(self, device_id: str) -> bool:
        return any(
            device_id in group and all(self.reported.get(member, ("",))[0] == "offline" for member in group)
            for group in self.groups
        )

    def _recompute(self, at: float, backdate: dict[str, float] | None = None) -> list[Change]:
        changes = []
        for device_id in [CABINET, *self.reported]:
            current = self.resolve(device_id, at)
            previous = self.effective.get(device_id)
            if current != previous:
                when = backdate.get(device_id, at) if backdate else at
                # Back-dated inputs (an outage's first failed poll, evidence from a poll that started
                # earlier) never reach before the row's current interval: the ledger cannot rewrite it.
                when = max(when, self._booked_at.get(device_id, when))
                self.effective[device_id] = current
                self._booked_at[device_id] = when
                self.ledger.transition(device_id, current.state, current.cause, when)
                changes.append(Change(device_id, previous, current, when))
        return changes
