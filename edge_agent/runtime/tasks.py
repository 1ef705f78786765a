"""Tasks of the agent's one TaskGroup, each held by the component that started it.

`running(group, ...)` starts tasks in the group on entry and, on exit, cancels them and waits for
them: entered on the agent's exit stack, components stop in the reverse order they started.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

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
