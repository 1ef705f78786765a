"""The vendor web API (SD card status, by the vendor's path), the snapshot, and the demo's
control of the scripted state; all behind the web account's Digest or Basic auth."""

from __future__ import annotations

from aiohttp import web

from edge_agent.simulators.onvif_camera import profile_s, vendor
from edge_agent.simulators.onvif_camera.base import CameraBase
from edge_agent.simulators.onvif_camera.states import state_named

SNAPSHOT_PATH = "/onvif/snapshot.jpg"


class WebApi(CameraBase):
    # --- vendor API and control -----------------------------------------------------------------

    async def _storage(self, request: web.Request) -> web.StreamResponse:
        if self.rebooting:
            return await self._drop(request)
        if self.state.wire == "hung":
            await self._stopping.wait()
        if vendor.PATHS.get(self.state.vendor) != request.path:
            raise web.HTTPNotFound()
        refusal = self._web_refusal(request)
        if refusal is not None:
            return refusal
        self.calls[request.path] += 1
        body, content_type = vendor.RENDER[self.state.vendor](self.state)
        return web.Response(text=body, content_type=content_type)

    async def _snapshot(self, request: web.Request) -> web.StreamResponse:
        if self.rebooting:
            return await self._drop(request)
        refusal = self._web_refusal(request)
        if refusal is not None:
            return refusal
        self.calls[SNAPSHOT_PATH] += 1
        return web.Response(body=profile_s.SNAPSHOT_JPEG, content_type="image/jpeg")

    def _web_refusal(self, request: web.Request) -> web.Response | None:
        password = self.state.web_password or self.password
        return self._web_auth.refusal(request, self.state.web_auth, password)

    async def _set_state(self, request: web.Request) -> web.StreamResponse:
        """Demo control: `PUT /_sim/state/<name>` switches the scripted state, keeping the vendor."""
        try:
            self.state = state_named(request.match_info["name"], vendor=self.state.vendor)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        return web.Response(text=f"state {request.match_info['name']}\n")
