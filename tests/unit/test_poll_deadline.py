"""The runner's poll timeout and the pollers' own request timeouts: the requests fit inside the
poll, and a poll cut by the runner reads as a timeout like the pollers' own ("timeout: ...")."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge_agent.devices.base import DeviceConfig, DeviceContext, Poller, request_timeout
from edge_agent.devices.shared_resources import SharedResources
from edge_agent.mqtt.topics import Topics
from edge_agent.readings import PollResult
from edge_agent.runtime.device_runner import DeviceRunner
from edge_agent.runtime.emitter import Emitter
from edge_agent.runtime.live_state import LiveState
from edge_agent.runtime.outbox import Outbox


class Recorder(Poller[DeviceConfig]):
    """Records the request timeout it would use, then hangs if told to."""

    hang = False

    def __init__(self, config: DeviceConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        self.limits: list[float] = []

    async def poll(self) -> PollResult:
        self.limits.append(request_timeout(3600, margin_s=1))
        if self.hang:
            await asyncio.Event().wait()
        return PollResult(values={"n": len(self.limits)})


async def poll_once(tmp_path: Path, poller: Recorder) -> DeviceRunner:
    async with Outbox(tmp_path / "outbox.sqlite3", max_bytes=2**20) as outbox:
        emitter = Emitter(outbox, Topics("edge", "c1"), telemetry_qos=0)
        runner = DeviceRunner(poller.config, poller, emitter, LiveState())
        await runner.poll_once()
        return runner


async def test_requests_fit_inside_the_poll_timeout(tmp_path: Path) -> None:
    config = DeviceConfig(type="test", device_id="d1", timeout_s=30)
    poller = Recorder(config, DeviceContext(tmp_path, SharedResources()))
    await poll_once(tmp_path, poller)
    assert 0 < poller.limits[0] <= 29  # the poll's 30 s, less the 1 s margin
    assert request_timeout(3600, margin_s=1) == 3600  # outside a poll: the request's own limit


async def test_a_poll_cut_by_the_runner_is_a_timeout(tmp_path: Path) -> None:
    config = DeviceConfig(type="test", device_id="d1", timeout_s=0.05)
    poller = Recorder(config, DeviceContext(tmp_path, SharedResources()))
    poller.hang = True
    runner = await poll_once(tmp_path, poller)
    assert runner.snapshot.polls_failed == 1
    assert runner.snapshot.diagnostics["last_error"] == "timeout: no answer within 0.05 s"
    assert runner.tracker.health.error_code == "timeout"
