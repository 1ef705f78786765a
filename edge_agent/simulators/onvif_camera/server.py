"""The simulated camera: one aiohttp server for SOAP and the vendor API, one RTSP responder.

Made of one class per idea (see `base`): `soap_service.SoapService` (with `power.PowerAndReboot`)
and `web_api.WebApi`; this module wires their routes and runs them.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from edge_agent.simulators.onvif_camera import vendor
from edge_agent.simulators.onvif_camera.power import UNHANG_OFF_S
from edge_agent.simulators.onvif_camera.soap_service import HUGE_RESPONSE_BYTES, SoapService
from edge_agent.simulators.onvif_camera.web_api import SNAPSHOT_PATH, WebApi

__all__ = ["HUGE_RESPONSE_BYTES", "SNAPSHOT_PATH", "UNHANG_OFF_S", "CameraSimulator"]


class CameraSimulator(SoapService, WebApi):
    """One camera on 127.0.0.1. `state` may be replaced or mutated while it runs."""

    async def start(self) -> CameraSimulator:
        app = web.Application(client_max_size=2**20)
        app.on_response_prepare.append(self._stamp_date)
        app.router.add_post("/onvif/{service}", self._soap)
        for path in vendor.PATHS.values():
            app.router.add_get(path, self._storage)
        app.router.add_get(SNAPSHOT_PATH, self._snapshot)
        app.router.add_post("/firmware/upload/{token}", self._firmware_upload)
        app.router.add_put("/_sim/state/{name}", self._set_state)
        app.router.add_post("/_sim/reboot", self._power_cycle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await self._listen()
        self._rtsp = await asyncio.start_server(self.rtsp.handle, self.host, self.rtsp_port)
        self.rtsp_port = self._rtsp.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._background:
            task.cancel()
        if self._rtsp is not None:
            self._rtsp.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._rtsp.wait_closed()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> CameraSimulator:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()
