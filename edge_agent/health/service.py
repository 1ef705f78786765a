"""The agent's side of cabinet health: feeds `HealthCore` from the device loops, publishes what it finds.

All ledger work runs on one worker thread (SQLite, fsync: never on the event loop), in call
order. The device runners call `observe` with each poll's health changes: the offline cause is
replaced by the attributed one before the state is published, fault raises feed the
repeat-fault rule (`replace_recommended` event), and cabinet evidence in the telemetry
(`mains_present`, `uplink_up`, `lan_up`) or events (`mains_lost`, `mains_restored`) moves the
cabinet's own row. Events go through the outbox, so what happened while the uplink was cut is
published after reconnect.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import psutil

from edge_agent.health.attribution import CABINET, EVIDENCE_NAMES, Change
from edge_agent.health.config import HealthConfig
from edge_agent.health.core import MAINS_EVENTS, HealthCore
from edge_agent.health.ledger import MaintenanceWindow
from edge_agent.health.recovery import DeadWindow
from edge_agent.health.report import DeviceNow, build_report, load_report, next_report_time, save_report
from edge_agent.health.tracker import FaultCleared, FaultRaised, HealthChange, StateChanged
from edge_agent.readings import Cause, PollResult, iso_ts
from edge_agent.runtime.emitter import Emitter
from edge_agent.runtime.live_state import DeviceSnapshot, LiveState

log = logging.getLogger(__name__)
T = TypeVar("T")


class HealthService:
    def __init__(
        self,
        config: HealthConfig,
        data_dir: Path,
        *,
        cabinet_id: str,
        boot_id: str,
        emitter: Emitter,
        live: LiveState,
    ) -> None:
        self.config = config
        self.cabinet_id = cabinet_id
        self.core = HealthCore(data_dir, config, boot_id=boot_id)
        self.reports_dir = data_dir / "reports"
        self.emitter = emitter
        self.live = live
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="health")

    async def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: function(*args, **kwargs))

    # --- life cycle -----------------------------------------------------------------------------

    async def start(self, device_ids: Iterable[str]) -> None:
        rebooted = psutil.boot_time() > (self.core.ledger.last_heartbeat() or _NEVER).at
        window = await self._call(self.core.start, time.time(), list(device_ids), host_rebooted=rebooted)
        if window is not None and window.seconds > 0:
            await self._announce_dead_window(window)

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

    async def run(self) -> None:
        """Heartbeat, maintenance boundaries and the daily report, until cancelled."""
        next_report = self._next_report_time(time.time())
        while True:
            await asyncio.sleep(min(self.config.heartbeat_interval_s, max(0.0, next_report - time.time())))
            now = time.time()
            try:
                changes = await self._call(self._heartbeat_and_advance, now)
                await self._publish_attribution(changes)
                if now >= next_report:
                    next_report = self._next_report_time(now + 1)
                    await self.daily_report(_local_date(now, self.config) - timedelta(days=1))
            except (OSError, sqlite3.Error):  # a full or failing disk must not stop the agent
                log.exception("health bookkeeping failed; retrying at the next heartbeat")

    def _heartbeat_and_advance(self, now: float) -> list[Change]:
        self.core.heartbeat(now)
        return self.core.running.advance(now)

    # --- from the device loops ------------------------------------------------------------------

    async def observe(
        self, snapshot: DeviceSnapshot, changes: list[HealthChange], result: PollResult | None
    ) -> list[HealthChange]:
        """Called by the runner before it publishes a poll's changes; returns them with causes attributed."""
        evidence = {n: v for n, v in (result.values if result else {}).items() if n in EVIDENCE_NAMES}
        mains_events = [e.type for e in (result.events if result else []) if e.type in MAINS_EVENTS]
        if not changes and not evidence and not mains_events:
            return changes
        found, outcome = await self._call(
            self._observe_sync, snapshot.device_id, changes, evidence, mains_events
        )
        for replace in found:
            await self.emitter.event(
                "replace_recommended",
                severity="warning",
                device_id=replace.device_id,
                cause="device",
                detail={"code": replace.code, "recurrences": replace.recurrences},
            )
        await self._publish_attribution([c for c in outcome if c.device_id != snapshot.device_id])
        return [self._with_cause(snapshot, change) for change in changes]

    def _observe_sync(
        self, device_id: str, changes: list[HealthChange], evidence: dict[str, Any], mains_events: list[str]
    ) -> tuple[list[Any], list[Change]]:
        now, core, found, outcome = time.time(), self.core, [], []
        outcome.extend(core.values(evidence, now))
        for event_type in mains_events:
            outcome.extend(core.event(event_type, now))
        for change in changes:
            if isinstance(change, StateChanged):
                outcome.extend(core.device_state(device_id, change.current, change.cause, now))
            elif isinstance(change, FaultRaised):
                replace = core.fault_raised(device_id, change.fault.code, now)
                found.extend([replace] if replace is not None else [])
            elif isinstance(change, FaultCleared):
                core.fault_cleared(device_id, change.fault.code, now)
        return found, outcome

    def _with_cause(self, snapshot: DeviceSnapshot, change: HealthChange) -> HealthChange:
        if not isinstance(change, StateChanged) or change.current != "offline":
            return change
        effective = self.core.running.effective.get(snapshot.device_id)
        if effective is None or effective.cause is None or effective.cause == change.cause:
            return change
        snapshot.health.cause = effective.cause  # type: ignore[assignment]
        return dataclasses.replace(change, cause=cast(Cause, effective.cause))

    # --- publishing -----------------------------------------------------------------------------

    async def _publish_attribution(self, changes: list[Change]) -> None:
        for change in changes:
            if change.device_id == CABINET:
                await self._cabinet_event(change)
                continue
            snapshot = self.live.devices.get(change.device_id)
            previous = change.previous
            if snapshot is None or previous is None or previous.state != "offline" != change.current.state:
                continue
            if snapshot.health.state == "offline" and snapshot.health.cause != change.current.cause:
                snapshot.health.cause = change.current.cause  # type: ignore[assignment]
                await self.emitter.event(
                    "cause_attributed",
                    severity="info",
                    device_id=change.device_id,
                    cause=change.current.cause,  # type: ignore[arg-type]
                    detail={"previous_cause": previous.cause},
                )
                await self.emitter.device_state(snapshot)

    async def _cabinet_event(self, change: Change) -> None:
        offline = change.current.state == "offline"
        cause = change.current.cause if offline else (change.previous.cause if change.previous else None)
        if not offline and (change.previous is None or change.previous.state != "offline"):
            return
        await self.emitter.event(
            "cabinet_outage_started" if offline else "cabinet_outage_ended",
            severity="warning" if offline else "info",
            cause=cause,  # type: ignore[arg-type]
            detail={"at": iso_ts(datetime.fromtimestamp(change.at).astimezone())},
        )

    async def _announce_dead_window(self, window: DeadWindow) -> None:
        log.warning(
            "agent was down %.0f s (%s): booked as %s%s",
            window.seconds,
            window.reason,
            window.state,
            f" / {window.cause}" if window.cause else "",
        )
        await self.emitter.event(
            "outage_attributed",
            severity="warning" if window.cause else "info",
            cause=window.cause,  # type: ignore[arg-type]
            detail={
                "start": iso_ts(datetime.fromtimestamp(window.start).astimezone()),
                "end": iso_ts(datetime.fromtimestamp(window.end).astimezone()),
                "seconds": round(window.seconds, 1),
                "state": window.state,
                "reason": window.reason,
            },
        )

    # --- operator -------------------------------------------------------------------------------

    async def start_maintenance(
        self, device_ids: list[str] | None, duration_s: float, operator: str | None, reason: str
    ) -> dict[str, Any]:
        now = time.time()
        window = MaintenanceWindow(
            now, now + duration_s, None if not device_ids else frozenset(device_ids), operator, reason
        )
        changes = await self._call(self.core.start_maintenance, window, now)
        await self._publish_attribution(changes)
        await self.emitter.event(
            "maintenance_started",
            cause="maintenance",
            detail={"devices": device_ids, "duration_s": duration_s, "operator": operator, "reason": reason},
        )
        return {
            "start": iso_ts(datetime.fromtimestamp(now).astimezone()),
            "end": iso_ts(datetime.fromtimestamp(window.end).astimezone()),
        }

    async def end_maintenance(self, operator: str | None) -> dict[str, Any]:
        changes = await self._call(self.core.end_maintenance, time.time())
        await self._publish_attribution(changes)
        await self.emitter.event("maintenance_ended", cause="maintenance", detail={"operator": operator})
        return {"ended": True}

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

    async def daily_report(self, day: date) -> dict[str, Any]:
        """Build, save and publish the report of `day`; returns it."""
        devices = [self._cabinet_now(), *(_device_now(s) for s in self.live.devices.values())]
        report: dict[str, Any] = await self._call(self._build_and_save, day, devices)
        await self.emitter.report(report)
        log.info("daily report for %s: %d devices", report["day"], len(report["devices"]))
        return report

    async def days(self) -> list[str]:
        """Days with a stored report, newest first (the diagnostics page's report source)."""
        return await asyncio.to_thread(
            lambda: sorted((p.stem for p in self.reports_dir.glob("*.json")), reverse=True)
        )

    async def get(self, day: str) -> dict[str, Any] | None:
        """The stored report of one day, as published on `report/daily`."""
        try:
            date.fromisoformat(day)  # a day, never a path: the page passes what the URL said
        except ValueError:
            return None
        return await asyncio.to_thread(load_report, self.reports_dir, day)

    def _build_and_save(self, day: date, devices: list[DeviceNow]) -> dict[str, Any]:
        report = build_report(
            self.core.ledger,
            cabinet_id=self.cabinet_id,
            day=day,
            now=time.time(),
            devices=devices,
            excluded_causes=list(self.config.excluded_causes),
            replace_recommended=self.core.replace_recommended,
            timezone=self.config.timezone,
        )
        save_report(self.reports_dir, report, keep_days=self.config.report_keep_days)
        self.core.ledger.prune_faults(time.time() - self.config.report_keep_days * 86400)  # bounded disk
        return report

    def _cabinet_now(self) -> DeviceNow:
        attribution = self.core.attribution
        effective = attribution.effective.get(CABINET) if attribution else None
        state, cause = (effective.state, effective.cause) if effective else ("unknown", None)
        values = dict(attribution.evidence) if attribution else {}
        return DeviceNow(CABINET, "cabinet", state, cause, [], values)

    def _next_report_time(self, after: float) -> float:
        return next_report_time(after, self.config.report_time, self.config.tz)


@dataclasses.dataclass(frozen=True)
class _Never:
    at: float = 0.0


_NEVER = _Never()


def _device_now(snapshot: DeviceSnapshot) -> DeviceNow:
    health = snapshot.health
    return DeviceNow(
        snapshot.device_id,
        snapshot.kind,
        health.state,
        health.cause,
        sorted(health.faults),
        dict(snapshot.values),
    )


def _local_date(moment: float, config: HealthConfig) -> date:
    return datetime.fromtimestamp(moment, config.tz).date()
