"""The agent's side of cabinet health: feeds `HealthCore` from the device loops, says what changed.

All ledger work runs on one worker thread (SQLite, fsync: never on the event loop), in call
order. The device runners hand over each poll's health changes: the offline cause is replaced
by the attributed one, fault raises and outages feed the episodes (repeat-fault rule), and
cabinet evidence in the telemetry (`mains_present`, `uplink_up`, `lan_up`) or events
(`mains_lost`, `mains_restored`) moves the cabinet's own row. This service only *returns* what
changed (`Observed`, `Outcome`): it neither publishes nor touches a device's snapshot. The
runtime (`runtime.cabinet_health`, the runners) publishes it, whatever triggered it (a poll, a
timer, an operator).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import psutil

from edge_agent.health.attribution import CABINET, EVIDENCE_NAMES
from edge_agent.health.config import HealthConfig
from edge_agent.health.core import MAINS_EVENTS, HealthCore, Outcome
from edge_agent.health.ledger import MaintenanceWindow
from edge_agent.health.recovery import DeadWindow
from edge_agent.health.report import DeviceNow, build_report, load_report, next_report_time, save_report
from edge_agent.health.tracker import FaultCleared, FaultRaised, HealthChange, StateChanged
from edge_agent.readings import Cause, PollResult, iso_ts

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Observed:
    """A poll's own changes (offline causes attributed) and what else they changed."""

    changes: list[HealthChange]
    outcome: Outcome


