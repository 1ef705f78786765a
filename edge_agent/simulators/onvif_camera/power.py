"""The camera going off the network and back: SystemReboot, a firmware upgrade (upload, reboot,
scripted failures), and mains from a relay in the cabinet (a real power-cycle clears a hang)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from typing import Any

from aiohttp import web
from lxml import etree

from edge_agent.simulators.onvif_camera import firmware, soap
from edge_agent.simulators.onvif_camera.base import CameraBase

UNHANG_OFF_S = 5.0  # a hung camera needs its power off this long to boot clean


class PowerAndReboot(CameraBase):
    """Off the network and back: the site stops (connections refused), then listens again."""

    def _reboot(self, _envelope: etree._Element) -> str:
        self.reboots += 1
        self._spawn(self._reboot_cycle())
        return soap.reboot_message()

    async def _reboot_cycle(self, new_firmware: str | None = None, *, stays_down: bool = False) -> None:
        await asyncio.sleep(0.05)  # let the reply leave before the "power" goes
        self.rebooting = True
        self.came_up.clear()
        if self._site is not None:
            await self._site.stop()  # new connections are refused, as from a camera booting
        self.went_down.set()
        if stays_down:
            return  # a bricked camera: off the network until the simulator stops
        await asyncio.sleep(self.state.reboot_s)
        if new_firmware is not None:
            self.state.firmware = new_firmware
        self.rebooting = False
        await self._listen()
        self.came_up.set()

    # --- firmware upgrade: StartFirmwareUpgrade, then an HTTP POST of the image -----------------

    def _start_firmware_upgrade(self, _envelope: etree._Element) -> str:
        token = secrets.token_hex(8)
        self._upload_tokens.add(token)
        uri = f"{self.base_url}/firmware/upload/{token}"
        return soap.start_firmware_upgrade(uri, self.state.reboot_s)

    async def _firmware_upload(self, request: web.Request) -> web.StreamResponse:
        if self.rebooting:
            return await self._drop(request)
        token = request.match_info["token"]
        if token not in self._upload_tokens:
            raise web.HTTPNotFound(text="no upgrade started with this URI\n")
        self._upload_tokens.discard(token)  # an upload URI is good for one upload
        image = await firmware.read_upload(request)
        outcome = self.state.firmware_outcome
        upload = firmware.describe(image, outcome != "reject_image")
        if upload.version is None:
            upload = firmware.describe(image, False)
        self.uploads.append(upload)
        self.calls["firmware_upload"] += 1
        if not upload.accepted:
            raise web.HTTPBadRequest(text="image rejected: integrity check failed\n")
        keep_old = outcome == "old_version"
        self._spawn(
            self._reboot_cycle(None if keep_old else upload.version, stays_down=outcome == "stays_down")
        )
        return web.Response(text=f"upgrading to {upload.version}; rebooting\n")

    async def _power_cycle(self, _request: web.Request) -> web.StreamResponse:
        """Demo control: `POST /_sim/reboot` reboots the camera as if its power was cycled."""
        self.reboots += 1
        self._spawn(self._reboot_cycle())
        return web.Response(text=f"rebooting for {self.state.reboot_s:g} s\n")

    # --- power (a relay in the cabinet) ---------------------------------------------------------

    async def set_power(self, on: bool) -> None:
        """Mains to the camera: off takes it off the network; back on after >= `UNHANG_OFF_S`
        clears a hang (a real power-cycle), a shorter dip leaves the camera as it was."""
        loop = asyncio.get_running_loop()
        if not on and self.powered:
            self.powered, self._off_since = False, loop.time()
            self.came_up.clear()
            if self._site is not None:
                await self._site.stop()
            self.went_down.set()
        elif on and not self.powered:
            self.powered = True
            if loop.time() - self._off_since >= UNHANG_OFF_S:
                self.power_cycles += 1
                self.state = replace(self.state, wire="normal")
            await self._listen()
            self.came_up.set()

    async def follow_pin(self, pin: Any, interval_s: float = 0.05) -> None:
        """Follow a gpiozero pin that switches this camera's power (high = powered), until cancelled.
        Hardware has no events to await: the wire is sampled, as a relay coil would see it."""
        while True:
            await self.set_power(bool(pin.state))
            await asyncio.sleep(interval_s)
