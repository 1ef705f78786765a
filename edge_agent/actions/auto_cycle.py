"""Auto-recovery: a device offline with cause `device` for `offline_for_s` is power-cycled, at most
`max_per_day` times per local day; after that it is left for a technician (one event says so)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import date

from edge_agent.actions.config import AutoPowerCycle
from edge_agent.actions.power import PowerCycler
from edge_agent.audit import AuditLog
from edge_agent.errors import CommandError
from edge_agent.runtime.emitter import Emitter
from edge_agent.runtime.live_state import LiveState

log = logging.getLogger(__name__)
OPERATOR = "auto-recovery"


class AutoRecovery:
    def __init__(
        self,
        policy: AutoPowerCycle,
        cycler: PowerCycler,
        live: LiveState,
        *,
        emitter: Emitter,
        audit: AuditLog,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.policy, self.cycler, self.live = policy, cycler, live
        self.emitter, self.audit, self.sleep = emitter, audit, sleep
        self._given_up: set[tuple[str, date]] = set()

    async def run(self) -> None:
        while True:
            await self.sleep(self.policy.check_interval_s)
            await self.check()

    async def check(self) -> list[str]:
        """One pass; returns the devices power-cycled."""
        cycled = []
        for device_id in self.cycler.configs:
            if self._due(device_id) and await self._try(device_id):
                cycled.append(device_id)
        return cycled

    def _due(self, device_id: str) -> bool:
        snapshot = self.live.devices.get(device_id)
        if snapshot is None or self.cycler.busy(device_id):
            return False
        health = snapshot.health
        offline_s = self.cycler.guard.clock() - health.since.timestamp()
        return (
            health.state == "offline" and health.cause == "device" and offline_s >= self.policy.offline_for_s
        )

    async def _try(self, device_id: str) -> bool:
        if self.cycler.cycles_today(device_id) >= self.policy.max_per_day:
            await self._give_up(device_id)
            return False
        params = {"policy": "auto_power_cycle", "max_per_day": self.policy.max_per_day}
        try:
            await self.cycler.cycle(
                device_id, operator=OPERATOR, source="agent", reason="offline, cause device"
            )
        except CommandError as exc:
            if exc.code != "rate_limited":
                await self.audit.record(
                    OPERATOR, "agent", "power_cycle", device_id, params, f"error: {exc.code}"
                )
            return False
        await self.audit.record(OPERATOR, "agent", "power_cycle", device_id, params, "ok")
        return True

    async def _give_up(self, device_id: str) -> None:
        key = (device_id, self.cycler.guard.today())
        if key in self._given_up:
            return
        self._given_up.add(key)
        log.warning(
            "device %s: still offline after %d power-cycles today: needs a technician",
            device_id,
            self.policy.max_per_day,
        )
        await self.emitter.event(
            "auto_recovery_exhausted",
            severity="critical",
            device_id=device_id,
            cause="device",
            detail={"power_cycles_today": self.cycler.cycles_today(device_id)},
        )
