"""What every part of the simulated camera shares: its state, counters, clock and listening socket.

The camera is one object (`server.CameraSimulator`) made of one class per idea: this base, the
SOAP services (`soap_service`), power and reboots with firmware uploads (`power`), and the vendor
web API with the demo controls (`web_api`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from edge_agent.simulators.onvif_camera import firmware
from edge_agent.simulators.onvif_camera.http_digest import WebAuthGate
from edge_agent.simulators.onvif_camera.rtsp import RtspResponder
from edge_agent.simulators.onvif_camera.states import VENDOR_IDENTITY, CameraState
from edge_agent.simulators.onvif_camera.wsse import Refusal


class CameraBase:
    """The parts' shared ground: constructor, counters, clock, the listening site."""

    def __init__(
        self,
        *,
        user: str,
        password: str,
        state: CameraState | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rtsp_port: int = 0,
    ) -> None:
        self.user = user
        self.password = password
        self.state = state or CameraState()
        self.host = host
        self.port = port
        self.rtsp_port = rtsp_port
        self.calls: Counter[str] = Counter()  # operation / path -> requests answered
        self.refusals: Counter[Refusal] = Counter()  # why signed SOAP requests were refused
        self.reboots = 0
        self.rebooting = False
        self.powered = True
        self.power_cycles = 0  # power restored after at least UNHANG_OFF_S off
        self._off_since = 0.0
        self.went_down = asyncio.Event()  # set when a reboot takes the camera off the network
        self.came_up = asyncio.Event()  # set when it is back
        self.uploads: list[firmware.Upload] = []  # firmware images received, in order
        self._upload_tokens: set[str] = set()
        self._web_auth = WebAuthGate(user)
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._rtsp: asyncio.Server | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.rtsp = RtspResponder(user, lambda: self.password, lambda: self.state.rtsp_serves_video)

    # --- lifecycle ------------------------------------------------------------------------------

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.host, self.port)
        await self._site.start()
        server: Any = self._site._server  # the bound port when started on port 0
        if server is not None and self.port == 0:
            self.port = server.sockets[0].getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def camera_now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.state.clock_skew_s)

    async def _drop(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.close()  # a rebooting camera drops kept-alive connections too
        raise web.HTTPServiceUnavailable()

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def with_vendor(self, name: str) -> None:
        """Switch the camera to another vendor (identity and storage API follow)."""
        _, model = VENDOR_IDENTITY[name]  # type: ignore[index]  # keyed by the Vendor Literal; a bad name raises KeyError
        self.state = replace(self.state, vendor=name, model=model)  # type: ignore[arg-type]  # `name` was checked by the lookup above
