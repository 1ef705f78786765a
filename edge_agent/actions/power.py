"""Power-cycling a device through its relay: guarded, one at a time per device, rate-limited.

Audited by its callers, who know why it was asked: the dispatcher for `power_cycle` commands
(module `cmd/power_cycle`, with the request's source) and auto recovery (module `power_cycle`).

A cycle switches the power off, waits `off_time_s` (>= 5 s, so the device really resets), and
switches it back on; the call returns when power is back, so the reply confirms the cycle. The
relay is always switched back on, even when the cycle is cancelled half way (agent stopping).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.actions.config import RelayConfig
from edge_agent.actions.relay import Relay, make_relay
from edge_agent.audit import Source
from edge_agent.errors import CommandError, RelayError
from edge_agent.readings import Severity
from edge_agent.runtime.emitter import Emitter

log = logging.getLogger(__name__)


class CycleGuard:
    """Whether a device may be cycled now: one cycle at a time, `min_interval_s` apart; and how
    many it had today (local day), saved with each cycle so a restart keeps the count."""

    def __init__(
        self,
        tz: ZoneInfo,
        clock: Callable[[], float],
        save_counts: Callable[[dict[str, Any]], Awaitable[None]] | None,
    ) -> None:
        self.tz, self.clock, self.save_counts = tz, clock, save_counts
        self.busy: set[str] = set()
        self._last: dict[str, float] = {}
        self._per_day: dict[tuple[str, date], int] = defaultdict(int)

    def restore_counts(self, saved: Any) -> None:
        if not isinstance(saved, dict):
            return
        for device_id, entry in saved.items():
            try:
                day, count = date.fromisoformat(entry[0]), int(entry[1])
            except (TypeError, ValueError, IndexError):
                continue
            self._per_day[(str(device_id), day)] = count

    def cycles_today(self, device_id: str) -> int:
        return self._per_day[(device_id, self.today())]

    async def start(self, device_id: str, config: RelayConfig) -> None:
        """Book a cycle of `device_id` (busy until `end`); raises CommandError when refused."""
        if device_id in self.busy:
            raise CommandError("busy", f"{device_id!r} is being power-cycled")
        since = self.clock() - self._last.get(device_id, float("-inf"))
        if since < config.min_interval_s:
            raise CommandError("rate_limited", f"{device_id!r} was power-cycled {since:.0f} s ago")
        self.busy.add(device_id)
        self._last[device_id] = self.clock()
        self._per_day[(device_id, self.today())] += 1
        if self.save_counts is not None:
            await self.save_counts(self._today_counts())

    def end(self, device_id: str) -> None:
        self.busy.discard(device_id)

    def _today_counts(self) -> dict[str, Any]:
        today = self.today()
        return {device: [today.isoformat(), n] for (device, day), n in self._per_day.items() if day == today}

    def today(self) -> date:
        """The local day the daily counts are kept for."""
        return datetime.fromtimestamp(self.clock(), self.tz).date()


class PowerCycler:
    def __init__(
        self,
        relays: list[RelayConfig],
        *,
        emitter: Emitter,
        tz: ZoneInfo,
        make: Callable[[RelayConfig], Relay] = make_relay,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        save_counts: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
    ) -> None:
        self.configs = {relay.device_id: relay for relay in relays}
        self.emitter, self._make, self.sleep = emitter, make, sleep
        self.guard = CycleGuard(tz, clock, save_counts)
        self._relays: dict[str, Relay] = {}

    def open(self) -> None:
        """Claim the relay outputs (power stays on)."""
        for device_id, config in self.configs.items():
            self._relays[device_id] = self._make(config)

    def restore_counts(self, saved: Any) -> None:
        """Today's cycle counts from before a restart ({device_id: [day, count]}), so the daily cap
        survives an agent that keeps crashing."""
        self.guard.restore_counts(saved)

    async def close(self) -> None:
        for relay in self._relays.values():
            with contextlib.suppress(Exception):
                await relay.close()

    def cycles_today(self, device_id: str) -> int:
        return self.guard.cycles_today(device_id)

    def busy(self, device_id: str) -> bool:
        return device_id in self.guard.busy

    async def cycle(
        self, device_id: str, *, operator: str | None, source: Source, reason: str
    ) -> dict[str, Any]:
        """Power-cycle `device_id`; raises CommandError when refused (nothing is switched then)."""
        config = self.configs.get(device_id)
        relay = self._relays.get(device_id)
        if config is None or relay is None:
            raise CommandError("relay_not_configured", f"no relay configured for {device_id!r}")
        await self.guard.start(device_id, config)
        try:
            return await self._switch(device_id, relay, config, operator, source, reason)
        finally:
            self.guard.end(device_id)

    async def _switch(
        self,
        device_id: str,
        relay: Relay,
        config: RelayConfig,
        operator: str | None,
        source: Source,
        reason: str,
    ) -> dict[str, Any]:
        detail = {"operator": operator, "source": source, "reason": reason, "off_time_s": config.off_time_s}
        await self.emitter.event(
            "power_cycle_started", severity="warning", device_id=device_id, detail=detail
        )
        log.warning("device %s: power-cycle (%s, %s)", device_id, source, reason)
        try:
            await relay.power(False)
            await self.sleep(config.off_time_s)
        except RelayError as exc:
            await self._finish(device_id, relay, f"error: {exc}")
            raise CommandError("relay_failed", str(exc)) from exc
        finally:
            with contextlib.suppress(RelayError):
                await asyncio.shield(relay.power(True))  # power always comes back
        await self._finish(device_id, relay, "ok")
        return {
            "device_id": device_id,
            "off_time_s": config.off_time_s,
            "cycles_today": self.cycles_today(device_id),
        }

    async def _finish(self, device_id: str, _relay: Relay, result: str) -> None:
        severity: Severity = "info" if result == "ok" else "warning"
        await self.emitter.event(
            "power_cycle_done", severity=severity, device_id=device_id, detail={"result": result}
        )