class HealthService:
    def __init__(self, config: HealthConfig, data_dir: Path, *, cabinet_id: str, boot_id: str) -> None:
        self.config = config
        self.cabinet_id = cabinet_id
        self.core = HealthCore(data_dir, config, boot_id=boot_id)
        self.reports_dir = data_dir / "reports"
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="health")

    async def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: function(*args, **kwargs))

    # --- life cycle -----------------------------------------------------------------------------

    async def start(self, device_ids: Iterable[str]) -> DeadWindow | None:
        """Book the window the agent was down (returned when it lasted), then watch `device_ids`."""
        rebooted = psutil.boot_time() > (self.core.ledger.last_heartbeat() or _NEVER).at
        window = await self._call(
            self.core.start,
            time.time(),
            list(device_ids),
            host_rebooted=rebooted,
            process_started=_process_started_at(),
        )
        return window if window is not None and window.seconds > 0 else None

    async def swap_meta(self, key: str, value: Any, *, keep: bool = False) -> Any:
        """Store `value` under `key` in the ledger (unless `keep`); returns what was there before."""

        def swap() -> Any:
            previous = self.core.ledger.read_meta(key)
            if not keep:
                self.core.ledger.write_meta(key, value)
            return previous

        return await self._call(swap)

    async def stop(self) -> None:
        await self._call(self.core.stop, time.time())
        self._executor.shutdown(wait=True)

    async def tick(self) -> Outcome:
        """The timer input (maintenance windows beginning or ending by themselves, liveness mark)."""
        return await self._call(self.core.tick, time.time())

    def next_report_time(self, after: float) -> float:
        return next_report_time(after, self.config.report_time, self.config.tz)

    # --- from the device loops ------------------------------------------------------------------

    async def observe(
        self,
        device_id: str,
        changes: list[HealthChange],
        result: PollResult | None,
        polled_at: float | None = None,
    ) -> Observed:
        """A poll's health changes: returns them with offline causes attributed, and what else moved.
        Evidence in `result` is booked from `polled_at`, when the poll started (a silent uplink
        makes the probe wait its timeouts: the cut began before they ran out)."""
        evidence = {n: v for n, v in (result.values if result else {}).items() if n in EVIDENCE_NAMES}
        mains_events = [e.type for e in (result.events if result else []) if e.type in MAINS_EVENTS]
        if not changes and not evidence and not mains_events and self.core.episodes.checked(device_id):
            return Observed(changes, Outcome())  # nothing for the ledger: no trip to its thread
        outcome = await self._call(
            self._observe_sync, device_id, changes, evidence, mains_events, result, polled_at
        )
        return Observed([self._with_cause(device_id, c) for c in changes], outcome)

    def _observe_sync(
        self,
        device_id: str,
        changes: list[HealthChange],
        evidence: dict[str, Any],
        mains_events: list[str],
        result: PollResult | None,
        polled_at: float | None,
    ) -> Outcome:
        now, core = time.time(), self.core
        seen_at = min(now, polled_at) if polled_at is not None else now
        outcome = core.values(evidence, seen_at)
        for event_type in mains_events:
            outcome.extend(core.event(event_type, seen_at))
        for change in changes:
            if isinstance(change, StateChanged):
                since = change.at.timestamp() if change.at is not None else None
                outcome.extend(core.device_state(device_id, change.current, change.cause, now, since=since))
            elif isinstance(change, FaultRaised):
                replace = core.fault_raised(device_id, change.fault.code, now, cause=change.fault.cause)
                outcome.replace.extend([replace] if replace is not None else [])
            elif isinstance(change, FaultCleared):
                core.fault_cleared(device_id, change.fault.code, now)
        if result is not None:
            core.good_poll(device_id, {fault.code for fault in result.faults}, now)
        return outcome

    def _with_cause(self, device_id: str, change: HealthChange) -> HealthChange:
        if not isinstance(change, StateChanged) or change.current != "offline":
            return change
        effective = self.core.running.effective.get(device_id)
        if effective is None or effective.cause is None or effective.cause == change.cause:
            return change
        return dataclasses.replace(change, cause=cast(Cause, effective.cause))

    # --- operator -------------------------------------------------------------------------------

    async def start_maintenance(
        self, device_ids: list[str] | None, duration_s: float, operator: str | None, reason: str
    ) -> tuple[MaintenanceWindow, Outcome]:
        now = time.time()
        devices = None if not device_ids else frozenset(device_ids)
        window = MaintenanceWindow(now, now + duration_s, devices, operator, reason)
        return window, await self._call(self.core.start_maintenance, window, now)

    async def end_maintenance(self) -> Outcome:
        return await self._call(self.core.end_maintenance, time.time())

    def maintenance_now(self) -> list[dict[str, Any]]:
        """The maintenance windows open right now (for the page's banner), soonest end first."""
        attribution, now = self.core.attribution, time.time()
        windows = [] if attribution is None else [w for w in attribution.windows if w.start <= now < w.end]
        return [
            {
                "end": iso_ts(datetime.fromtimestamp(w.end).astimezone()),
                "devices": sorted(w.devices) if w.devices is not None else None,
                "operator": w.operator,
                "reason": w.reason,
            }
            for w in sorted(windows, key=lambda w: w.end)
        ]

    def in_maintenance(self, device_id: str | None) -> bool:
        attribution = self.core.attribution
        return attribution is not None and attribution.in_maintenance(device_id or CABINET, time.time())

    # --- report ---------------------------------------------------------------------------------

    async def report(self, day: date, devices: list[DeviceNow], *, save: bool) -> dict[str, Any]:
        """The report of `day`, built from the ledger now (and saved, for the daily run)."""
        return await self._call(self._build, day, [self.cabinet_now(), *devices], save)

    async def days(self) -> list[str]:
        """Days with a stored report, newest first."""
        return await asyncio.to_thread(
            lambda: sorted((p.stem for p in self.reports_dir.glob("*.json")), reverse=True)
        )

    async def stored(self, day: str) -> dict[str, Any] | None:
        return await asyncio.to_thread(load_report, self.reports_dir, day)

    def today(self) -> date:
        return datetime.now(self.config.tz).date()

    def _build(self, day: date, devices: list[DeviceNow], save: bool) -> dict[str, Any]:
        report = build_report(
            self.core.ledger,
            cabinet_id=self.cabinet_id,
            day=day,
            now=time.time(),
            devices=devices,
            excluded_causes=list(self.config.excluded_causes),
            replace_recommended=self.core.replace_recommended,
            timezone=self.config.timezone,
            unknown_time=self.config.unknown_time,
        )
        if save:
            save_report(self.reports_dir, report, keep_days=self.config.report_keep_days)
            self.core.ledger.prune_faults(time.time() - self.config.report_keep_days * 86400)
        return report

    def cabinet_now(self) -> DeviceNow:
        attribution = self.core.attribution
        effective = attribution.effective.get(CABINET) if attribution else None
        state, cause = (effective.state, effective.cause) if effective else ("unknown", None)
        values = dict(attribution.evidence) if attribution else {}
        return DeviceNow(CABINET, "cabinet", state, cause, [], values)


def window_detail(window: DeadWindow) -> dict[str, Any]:
    """The `outage_attributed` event's detail for a dead window."""
    return {
        "start": iso_ts(datetime.fromtimestamp(window.start).astimezone()),
        "end": iso_ts(datetime.fromtimestamp(window.end).astimezone()),
        "seconds": round(window.seconds, 1),
        "state": window.state,
        "reason": window.reason,
    }


def _process_started_at() -> float:
    """When this process started, to ~10 ms: /proc/self/stat's start time (clock ticks since boot)
    against CLOCK_BOOTTIME. psutil's `create_time` adds /proc/stat's boot time, which has whole
    seconds only: up to 1 s off, and this time bounds the booked dead window."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started_ticks = int(fields[19])  # field 22 of proc(5), counted after "pid (comm)"
        since_boot_s = time.clock_gettime(time.CLOCK_BOOTTIME)
        return time.time() - (since_boot_s - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):  # not Linux: the coarser figure
        return float(psutil.Process().create_time())


@dataclasses.dataclass(frozen=True)
class _Never:
    at: float = 0.0


_NEVER = _Never()
