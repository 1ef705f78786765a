"""The simulated camera: one aiohttp server for SOAP and the vendor API, one RTSP responder."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from aiohttp import web
from lxml import etree

from edge_agent.simulators.onvif_camera import firmware, profile_s, soap, vendor
from edge_agent.simulators.onvif_camera.http_digest import WebAuthGate
from edge_agent.simulators.onvif_camera.rtsp import RtspResponder
from edge_agent.simulators.onvif_camera.states import VENDOR_IDENTITY, CameraState, state_named
from edge_agent.simulators.onvif_camera.wsse import Refusal, has_token, refusal

log = logging.getLogger(__name__)

HUGE_RESPONSE_BYTES = 50 * 2**20
_SOAP_TYPE = "application/soap+xml; charset=utf-8"
SNAPSHOT_PATH = "/onvif/snapshot.jpg"
UNHANG_OFF_S = 5.0  # a hung camera needs its power off this long to boot clean


class CameraSimulator:
    """One camera on 127.0.0.1. `state` may be replaced or mutated while it runs."""

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

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.host, self.port)
        await self._site.start()
        server: Any = self._site._server  # the bound port when started on port 0
        if server is not None and self.port == 0:
            self.port = server.sockets[0].getsockname()[1]

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

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def camera_now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.state.clock_skew_s)

    # --- SOAP -----------------------------------------------------------------------------------

    async def _soap(self, request: web.Request) -> web.StreamResponse:
        if self.rebooting:
            return await self._drop(request)
        parsed = soap.parse_request(await request.read())
        if parsed is None:
            return _xml(soap.fault("ter:WellFormed", "malformed request"), 400)
        envelope, operation = parsed
        if self.state.wire != "normal":
            return await self._misbehave(request)
        if not self._soap_authorized(envelope, operation):
            return _xml(soap.not_authorized(), 400)
        handler = self._operations().get(operation)
        if handler is None:
            return _xml(soap.fault("ter:ActionNotSupported", f"{operation} not supported", "s:Receiver"), 400)
        self.calls[operation] += 1
        return _xml(handler(envelope))

    def _soap_authorized(self, envelope: etree._Element, operation: str) -> bool:
        if operation in self.state.open_operations and not has_token(envelope):
            return True
        why = refusal(envelope, self.user, self.password, self.camera_now(), self.state.auth_window_s)
        if why is not None:
            self.refusals[why] += 1
        return why is None

    async def _stamp_date(self, _request: web.Request, response: web.StreamResponse) -> None:
        """Every answer, refusals included, carries the camera's own clock in its HTTP `Date` (as
        Hikvision, Dahua and Axis firmwares do): the one clock reading a refused client gets."""
        response.headers["Date"] = format_datetime(self.camera_now(), usegmt=True)

    def _operations(self) -> dict[str, Callable[[etree._Element], str]]:
        return {**self._device_operations(), **self._media_operations(), **self._recording_operations()}

    def _media_operations(self) -> dict[str, Callable[[etree._Element], str]]:
        return {
            "GetProfiles": lambda _e: profile_s.profiles(),
            "GetVideoSources": lambda _e: profile_s.video_sources(),
            "GetStreamUri": lambda _e: soap.stream_uri(
                f"rtsp://{self.host}:{self.rtsp_port}/Streaming/Channels/101"
            ),
            "GetSnapshotUri": lambda _e: profile_s.snapshot_uri(self.base_url + SNAPSHOT_PATH),
        }

    def _recording_operations(self) -> dict[str, Callable[[etree._Element], str]]:
        state = self.state
        return {
            "GetRecordingJobs": lambda _e: soap.recording_jobs(),
            "GetRecordingJobState": lambda _e: soap.recording_job_state(state.recording),
            "GetRecordingSummary": lambda _e: soap.recording_summary(
                *soap.retention_window(
                    self.camera_now(), state.retention_days, 0 if state.recording else state.stopped_for_s
                )
            ),
        }

    def _device_operations(self) -> dict[str, Callable[[etree._Element], str]]:
        state = self.state
        manufacturer, _ = VENDOR_IDENTITY[state.vendor]
        return {
            "GetSystemDateAndTime": lambda _e: soap.system_date_and_time(
                self.camera_now(), bool(state.ntp_server)
            ),
            "GetServices": lambda _e: soap.services(self.base_url, state.profile_g),
            "GetCapabilities": lambda _e: profile_s.capabilities(self.base_url, state.profile_g),
            "GetDeviceInformation": lambda _e: soap.device_information(
                manufacturer, state.model, state.firmware, state.serial
            ),
            "GetScopes": lambda _e: profile_s.scopes(state.model, state.profile_g),
            "GetHostname": lambda _e: profile_s.hostname(f"cam-{state.serial[-6:]}"),
            "GetNTP": lambda _e: profile_s.ntp(state.ntp_server),
            "GetNetworkInterfaces": lambda _e: profile_s.network_interfaces(self.host, _mac(state.serial)),
            "SystemReboot": self._reboot,
            "SetSystemDateAndTime": self._set_time,
            "SetNTP": self._set_ntp,
            "StartFirmwareUpgrade": self._start_firmware_upgrade,
        }

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

    def _set_time(self, envelope: etree._Element) -> str:
        kind, given = soap.requested_time(envelope)
        if kind == "NTP":
            self.state.clock_skew_s = 0.0  # the simulated NTP server is always right
        elif given is not None:
            self.state.clock_skew_s = (given - datetime.now(UTC)).total_seconds()
        return soap.empty("SetSystemDateAndTime")

    def _set_ntp(self, envelope: etree._Element) -> str:
        address = envelope.findtext(".//tt:IPv4Address", namespaces=soap.NAMESPACES)
        self.state.ntp_server = address or envelope.findtext(".//tt:DNSname", namespaces=soap.NAMESPACES)
        return soap.empty("SetNTP")

    async def _misbehave(self, request: web.Request) -> web.StreamResponse:
        wire = self.state.wire
        if wire == "hung":
            await self._stopping.wait()  # accepts the connection, never replies
            return web.Response(status=503)
        if wire == "huge":
            return await _stream_huge(request)
        if wire == "http_500":
            return web.Response(
                status=500, text="<html><body>Internal Server Error</body></html>", content_type="text/html"
            )
        body = {
            "malformed_xml": soap.MALFORMED,
            "soap_fault": soap.fault("ter:Action", "internal processing error", "s:Receiver"),
            "xml_bomb": soap.XML_BOMB,
            "external_entity": soap.EXTERNAL_ENTITY,
        }[wire]
        return _xml(body, 500 if wire == "soap_fault" else 200)

    async def _drop(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.close()  # a rebooting camera drops kept-alive connections too
        raise web.HTTPServiceUnavailable()

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

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def with_vendor(self, name: str) -> None:
        """Switch the camera to another vendor (identity and storage API follow)."""
        _, model = VENDOR_IDENTITY[name]  # type: ignore[index]  # keyed by the Vendor Literal; a bad name raises KeyError
        self.state = replace(self.state, vendor=name, model=model)  # type: ignore[arg-type]  # `name` was checked by the lookup above


def _mac(serial: str) -> str:
    """A stable MAC address per camera, in a locally administered range."""
    digits = hashlib.sha256(serial.encode()).hexdigest()[:6]
    return "02:00:5e:" + ":".join(digits[i : i + 2] for i in (0, 2, 4))


def _xml(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, headers={"Content-Type": _SOAP_TYPE})


async def _stream_huge(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": _SOAP_TYPE})
    await response.prepare(request)
    head = soap.envelope("<tds:GetSystemDateAndTimeResponse><pad>").split("<pad>")[0] + "<pad>"
    chunk = b"A" * 65536
    with contextlib.suppress(ConnectionError):
        await response.write(head.encode())
        for _ in range(HUGE_RESPONSE_BYTES // len(chunk)):
            await response.write(chunk)
        await response.write(b"</pad></tds:GetSystemDateAndTimeResponse></s:Body></s:Envelope>")
    return response
