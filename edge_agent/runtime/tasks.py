"""Tasks of the agent's one TaskGroup, each held by the component that started it.

`running(group, ...)` starts tasks in the group on entry and, on exit, cancels them and waits for
them: entered on the agent's exit stack, components stop in the reverse order they started.
`Spawner` starts tasks from callbacks into the same group.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

log = logging.getLogger(__name__)

Work = tuple[str, Coroutine[Any, Any, None]]  # (task name, coroutine)


@contextlib.asynccontextmanager
async def running(group: asyncio.TaskGroup, *work: Work) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Run `work` in `group` while the context is open; cancelled together on exit."""
    tasks = [group.create_task(coroutine, name=name) for name, coroutine in work]
    try:
        yield tasks
    finally:
        await cancel(tasks)


async def cancel(tasks: list[asyncio.Task[None]] | set[asyncio.Task[None]]) -> None:
    """Cancel `tasks` and wait until they ended (their errors are the TaskGroup's to report)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class Spawner:
    """Starts tasks from synchronous callbacks (a message arrived, the link connected) in the
    agent's TaskGroup while `serving` is open; tasks still running are cancelled when it closes.
    The agent's one way to start a task from a callback: nothing runs outside the group."""

    def __init__(self) -> None:
        self._group: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def serving(self, group: asyncio.TaskGroup) -> AsyncIterator[None]:
        self._group = group
        try:
            yield
        finally:
            self._group = None
            await cancel(self._tasks)

    @property
    def running(self) -> int:
        """How many spawned tasks have not ended yet."""
        return len(self._tasks)

    def spawn(self, name: str, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run `coroutine` in the group; dropped (closed unrun) when not serving."""
        if self._group is None:
            coroutine.close()
            return
        task = self._group.create_task(_logged(name, coroutine), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _logged(name: str, coroutine: Coroutine[Any, Any, None]) -> None:
    """A callback's work that fails is logged: it must not stop the whole agent (the group)."""
    try:
        await coroutine
    except Exception:
        log.exception("task %s failed", name)
