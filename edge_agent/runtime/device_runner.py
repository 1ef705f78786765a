"""One poll loop per device: its own interval, its own timeout, its own failures.

A hung or slow device only delays itself: every poll runs under `asyncio.timeout`, and each
device has its own task. Any exception from a poller is a failed poll, never a crash.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from edge_agent.devices.base import DeviceConfig, Poller, poll_deadline
from edge_agent.errors import DeviceError, DeviceTimeout
from edge_agent.health.attribution import Change
from edge_agent.health.core import Outcome
from edge_agent.health.service import Observed
from edge_agent.health.tracker import HealthChange, HealthTracker, StateChanged
from edge_agent.readings import Cause, Fault, PollResult, utc_now
from edge_agent.runtime.emitter import Emitter
from edge_agent.runtime.live_state import DeviceSnapshot, LiveState
from edge_agent.runtime.poll_gate import PollGate
from edge_agent.runtime.telemetry_filter import TelemetryFilter

log = logging.getLogger(__name__)


class HealthObserver(Protocol):
    """Cabinet health: attributes a poll's changes (returns them), and publishes what else moved."""

    async def observe(
        self,
        device_id: str,
        changes: list[HealthChange],
        result: PollResult | None,
        polled_at: float | None = None,
    ) -> Observed: ...

    async def publish(self, outcome: Outcome) -> None: ...


@dataclass
class _Flags:
    """What the loop remembers between polls, apart from the device's health."""

    opened: bool = False  # the poller's open() succeeded
    unexpected_logged: bool = False  # a poller bug is logged once per device
    bookkeeping_failing: bool = False  # failing health bookkeeping is logged once per episode


