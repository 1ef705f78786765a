"""`DeviceRunner.poll_soon`: a poll on request (the page's self-test), never two polls at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from edge_agent.devices.base import DeviceConfig, DeviceContext, Poller
from edge_agent.devices.shared_resources import SharedResources
from edge_agent.mqtt.topics import Topics
from edge_agent.readings import PollResult
from edge_agent.runtime.device_runner import DeviceRunner
from edge_agent.runtime.emitter import Emitter
from edge_agent.runtime.live_state import LiveState
from edge_agent.runtime.outbox import Outbox


class SlowCounter(Poller[DeviceConfig]):
    def __init__(self, config: DeviceConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        self.polls = 0
        self.running = 0
        self.overlapped = False
        self.started = asyncio.Event()

    async def poll(self) -> PollResult:
        self.started.set()
        self.running += 1
        self.overlapped |= self.running > 1
        await asyncio.sleep(0.05)
        self.running -= 1
        self.polls += 1
        return PollResult(values={"n": self.polls})


@asynccontextmanager
async def running(tmp_path: Path, poll_interval_s: float) -> AsyncIterator[tuple[SlowCounter, DeviceRunner]]:
    """A runner polling a `SlowCounter` for the body (at most 5 s); no two polls ever overlapped."""
    config = DeviceConfig(type="test", device_id="d1", poll_interval_s=poll_interval_s)
    poller = SlowCounter(config, DeviceContext(tmp_path, SharedResources()))
    async with Outbox(tmp_path / "outbox.sqlite3", max_bytes=2**20) as outbox:
        emitter = Emitter(outbox, Topics("edge", "c1"), telemetry_qos=0)
        runner = DeviceRunner(config, poller, emitter, LiveState())
        task = asyncio.create_task(runner.run())
        try:
            async with asyncio.timeout(5):
                await poller.started.wait()
                yield poller, runner
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert not poller.overlapped


async def test_poll_soon_polls_now_without_overlap(tmp_path: Path) -> None:
    async with running(tmp_path, poll_interval_s=3600) as (poller, runner):
        await asyncio.gather(runner.poll_soon(), runner.poll_soon())  # during the first poll
        assert poller.polls >= 2
        before = poller.polls
        await runner.poll_soon()  # the hour-long interval would not poll again by itself
        assert poller.polls == before + 1


async def test_no_poll_while_paused(tmp_path: Path) -> None:
    """A pause waits for the poll under way, then nothing polls (not even `poll_soon`) until resume."""
    async with running(tmp_path, poll_interval_s=0.01) as (poller, runner):
        await runner.pause()  # during the first poll
        assert poller.running == 0
        paused_at = poller.polls
        asked = asyncio.create_task(runner.poll_soon())
        for _ in range(20):  # many slots of the 10 ms interval go by
            await asyncio.sleep(0.01)
        assert poller.polls == paused_at and not asked.done()
        runner.resume()
        await asked
        assert poller.polls > paused_at
