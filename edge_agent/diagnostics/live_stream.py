"""Server-sent events: a device changed -> its tile; every few seconds -> the agent's figures.

One stream per open page. Bursts are coalesced (a device is sent once per flush however often it
changed), a slow page drops intermediate updates (LiveState's bounded queue), and the stream ends
when the session does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from edge_agent.diagnostics.state import session_of, state_of
from edge_agent.diagnostics.views import cabinet_values, device_summary
from edge_agent.runtime.live_state import LiveState

AGENT_EVERY_S = 5.0
COALESCE_S = 0.1
QUEUE = 256


async def events(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    session = session_of(request)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    changes: asyncio.Queue[str] = asyncio.Queue(QUEUE)
    pump = asyncio.get_running_loop().create_task(_pump(state.agent.live, changes), name="page-events")
    try:
        await _send(response, "agent", state.agent_info())
        while state.sessions.get(session.token) is not None:
            changed = await _collect(changes)
            for device_id in changed:
                snapshot = state.agent.live.devices.get(device_id)
                if snapshot is not None:
                    await _send(response, "device", device_summary(snapshot))
            if changed:
                await _send(response, "cabinet", cabinet_values(state.agent.live))
            await _send(response, "agent", state.agent_info())
    except ConnectionResetError:
        pass  # the page was closed
    finally:
        pump.cancel()
    return response


async def _pump(live: LiveState, changes: asyncio.Queue[str]) -> None:
    # Cancelling a wait on LiveState.subscribe() would end that generator, so a task reads it and
    # the stream waits (with timeouts) on this queue instead.
    async for device_id in live.subscribe():
        if not changes.full():
            changes.put_nowait(device_id)


async def _collect(changes: asyncio.Queue[str]) -> list[str]:
    """Device ids that changed within AGENT_EVERY_S (then COALESCE_S more), without repeats."""
    changed: dict[str, None] = {}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(AGENT_EVERY_S):
            changed[await changes.get()] = None
        async with asyncio.timeout(COALESCE_S):
            while True:
                changed[await changes.get()] = None
    return list(changed)


async def _send(response: web.StreamResponse, event: str, data: Any) -> None:
    await response.write(f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n".encode())
