"""The four phases of a camera firmware upgrade over ONVIF, each returning a `PhaseResult`.

- pre: the image's SHA-256 is the one given (checked before anything is sent), the camera is
  healthy and reachable, mains present; notes the version and the recording state.
- apply: device service `StartFirmwareUpgrade` (an upload URI on the camera itself), then an
  HTTP POST of the image to it. `UpgradeSystemFirmware` (MTOM attachment) is not supported.
- post: the camera is back within the deadline with the expected version, serves a stream, and
  records again if it recorded before.
- rollback: only where a vendor variant offers one (`VENDOR_ROLLBACK`); none does yet, so the
  answer is the fault `manual_recovery_needed`.

Talks to the camera with its own ONVIF session, so the device's poll loop runs on untouched.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import aiohttp
from tenacity import AsyncRetrying, retry_if_result, stop_after_delay, wait_fixed

from edge_agent.devices.onvif_camera.client import OnvifSession, load_wsdls
from edge_agent.devices.onvif_camera.config import OnvifCameraConfig
from edge_agent.devices.onvif_camera.failures import classify, describe
from edge_agent.firmware.result import PhaseResult

Progress = Callable[[str, dict[str, Any]], Awaitable[None]]
MAX_IMAGE_BYTES = 512 * 2**20
MAX_UPLOAD_DELAY_S = 60.0
RETRY_S = 0.5  # between attempts to reach a rebooting camera (a remote device: nothing to await)
# Vendor variants of rollback: manufacturer -> coroutine(config) -> detail. None known yet.
VENDOR_ROLLBACK: dict[str, Callable[[OnvifCameraConfig], Awaitable[str]]] = {}


@dataclass(frozen=True)
class Request:
    """What the operator asked for."""

    image: Path
    sha256: str
    expected_version: str
    timeout_s: float  # from the upload's end until the camera must be back on the new version


@dataclass(frozen=True)
class Observed:
    """What the agent already knows of the camera and the cabinet (None: not known)."""

    health_state: str | None
    recording: bool | None
    mains_present: bool | None
    busy: str | None = None  # the declared busy period in force, described


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class CameraFirmware:
    """The phases for one camera. `close()` when done."""

    def __init__(self, config: OnvifCameraConfig, progress: Progress) -> None:
        self.config = config
        self.progress = progress
        self.session = OnvifSession(
            config.onvif_host,
            config.port,
            config.username,
            config.password.get_secret_value(),
            max_response_bytes=config.max_response_bytes,
        )

    async def close(self) -> None:
        await self.session.reset()

    async def _call(self, service: str, operation: str, params: dict[str, Any] | None = None) -> Any:
        await load_wsdls()  # parsed here once per process: local work, not the camera's answer time
        async with asyncio.timeout(self.config.request_timeout_s):
            return await self.session.call(service, operation, params)

    async def version(self) -> str:
        info = await self._call("devicemgmt", "GetDeviceInformation")
        return str(getattr(info, "FirmwareVersion", "") or "").strip()[:64]

    # --- pre --------------------------------------------------------------------------------------

    async def pre(self, request: Request, observed: Observed) -> PhaseResult:
        result = PhaseResult("camera/pre")
        result.facts.update(image=request.image.name, expected_version=request.expected_version)
        if not await self._digest_ok(request, result):
            return result  # a bad image goes nowhere: nothing else is even looked at
        state = observed.health_state
        healthy = state is None or state in ("ok", "degraded")  # None: run by hand, reachability decides
        result.check("device_healthy", healthy, f"device state is {state or 'not given'}")
        mains = observed.mains_present
        result.check(
            "mains_present", mains is not False, "mains lost" if mains is False else "no mains loss seen"
        )
        result.check("not_busy", observed.busy is None, observed.busy or "no declared busy period now")
        result.facts["recording"] = observed.recording
        try:
            result.facts["from_version"] = await self.version()
        except Exception as exc:
            await self.session.reset()
            result.check("reachable", False, describe(classify(exc), exc))
            return result
        result.check("reachable", True, f"firmware {result.facts['from_version']!r}")
        result.facts["already_current"] = result.facts["from_version"] == request.expected_version
        return result

    async def _digest_ok(self, request: Request, result: PhaseResult) -> bool:
        try:
            size = request.image.stat().st_size
        except OSError as exc:
            return result.check("image_present", False, f"{request.image.name}: {exc.strerror}")
        if not result.check("image_size", 0 < size <= MAX_IMAGE_BYTES, f"{size} bytes"):
            return False
        await self.progress("checking the image digest", {"size_bytes": size})
        actual = await asyncio.to_thread(file_sha256, request.image)
        result.facts["sha256"] = actual
        matches = actual == request.sha256.lower()
        detail = "matches" if matches else f"image has {actual}, expected {request.sha256.lower()}"
        return result.check("image_digest", matches, detail)

    # --- apply ------------------------------------------------------------------------------------

    async def apply(self, request: Request) -> PhaseResult:
        result = PhaseResult("camera/apply")
        try:
            answer = await self._call("devicemgmt", "StartFirmwareUpgrade")
        except Exception as exc:
            result.check("start_upgrade", False, describe(classify(exc), exc))
            return result
        finally:
            await self.session.reset()
        uri = str(getattr(answer, "UploadUri", "") or "")[:512]  # hostile input like any answer
        own = self._own_uri(uri)
        if not result.check("upload_uri", own, "on the camera" if own else f"refused: {uri!r}"):
            return result  # never send an image anywhere but to the camera itself
        delay = min(_seconds(getattr(answer, "UploadDelay", None)), MAX_UPLOAD_DELAY_S)
        result.facts["expected_down_s"] = _seconds(getattr(answer, "ExpectedDownTime", None))
        if delay > 0:
            await asyncio.sleep(delay)  # the camera asked for this pause before the upload
        await self.progress("uploading the image", {"upload_delay_s": delay})
        await self._upload(uri, request.image, result)
        return result

    def _own_uri(self, uri: str) -> bool:
        parsed = urlparse(uri)
        return parsed.scheme in ("http", "https") and parsed.hostname == self.config.host.strip("[]")

    async def _upload(self, uri: str, image: Path, result: PhaseResult) -> None:
        timeout = aiohttp.ClientTimeout(total=max(60.0, self.config.timeout_s * 10))
        connector = aiohttp.TCPConnector(ssl=False)  # camera certificates are self-signed
        headers = {"Content-Type": "application/octet-stream"}
        try:
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
                with image.open("rb") as body:
                    async with http.post(uri, data=body, headers=headers) as response:
                        text = (await response.content.read(300)).decode("utf-8", "replace").strip()
                        status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            result.changed = True  # the image may have arrived: only `post` can tell
            result.check("upload", False, f"upload interrupted: {type(exc).__name__}: {exc}"[:200])
            return
        result.changed = status < 400
        result.check("upload", status < 400, f"HTTP {status}: {text[:120]}")

    # --- post -------------------------------------------------------------------------------------

    async def post(self, request: Request, recording_before: bool | None) -> PhaseResult:
        result = PhaseResult("camera/post")
        version = await self._back_on_version(request, result)
        if version is None or not result.ok:
            return result
        await self.progress("checking streams and recording", {"version": version})
        try:
            await self._check_streams(result, recording_before)
        except Exception as exc:
            result.check("streams", False, describe(classify(exc), exc))
        finally:
            await self.session.reset()
        return result

    async def _back_on_version(self, request: Request, result: PhaseResult) -> str | None:
        """Wait for the camera to answer with the expected version. Another version counts only
        once the camera was seen down (before that it may still be flashing), or at the deadline."""
        started = time.monotonic()
        seen_down, last_error, version = False, "never answered", None

        async def answered() -> bool:
            nonlocal seen_down, last_error, version
            try:
                version = await self.version()
            except Exception as exc:
                await self.session.reset()
                seen_down, last_error, version = True, describe(classify(exc), exc), None
                return False
            return version == request.expected_version or seen_down

        waiting = AsyncRetrying(
            stop=stop_after_delay(request.timeout_s),
            wait=wait_fixed(RETRY_S),
            retry=retry_if_result(lambda done: not done),
            retry_error_callback=lambda _state: False,  # the deadline passed: judged below
        )
        await waiting(answered)
        if version is None:
            result.check("returned", False, f"not back within {request.timeout_s:g} s ({last_error})")
            return None
        result.facts.update(to_version=version, back_after_s=round(time.monotonic() - started, 1))
        detail = f"camera reports {version!r}, expected {request.expected_version!r}"
        result.check("version", version == request.expected_version, detail)
        return version

    async def _check_streams(self, result: PhaseResult, recording_before: bool | None) -> None:
        profiles = await self._call("media", "GetProfiles") or []
        if not result.check("streams", bool(profiles), f"{len(profiles)} media profile(s)"):
            return
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        await self._call("media", "GetStreamUri", {"StreamSetup": setup, "ProfileToken": profiles[0].token})
        if not recording_before or not self.session.supports("recording"):
            result.facts["recording"] = None
            return
        jobs = await self._call("recording", "GetRecordingJobs") or []
        states = []
        for job in jobs[:16]:
            state = await self._call("recording", "GetRecordingJobState", {"JobToken": job.JobToken})
            states.append(str(state.State)[:32])
        recording = any(state.lower() == "active" for state in states)
        result.facts["recording"] = recording
        result.check("recording", recording, f"recording job state(s): {', '.join(states) or 'none'}")

    # --- rollback ---------------------------------------------------------------------------------

    async def rollback(self, manufacturer: str | None) -> PhaseResult:
        result = PhaseResult("camera/rollback", changed=True)
        variant = VENDOR_ROLLBACK.get((manufacturer or "").lower())
        if variant is not None:
            try:
                result.check("rollback", True, await variant(self.config))
                return result
            except Exception as exc:
                result.check("rollback", False, describe(classify(exc), exc))
        why = "no rollback for this camera" if variant is None else "rollback failed"
        result.fault = {
            "code": "manual_recovery_needed",
            "severity": "critical",
            "message": f"firmware upgrade failed and {why}: recover the camera on site",
        }
        return result


def _seconds(duration: Any) -> float:
    """An xs:duration as zeep returns it (timedelta, isodate Duration or text) in seconds."""
    if isinstance(duration, timedelta):  # isodate gives a timedelta when no years/months are used
        return max(0.0, duration.total_seconds())
    return 0.0  # a duration in months is no answer a camera gives: treated as none
