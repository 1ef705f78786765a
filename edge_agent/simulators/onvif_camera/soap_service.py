"""The camera's SOAP services: authentication as real cameras check it, the operations of the
device, media, recording and search services, and the hostile wire modes of the tests."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

from aiohttp import web
from lxml import etree

from edge_agent.simulators.onvif_camera import profile_s, soap
from edge_agent.simulators.onvif_camera.power import PowerAndReboot
from edge_agent.simulators.onvif_camera.states import VENDOR_IDENTITY
from edge_agent.simulators.onvif_camera.web_api import SNAPSHOT_PATH
from edge_agent.simulators.onvif_camera.wsse import has_token, refusal

HUGE_RESPONSE_BYTES = 50 * 2**20
_SOAP_TYPE = "application/soap+xml; charset=utf-8"


class SoapService(PowerAndReboot):
    """`POST /onvif/{service}`: parse, refuse (wire mode, credentials), dispatch, answer."""

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
