"""The latest known picture of the cabinet, in memory, for commands and the diagnostics page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from edge_agent.health.tracker import DeviceHealth
from edge_agent.readings import Value


class _Pending:
    """One subscriber's changed devices not yet read: a device changed twice while it was busy is
    read once, with its latest snapshot. Never more entries than devices, and no change is lost (a
    bounded queue that dropped ids could leave a cleared fault open on the page)."""

    def __init__(self) -> None:
        self.ids: dict[str, None] = {}  # insertion-ordered set
        self.wake = asyncio.Event()

    def add(self, device_id: str) -> None:
        self.ids[device_id] = None
        self.wake.set()

    async def next(self) -> str:
        while not self.ids:
            self.wake.clear()
            await self.wake.wait()
        device_id = next(iter(self.ids))
        del self.ids[device_id]
        return device_id


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
        self._subscribers: set[_Pending] = set()

    def changed(self, device_id: str) -> None:
        """Tell subscribers a device's snapshot changed (by id; they read the snapshot)."""
        for pending in self._subscribers:
            pending.add(device_id)

    async def subscribe(self) -> AsyncIterator[str]:
        pending = _Pending()
        self._subscribers.add(pending)
        try:
            while True:
                yield await pending.next()
        finally:
            self._subscribers.discard(pending)
