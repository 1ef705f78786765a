"""The cabinet's health bookkeeping in one synchronous object, driven by timestamps.

`HealthCore` owns the ledger, the cause attribution, the liveness mark, the episodes and the
repeat-fault rule. Every input returns an `Outcome` (what changed); nothing here publishes.
The agent drives it from one worker thread (`health.service.HealthService`) with the real time;
the scripted-month tests drive the very same object with an accelerated clock. Every method
takes the time as an argument (epoch seconds) and nothing in here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_agent.health.attribution import EVIDENCE_NAMES, Attribution, Change
from edge_agent.health.config import HealthConfig
from edge_agent.health.episodes import Episodes, ReplaceRecommended
from edge_agent.health.ledger import Ledger, MaintenanceWindow
from edge_agent.health.recovery import DeadWindow, recover
from edge_agent.health.repeat import RepeatFaultRule

MAINS_EVENTS = {"mains_lost": False, "mains_restored": True}
__all__ = ["MAINS_EVENTS", "HealthCore", "Outcome", "ReplaceRecommended"]


@dataclass(slots=True)
class Outcome:
    """What one input changed: effective (state, cause) of rows, and replacement recommendations."""

    changes: list[Change] = field(default_factory=list)
    replace: list[ReplaceRecommended] = field(default_factory=list)

    def extend(self, other: Outcome) -> Outcome:
        self.changes.extend(other.changes)
        self.replace.extend(other.replace)
        return self


class HealthCore:
    def __init__(
        self, data_dir: Path, config: HealthConfig, *, boot_id: str, durable_marks: bool = True
    ) -> None:
        self.config = config
        self.boot_id = boot_id
        self.ledger = Ledger(data_dir / "ledger.sqlite3", config.tz, durable_marks=durable_marks)
        self.repeat = RepeatFaultRule(
            threshold=config.repeat_fault_count, window_s=config.repeat_fault_window_days * 86400
        )
        self.episodes = Episodes(self.ledger, self.repeat)
        self.attribution: Attribution | None = None
        self.replace_recommended: dict[str, set[str]] = {}
        self._last_heartbeat = float("-inf")

    def start(
        self,
        now: float,
        device_ids: Iterable[str],
        *,
        host_rebooted: bool | None = None,
        process_started: float | None = None,
    ) -> DeadWindow | None:
        """Book the dead window since the last run, then watch `device_ids` (all `unknown` until polled)."""
        device_ids = list(device_ids)
        window = recover(
            self.ledger,
            boot_at=now,
            device_ids=device_ids,
            host_rebooted=host_rebooted,
            process_started=process_started,
        )
        if window is not None and window.cause is not None:
            self.episodes.add_cause(window.cause)
        self.attribution = Attribution(self.ledger, switches=self.config.switches, now=now)
        mains = self.ledger.read_meta("mains_present")
        if isinstance(mains, bool):
            self.attribution.evidence["mains_present"] = mains  # until the meter says otherwise
        for device_id in device_ids:
            self.attribution.device_state(device_id, "unknown", None, now)
        events = self.ledger.fault_events(now - self.repeat.window_s, now, counting_only=True)
        for device_id, code in self.repeat.replay(events):
            self.replace_recommended.setdefault(device_id, set()).add(code)
        self.heartbeat(now, force=True)
        return window

    def stop(self, now: float) -> None:
        """Clean stop: close every interval and mark the heartbeat clean."""
        self.ledger.close_all(now)
        self.ledger.heartbeat(now, self.boot_id, clean=True)
        self.ledger.close()

    def heartbeat(self, now: float, *, force: bool = False) -> bool:
        """Write the liveness mark if one interval has passed (`tick` also passes maintenance bounds)."""
        if not force and now - self._last_heartbeat < self.config.heartbeat_interval_s:
            return False
        self.ledger.heartbeat(now, self.boot_id)
        self._last_heartbeat = now
        return True

    def tick(self, now: float) -> Outcome:
        """The timer input: maintenance windows that began or ended by themselves, and the mark."""
        outcome = self._track(self._attribution.advance(now))
        self.heartbeat(now)
        return outcome

    # --- inputs from the device loops -----------------------------------------------------------

    def device_state(
        self, device_id: str, state: str, cause: str | None, now: float, *, since: float | None = None
    ) -> Outcome:
        return self._track(self._attribution.device_state(device_id, state, cause, now, since=since))

    def values(self, values: Mapping[str, Any], now: float) -> Outcome:
        """Telemetry of any device: picks out the cabinet evidence (`mains_present`, ...)."""
        changes: list[Change] = []
        for name in EVIDENCE_NAMES:
            value = values.get(name)
            if isinstance(value, bool):
                changes.extend(self._attribution.observe(name, value, now))
        return self._track(changes)

    def event(self, event_type: str, now: float) -> Outcome:
        if event_type in MAINS_EVENTS:
            return self._track(self._attribution.observe("mains_present", MAINS_EVENTS[event_type], now))
        return Outcome()

    def fault_raised(
        self, device_id: str, code: str, now: float, *, cause: str = "device"
    ) -> ReplaceRecommended | None:
        return self._recommend(self.episodes.raised(device_id, code, cause, now))

    def fault_cleared(self, device_id: str, code: str, now: float) -> None:
        self.episodes.cleared(device_id, code, now)

    def good_poll(self, device_id: str, active_codes: set[str], now: float) -> None:
        """A successful poll and the fault codes it found (ends episodes repaired while we were down)."""
        self.episodes.good_poll(device_id, active_codes, now)

    # --- operator -------------------------------------------------------------------------------

    def start_maintenance(self, window: MaintenanceWindow, now: float) -> Outcome:
        return self._track(self._attribution.add_maintenance(window, now))

    def end_maintenance(self, now: float) -> Outcome:
        return self._track(self._attribution.end_maintenance(now))

    def active_faults(self) -> dict[str, list[str]]:
        """Open fault episodes per device (what a report shows when the agent is not running)."""
        found: dict[str, list[str]] = {}
        for device_id, code in sorted(self.episodes.open):
            found.setdefault(device_id, []).append(code)
        return found

    @property
    def running(self) -> Attribution:
        """The attribution once `start` ran."""
        return self._attribution

    @property
    def _attribution(self) -> Attribution:
        if self.attribution is None:
            raise RuntimeError("HealthCore.start() first")
        return self.attribution

    def _track(self, changes: list[Change]) -> Outcome:
        outcome = Outcome(changes)
        for change in changes:
            replace = self._recommend(self.episodes.outage(change))
            if replace is not None:
                outcome.replace.append(replace)
        return outcome

    def _recommend(self, replace: ReplaceRecommended | None) -> ReplaceRecommended | None:
        if replace is not None:
            self.replace_recommended.setdefault(replace.device_id, set()).add(replace.code)
        return replace
