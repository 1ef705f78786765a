"""The cabinet's health bookkeeping in one synchronous object, driven by timestamps.

`HealthCore` owns the ledger, the cause attribution, the heartbeat and the repeat-fault rule.
The agent drives it from one worker thread (`health.service.HealthService`) with the real time;
the scripted-month tests drive the very same object with an accelerated clock. Every method
takes the time as an argument (epoch seconds) and nothing in here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent.health.attribution import EVIDENCE_NAMES, Attribution, Change
from edge_agent.health.config import HealthConfig
from edge_agent.health.ledger import Ledger, MaintenanceWindow
from edge_agent.health.recovery import DeadWindow, recover
from edge_agent.health.repeat import RepeatFaultRule

MAINS_EVENTS = {"mains_lost": False, "mains_restored": True}


@dataclass(frozen=True, slots=True)
class ReplaceRecommended:
    device_id: str
    code: str
    recurrences: int


class HealthCore:
    def __init__(self, data_dir: Path, config: HealthConfig, *, boot_id: str) -> None:
        self.config = config
        self.boot_id = boot_id
        self.ledger = Ledger(data_dir / "ledger.sqlite3", config.tz)
        self.repeat = RepeatFaultRule(
            threshold=config.repeat_fault_count, window_s=config.repeat_fault_window_days * 86400
        )
        self.attribution: Attribution | None = None
        self.replace_recommended: dict[str, set[str]] = {}
        self._last_heartbeat = float("-inf")

    def start(
        self, now: float, device_ids: Iterable[str], *, host_rebooted: bool | None = None
    ) -> DeadWindow | None:
        """Book the dead window since the last run, then watch `device_ids` (all `unknown` until polled)."""
        device_ids = list(device_ids)
        window = recover(self.ledger, boot_at=now, device_ids=device_ids, host_rebooted=host_rebooted)
        self.attribution = Attribution(self.ledger, switches=self.config.switches, now=now)
        mains = self.ledger.read_meta("mains_present")
        if isinstance(mains, bool):
            self.attribution.evidence["mains_present"] = mains  # until the meter says otherwise
        for device_id in device_ids:
            self.attribution.device_state(device_id, "unknown", None, now)
        fired = self.repeat.replay(self.ledger.fault_events(now - self.repeat.window_s, now))
        for device_id, code in fired:
            self.replace_recommended.setdefault(device_id, set()).add(code)
        self.heartbeat(now, force=True)
        return window

    def stop(self, now: float) -> None:
        """Clean stop: close every interval and mark the heartbeat clean."""
        self.ledger.close_all(now)
        self.ledger.heartbeat(now, self.boot_id, clean=True)
        self.ledger.close()

    def heartbeat(self, now: float, *, force: bool = False) -> bool:
        """Rewrite the heartbeat if one interval has passed; also passes maintenance boundaries."""
        self._attribution.advance(now)
        if not force and now - self._last_heartbeat < self.config.heartbeat_interval_s:
            return False
        self.ledger.heartbeat(now, self.boot_id)
        self._last_heartbeat = now
        return True

    # --- inputs from the device loops -----------------------------------------------------------

    def device_state(self, device_id: str, state: str, cause: str | None, now: float) -> list[Change]:
        return self._attribution.device_state(device_id, state, cause, now)

    def values(self, values: Mapping[str, Any], now: float) -> list[Change]:
        """Telemetry of any device: picks out the cabinet evidence (`mains_present`, ...)."""
        changes: list[Change] = []
        for name in EVIDENCE_NAMES:
            value = values.get(name)
            if isinstance(value, bool):
                changes.extend(self._attribution.observe(name, value, now))
        return changes

    def event(self, event_type: str, now: float) -> list[Change]:
        if event_type in MAINS_EVENTS:
            return self._attribution.observe("mains_present", MAINS_EVENTS[event_type], now)
        return []

    def fault_raised(self, device_id: str, code: str, now: float) -> ReplaceRecommended | None:
        self.ledger.log_fault(device_id, code, "raised", now)
        count = self.repeat.raised(device_id, code, now)
        if count is None:
            return None
        self.replace_recommended.setdefault(device_id, set()).add(code)
        return ReplaceRecommended(device_id, code, count)

    def fault_cleared(self, device_id: str, code: str, now: float) -> None:
        self.ledger.log_fault(device_id, code, "cleared", now)
        self.repeat.cleared(device_id, code, now)

    # --- operator -------------------------------------------------------------------------------

    def start_maintenance(self, window: MaintenanceWindow, now: float) -> list[Change]:
        return self._attribution.add_maintenance(window, now)

    def end_maintenance(self, now: float) -> list[Change]:
        return self._attribution.end_maintenance(now)

    @property
    def running(self) -> Attribution:
        """The attribution once `start` ran."""
        return self._attribution

    @property
    def _attribution(self) -> Attribution:
        if self.attribution is None:
            raise RuntimeError("HealthCore.start() first")
        return self.attribution
