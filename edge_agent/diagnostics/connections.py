"""Bounds what connections to the page can take from the agent.

An idle or half-sent connection costs a file descriptor, and the agent's devices, outbox and
broker link need descriptors too: 1,060 idle connections once took the `host` device offline
("Too many open files: /proc/meminfo"). So the page keeps at most `MAX_CONNECTIONS`: a new one
closes the oldest connection with no request in progress (idle, or still sending its headers);
when every one is busy the new one is closed at once. And a connection that has not delivered a
complete request within `IDLE_TIMEOUT_S` is closed (aiohttp's keep-alive timer, which also runs
before the first request).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 64
IDLE_TIMEOUT_S = 10.0


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class CappedConnections:
    """A protocol factory for `loop.create_server` in front of an aiohttp `web.Server`."""

    def __init__(self, server: web.Server, limit: int = MAX_CONNECTIONS) -> None:
        self.server = server
        self.limit = limit
        self.evicted_total = 0
        self.refused_total = 0
        self._warned = False

    def __call__(self) -> asyncio.BaseProtocol:
        open_ = [handler for handler in self.server.connections if handler.transport is not None]
        if len(open_) < self.limit:
            return self.server()
        # aiohttp has no public "busy" flag; `_current_request` is set while a request is handled.
        idle = next((h for h in open_ if getattr(h, "_current_request", None) is None), None)
        self._warn_once()
        if idle is None:
            self.refused_total += 1
            return _Refused()
        idle.force_close()
        self.evicted_total += 1
        return self.server()

    def _warn_once(self) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "diagnostics page: %d connections open; closing idle ones to keep file descriptors",
                self.limit,
            )
