"""The latest known picture of the cabinet, in memory, for commands and the diagnostics page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from edge_agent.health.tracker import DeviceHealth
from edge_agent.readings import Value

SUBSCRIBER_QUEUE = 64  # a slow page drops updates rather than growing memory


@dataclass
class DeviceSnapshot:
    device_id: str
    kind: str
    name: str | None
    health: DeviceHealth
    values: dict[str, Value] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    last_poll: datetime | None = None
    polls_ok: int = 0
    polls_failed: int = 0


class LiveState:
    def __init__(self) -> None:
        self.devices: dict[str, DeviceSnapshot] = {}
        self._subscribers: set[asyncio.Queue[str]] = set()

    def changed(self, device_id: str) -> None:
        """Tell subscribers a device's snapshot changed (by id; they read the snapshot)."""
        for queue in self._subscribers:
            if queue.full():
                continue
            queue.put_nowait(device_id)

    async def subscribe(self) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)
