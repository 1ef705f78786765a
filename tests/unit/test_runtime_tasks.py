"""The agent's tasks live in one TaskGroup: `running` stops its tasks on exit, `Spawner` runs
callback work in the group, cancels it on exit and logs a failure instead of stopping the group."""

from __future__ import annotations

import asyncio
import logging

import pytest

from edge_agent.runtime.tasks import Spawner, running


async def _forever(started: asyncio.Event) -> None:
    started.set()
    await asyncio.Event().wait()


async def test_running_cancels_its_tasks_on_exit() -> None:
    started = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        async with running(group, ("forever", _forever(started))) as tasks:
            await started.wait()
        assert tasks[0].cancelled()


async def test_spawned_work_is_cancelled_on_exit_and_a_failure_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spawner, started = Spawner(), asyncio.Event()

    async def fails() -> None:
        raise RuntimeError("boom")

    async with asyncio.TaskGroup() as group, spawner.serving(group):
        spawner.spawn("fails", fails())
        spawner.spawn("forever", _forever(started))
        await started.wait()
    # The group ended without an ExceptionGroup: the failure did not stop it, the long task ended.
    assert any("task fails failed" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


async def test_work_spawned_while_not_serving_is_dropped() -> None:
    ran = asyncio.Event()

    async def work() -> None:
        ran.set()

    Spawner().spawn("late", work())  # closed unrun: no "coroutine was never awaited" warning
    assert not ran.is_set()
