"""Publishes what cabinet health finds, whatever triggered it: a poll, a timer, an operator.

`health.service.HealthService` only returns what changed. This is the runtime side: a change of
a device's cause goes to that device's runner (the one writer of its `health.cause`, which
publishes `cause_attributed` and the retained state), the cabinet's own row becomes
`cabinet_outage_started` / `_ended` events, a repeat fault a `replace_recommended` event. The
timer loop (liveness mark, maintenance windows that end by themselves, the daily report) is one
more input of the same pipeline: a window expiring while the device is down is published like
any other change of cause.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Protocol, cast

from edge_agent.health.attribution import CABINET, Change
from edge_agent.health.config import HealthConfig
from edge_agent.health.core import Outcome
from edge_agent.health.recovery import DeadWindow
from edge_agent.health.report import DeviceNow
from edge_agent.health.service import HealthService, Observed, window_detail
from edge_agent.health.tracker import HealthChange
from edge_agent.readings import Cause, PollResult, iso_ts
from edge_agent.runtime.emitter import Emitter
from edge_agent.runtime.live_state import DeviceSnapshot, LiveState

log = logging.getLogger(__name__)


class CauseWriter(Protocol):
    async def apply_cause(self, change: Change) -> None: ...


class CabinetHealth:
    def __init__(self, service: HealthService, emitter: Emitter, live: LiveState) -> None:
        self.service = service
        self.emitter = emitter
        self.live = live
        self.runners: Mapping[str, CauseWriter] = {}  # set by the agent once the runners exist

    @property
    def config(self) -> HealthConfig:
        return self.service.config

    # --- life cycle -----------------------------------------------------------------------------

    async def start(self, device_ids: Iterable[str]) -> None:
        window = await self.service.start(device_ids)
        if window is not None:
            await self._announce_dead_window(window)

    async def stop(self) -> None:
        await self.service.stop()

    async def swap_meta(self, key: str, value: Any, *, keep: bool = False) -> Any:
        return await self.service.swap_meta(key, value, keep=keep)

    async def run(self) -> None:
        """Liveness mark, maintenance boundaries and the daily report, until cancelled."""
        next_report = self.service.next_report_time(time.time())
        while True:
            await asyncio.sleep(min(self.config.heartbeat_interval_s, max(0.0, next_report - time.time())))
            try:
                await self.publish(await self.service.tick())
                if time.time() >= next_report:
                    next_report = self.service.next_report_time(time.time() + 1)
                    await self.daily_report(self.service.today() - timedelta(days=1))
            except (OSError, sqlite3.Error):  # a full or failing disk must not stop the agent
                log.exception("health bookkeeping failed; retrying at the next mark")

    # --- the pipeline ---------------------------------------------------------------------------

    async def observe(
        self,
        device_id: str,
        changes: list[HealthChange],
        result: PollResult | None,
        polled_at: float | None = None,
    ) -> Observed:
        return await self.service.observe(device_id, changes, result, polled_at)

    async def publish(self, outcome: Outcome) -> None:
        """Publish every change of cause (through the device's runner) and every recommendation."""
        for change in outcome.changes:
            if change.device_id == CABINET:
                await self._cabinet_event(change)
            elif (runner := self.runners.get(change.device_id)) is not None:
                await runner.apply_cause(change)
        for replace in outcome.replace:
            await self.emitter.event(
                "replace_recommended",
                severity="warning",
                device_id=replace.device_id,
                cause="device",
                detail={"code": replace.code, "recurrences": replace.recurrences},
            )

    async def _cabinet_event(self, change: Change) -> None:
        offline = change.current.state == "offline"
        was_offline = change.previous is not None and change.previous.state == "offline"
        if not offline and not was_offline:
            return
        if offline and was_offline:  # the cabinet's cause changed: end one incident, start the next
            await self._cabinet_edge(False, change.previous.cause if change.previous else None, change.at)
        cause = change.current.cause if offline else (change.previous.cause if change.previous else None)
        await self._cabinet_edge(offline, cause, change.at)

    async def _cabinet_edge(self, started: bool, cause: str | None, at: float) -> None:
        await self.emitter.event(
            "cabinet_outage_started" if started else "cabinet_outage_ended",
            severity="warning" if started else "info",
            cause=cast(Cause | None, cause),
            detail={"at": iso_ts(datetime.fromtimestamp(at).astimezone())},
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
            cause=cast(Cause | None, window.cause),
            detail=window_detail(window),
        )

    # --- operator -------------------------------------------------------------------------------

    async def start_maintenance(
        self, device_ids: list[str] | None, duration_s: float, operator: str | None, reason: str
    ) -> dict[str, Any]:
        window, outcome = await self.service.start_maintenance(device_ids, duration_s, operator, reason)
        await self.publish(outcome)
        await self.emitter.event(
            "maintenance_started",
            cause="maintenance",
            detail={"devices": device_ids, "duration_s": duration_s, "operator": operator, "reason": reason},
        )
        return {
            "start": iso_ts(datetime.fromtimestamp(window.start).astimezone()),
            "end": iso_ts(datetime.fromtimestamp(window.end).astimezone()),
        }

    async def end_maintenance(self, operator: str | None) -> dict[str, Any]:
        await self.publish(await self.service.end_maintenance())
        await self.emitter.event("maintenance_ended", cause="maintenance", detail={"operator": operator})
        return {"ended": True}

    def in_maintenance(self, device_id: str | None) -> bool:
        return self.service.in_maintenance(device_id)

    def maintenance_now(self) -> list[dict[str, Any]]:
        return self.service.maintenance_now()

    # --- report: the command, the page and `edge-agent report` all get this one -----------------

    async def report(self, day: date) -> dict[str, Any]:
        """The report of `day` built from the ledger and the live state now (not published)."""
        devices = [_device_now(snapshot) for snapshot in self.live.devices.values()]
        return await self.service.report(day, devices, save=day < self.service.today())

    async def daily_report(self, day: date) -> dict[str, Any]:
        """Build the report of `day` now and publish it on `report/daily`; returns it."""
        report = await self.report(day)
        await self.emitter.report(report)
        log.info("daily report for %s: %d devices", report["day"], len(report["devices"]))
        return report

    async def days(self) -> list[str]:
        """Days with a report, newest first: today (so far) and every stored day."""
        today = self.service.today().isoformat()
        return [today, *(day for day in await self.service.days() if day != today)]

    async def get(self, day: str) -> dict[str, Any] | None:
        """The report of one day, built now, as published on `report/daily` (the page's source)."""
        try:
            wanted = date.fromisoformat(day)  # a day, never a path: the page passes what the URL said
        except ValueError:
            return None
        if day not in await self.days():
            return None  # before the cabinet kept reports, or in the future
        return await self.report(wanted)


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