class DeviceRunner:
    def __init__(
        self,
        config: DeviceConfig,
        poller: Poller[Any],
        emitter: Emitter,
        live: LiveState,
        observer: HealthObserver | None = None,
    ) -> None:
        self.config = config
        self.observer = observer
        self.poller = poller
        self.emitter = emitter
        self.live = live
        self.tracker = HealthTracker(offline_after_failures=config.offline_after_failures, now=utc_now())
        self.telemetry = TelemetryFilter(config.telemetry)
        self.snapshot = DeviceSnapshot(config.device_id, config.type, config.name, self.tracker.health)
        live.devices[config.device_id] = self.snapshot
        self._gate = PollGate()
        self._flags = _Flags()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_start = loop.time()
        # Every configured device has a retained state from the start, even while it stays unknown.
        await self.emitter.device_state(self.snapshot)
        try:
            while True:
                async with self._gate.turn():
                    await self.poll_once()
                next_start += self.config.poll_interval_s
                now = loop.time()
                if next_start < now:  # overran (slow device): skip missed slots instead of bursting
                    next_start = now
                if await self._gate.sleep(next_start - now):
                    next_start = loop.time()  # polled on request: the interval restarts from now
        finally:
            self._gate.close()
            await self._close()

    async def poll_soon(self) -> None:
        """Ask the loop for a poll now (not a second poll in parallel) and wait until it has run."""
        await self._gate.poll_soon()

    async def pause(self) -> None:
        """Stop polling (a firmware upgrade reboots the device); returns once a poll under way ended."""
        await self._gate.pause()

    def resume(self) -> None:
        """Poll again, starting now."""
        self._gate.resume()

    async def poll_once(self) -> None:
        started = utc_now()  # outages are booked from the start of the first failed poll
        try:
            async with asyncio.timeout(self.config.timeout_s):
                with poll_deadline(self.config.timeout_s):  # pollers fit their requests inside it
                    if not self._flags.opened:
                        await self.poller.open()
                        self._flags.opened = True
                    result = await self.poller.poll()
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            # Worded like the pollers' own timeouts ("timeout: ..."): whichever fires, one reason.
            error = DeviceTimeout(f"timeout: no answer within {self.config.timeout_s:g} s")
            await self._failed(error, started)
        except DeviceError as exc:
            await self._failed(exc, started)
        except Exception as exc:
            if not self._flags.unexpected_logged:  # once per device, so a bug cannot flood the log
                log.exception("device %s: unexpected error in poll", self.config.device_id)
                self._flags.unexpected_logged = True
            await self._failed(DeviceError(f"{type(exc).__name__}: {exc}"), started)
        else:
            await self._succeeded(result, started)

    async def _succeeded(self, result: PollResult, started: datetime) -> None:
        snapshot = self.snapshot
        snapshot.values.update(result.values)
        snapshot.units.update(result.units)
        snapshot.diagnostics.update(result.diagnostics)
        snapshot.last_poll = utc_now()
        snapshot.polls_ok += 1
        changes, outcome = await self._observe(self.tracker.on_success(result, started), result, started)
        # One outbox transaction per poll: its health changes, its events, its telemetry.
        messages = self.emitter.change_messages(snapshot, changes)
        device_id = self.config.device_id
        for event in result.events:
            messages.append(
                self.emitter.event_message(event.type, event.severity, device_id, event.cause, event.detail)
            )
        selected, full = self.telemetry.select(result.values, time.monotonic())
        if selected:
            messages.extend(self.emitter.telemetry_messages(snapshot, selected, result.units, full))
        await self.emitter.put(messages)
        await self._observed(outcome)

    async def _failed(self, error: DeviceError, started: datetime) -> None:
        snapshot = self.snapshot
        snapshot.polls_failed += 1
        snapshot.last_poll = utc_now()
        snapshot.diagnostics["last_error"] = str(error)
        log.debug("device %s: poll failed: %s", self.config.device_id, error)
        await self._publish_changes(self.tracker.on_failure(error, started), None)

    async def raise_fault(self, fault: Fault) -> None:
        """Raise a fault found outside a poll now (events, retained state), even while offline."""
        await self._publish_changes(self.tracker.raise_fault(fault, utc_now()), None)

    async def _publish_changes(self, changes: list[HealthChange], result: PollResult | None) -> None:
        changes, outcome = await self._observe(changes, result)
        if changes:
            await self.emitter.device_changes(self.snapshot, changes)
        await self._observed(outcome)

    async def _observe(
        self, changes: list[HealthChange], result: PollResult | None, started: datetime | None = None
    ) -> tuple[list[HealthChange], Outcome]:
        outcome = Outcome()
        if self.observer is not None:
            try:
                polled_at = started.timestamp() if started is not None else None  # evidence from then
                observed = await self.observer.observe(self.config.device_id, changes, result, polled_at)
                changes, outcome = observed.changes, observed.outcome
            except Exception as exc:  # bookkeeping trouble (disk full) must not stop the device's loop
                self._bookkeeping_failed(exc)
            else:
                if self._flags.bookkeeping_failing:
                    self._flags.bookkeeping_failing = False
                    log.warning("device %s: health bookkeeping works again", self.config.device_id)
        for change in changes:
            if isinstance(change, StateChanged):
                self.snapshot.health.cause = change.cause  # the one writer of this device's cause
        return changes, outcome

    async def _observed(self, outcome: Outcome) -> None:
        """After the device's own messages: tell the page, then publish what changed for the cabinet."""
        self.live.changed(self.config.device_id)
        if self.observer is not None and (outcome.changes or outcome.replace):
            await self.observer.publish(outcome)

    async def apply_cause(self, change: Change) -> None:
        """Another input (evidence, a timer, an operator) changed why this device is offline."""
        health = self.snapshot.health
        if health.state != "offline" or change.current.state != "offline":
            return
        if health.cause == change.current.cause:
            return
        previous, health.cause = health.cause, cast(Cause | None, change.current.cause)
        await self.emitter.event(
            "cause_attributed",
            severity="info",
            device_id=self.config.device_id,
            cause=health.cause,
            detail={"previous_cause": previous},
        )
        await self.emitter.device_state(self.snapshot)
        self.live.changed(self.config.device_id)

    def _bookkeeping_failed(self, exc: Exception) -> None:
        """Log once per episode: a full disk fails every poll, and the log is on a disk too."""
        if self._flags.bookkeeping_failing:
            return
        self._flags.bookkeeping_failing = True
        if isinstance(exc, OSError | sqlite3.Error):
            log.error("device %s: health bookkeeping failed: %s", self.config.device_id, exc)
        else:
            log.exception("device %s: health bookkeeping failed", self.config.device_id)

    async def _close(self) -> None:
        if self._flags.opened:
            self._flags.opened = False
            try:
                await self.poller.close()
            except Exception:
                log.exception("device %s: error while closing", self.config.device_id)
