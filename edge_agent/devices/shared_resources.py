"""Resources several devices share, such as one RS-485 bus polled by many unit ids.

The first device to ask for a key creates the resource; the last one to let go closes it. This
keeps "one bus, one owner" without devices knowing about each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar


class Closable(Protocol):
    async def close(self) -> None: ...


T = TypeVar("T", bound=Closable)


class SharedResources:
    def __init__(self) -> None:
        self._items: dict[str, tuple[Any, int]] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, key: str, factory: Callable[[], Awaitable[T]]) -> T:
        async with self._lock:
            if key in self._items:
                item, users = self._items[key]
                self._items[key] = (item, users + 1)
                return item  # type: ignore[no-any-return]  # stored as Any: one table holds every kind of resource
            created = await factory()
            self._items[key] = (created, 1)
            return created

    async def release(self, key: str) -> None:
        async with self._lock:
            if key not in self._items:
                return
            item, users = self._items[key]
            if users > 1:
                self._items[key] = (item, users - 1)
                return
            del self._items[key]
        await item.close()
