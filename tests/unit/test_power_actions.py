"""Power-cycle guards and the auto-recovery policy, with a fake clock, fake sleep and a fake relay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from edge_agent.actions.auto_cycle import AutoRecovery
from edge_agent.actions.config import AutoPowerCycle, RelayConfig
from edge_agent.actions.power import PowerCycler
from edge_agent.audit import AuditLog, verify_log
from edge_agent.errors import CommandError
from edge_agent.health.tracker import DeviceHealth
from edge_agent.runtime.live_state import DeviceSnapshot, LiveState

T0 = 1_790_000_000.0


class FakeRelay:
    def __init__(self) -> None:
        self.switched: list[bool] = []
        self.switched_off = asyncio.Event()

    async def power(self, on: bool) -> None:
        self.switched.append(on)
        if not on:
            self.switched_off.set()

    async def close(self) -> None:
        return None


class FakeEmitter:
    def __init__(self) -> None:
        self.events: list[str] = []

    async def event(self, type: str, **_: Any) -> None:
        self.events.append(type)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def rig(tmp_path: Path) -> tuple[PowerCycler, FakeRelay, FakeEmitter, Clock, AuditLog, LiveState]:
    clock, relay, emitter = Clock(), FakeRelay(), FakeEmitter()
    audit = AuditLog(tmp_path / "audit", clock=clock)
    config = RelayConfig.model_validate({"device_id": "cam1", "gpio": {"pin": 17}, "min_interval_s": 60})
    cycler = PowerCycler(
        [config], emitter=emitter, tz=ZoneInfo("UTC"),  # type: ignore[arg-type]  # a test double or a deliberately wrong value
        make=lambda _c: relay, clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    cycler.open()
    live = LiveState()
    health = DeviceHealth(state="offline", since=datetime.fromtimestamp(T0, UTC), cause="device")
    live.devices["cam1"] = DeviceSnapshot("cam1", "onvif_camera", None, health)
    return cycler, relay, emitter, clock, audit, live


async def test_a_cycle_switches_off_waits_and_switches_on(rig: Any) -> None:
    cycler, relay, emitter, clock, _audit, _live = rig
    reply = await cycler.cycle("cam1", operator="ops1", source="mqtt", reason="hung")
    assert relay.switched == [False, True] and clock.now == T0 + 8
    assert reply["cycles_today"] == 1
    assert emitter.events == ["power_cycle_started", "power_cycle_done"]


async def test_refusals_switch_nothing(rig: Any) -> None:
    cycler, relay, _emitter, _clock, _audit, _live = rig
    with pytest.raises(CommandError) as refused:
        await cycler.cycle("cam9", operator="ops1", source="mqtt", reason="")
    assert refused.value.code == "relay_not_configured"
    await cycler.cycle("cam1", operator="ops1", source="mqtt", reason="")
    with pytest.raises(CommandError) as limited:
        await cycler.cycle("cam1", operator="ops1", source="mqtt", reason="")
    assert limited.value.code == "rate_limited"
    assert relay.switched == [False, True]


async def test_power_comes_back_when_the_cycle_is_cancelled(tmp_path: Path) -> None:
    relay = FakeRelay()
    config = RelayConfig.model_validate({"device_id": "cam1", "gpio": {"pin": 17}})
    cycler = PowerCycler(
        [config], emitter=FakeEmitter(), tz=ZoneInfo("UTC"),  # type: ignore[arg-type]  # a test double or a deliberately wrong value
        make=lambda _c: relay,
    )  # fmt: skip
    cycler.open()
    task = asyncio.create_task(cycler.cycle("cam1", operator="ops1", source="mqtt", reason=""))
    await relay.switched_off.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert relay.switched == [False, True]


async def test_auto_recovery_cycles_at_most_k_times_per_day_then_gives_up(rig: Any) -> None:
    cycler, relay, emitter, clock, audit, live = rig
    policy = AutoPowerCycle(enabled=True, offline_for_s=300, max_per_day=2, check_interval_s=10)
    auto = AutoRecovery(policy, cycler, live, emitter=emitter, audit=audit, sleep=clock.sleep)  # type: ignore[arg-type]  # a test double or a deliberately wrong value
    assert await auto.check() == []  # offline for 0 s: not yet
    clock.now += 300
    assert await auto.check() == ["cam1"]
    for _ in range(100):  # the camera stays hung; checks every 10 s for about 17 minutes
        clock.now += 10
        await auto.check()
    assert relay.switched == [False, True, False, True]  # two cycles, the K-per-day cap
    assert emitter.events.count("auto_recovery_exhausted") == 1
    clock.now += 86400  # next day: allowed again
    assert await auto.check() == ["cam1"]
    assert verify_log(audit.directory).records == 3


async def test_auto_recovery_leaves_other_causes_alone(rig: Any) -> None:
    cycler, relay, emitter, clock, audit, live = rig
    live.devices["cam1"].health.cause = "power_supply"
    auto = AutoRecovery(
        AutoPowerCycle(enabled=True, offline_for_s=10), cycler, live, emitter=emitter, audit=audit
    )  # type: ignore[arg-type]  # a test double or a deliberately wrong value
    clock.now += 3600
    assert await auto.check() == [] and relay.switched == []


async def test_the_daily_cap_survives_a_restart(rig: Any) -> None:
    cycler, relay, emitter, clock, _audit, _live = rig
    saved: list[dict[str, Any]] = []

    async def save(counts: dict[str, Any]) -> None:
        saved.append(counts)

    cycler.guard.save_counts = save
    await cycler.cycle("cam1", operator="ops1", source="mqtt", reason="")
    config = RelayConfig.model_validate({"device_id": "cam1", "gpio": {"pin": 17}})
    restarted = PowerCycler(
        [config], emitter=emitter, tz=ZoneInfo("UTC"),  # type: ignore[arg-type]  # a test double or a deliberately wrong value
        make=lambda _c: relay, clock=clock,
    )  # fmt: skip
    restarted.restore_counts(saved[-1])
    assert restarted.cycles_today("cam1") == 1
    restarted.restore_counts({"cam1": "garbage", "cam2": ["not a day", 3]})  # hostile store: ignored
    assert restarted.cycles_today("cam1") == 1
