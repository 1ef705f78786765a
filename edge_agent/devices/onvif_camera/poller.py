"""Polls one ONVIF camera: a reachability + clock probe at every poll, then the checks that are
due (identity, streams, SD card, retention), each with its own interval and its own timeout.

A failed probe is a failed poll (the runner debounces it into `offline`); bad credentials are a
fault of a reachable camera; a check without evidence leaves the device `unknown`, never `ok`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from edge_agent.devices.base import DeviceContext, Poller, request_timeout
from edge_agent.devices.onvif_camera import actions, codec, rtsp_probe, rules, storage
from edge_agent.devices.onvif_camera.client import OnvifSession, load_wsdls
from edge_agent.devices.onvif_camera.config import OnvifCameraConfig
from edge_agent.devices.onvif_camera.failures import classify, describe, device_error
from edge_agent.devices.onvif_camera.identity import IdentityStore
from edge_agent.devices.onvif_camera.schedule import CheckSchedule, Evidence
from edge_agent.devices.onvif_camera.web_auth import CameraWebAuth
from edge_agent.errors import RtspError
from edge_agent.readings import DeviceEvent, Fault, PollResult, Value, utc_now

log = logging.getLogger(__name__)

# Cameras of one cabinet polled at once at most; the rest wait their turn (inside their timeout).
MAX_CONCURRENT_POLLS = 8
_SLOTS_KEY = "onvif_camera:poll_slots"
_CLOCK_JUMP_S = 30.0  # the signing offset is re-measured when the camera clock moved this much
_DEADLINE_MARGIN = 0.1  # of timeout_s: the steps end this long before the runner's poll timeout


class PollSlots:
    """A semaphore shared by every camera of the agent (a `SharedResources` item)."""

    def __init__(self, size: int) -> None:
        self.semaphore = asyncio.Semaphore(size)

    async def close(self) -> None:
        """Nothing to release."""


class OnvifCameraPoller(Poller[OnvifCameraConfig]):
    def __init__(self, config: OnvifCameraConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        password = config.password.get_secret_value()
        self.session = OnvifSession(
            config.onvif_host,
            config.port,
            config.username,
            password,
            max_response_bytes=config.max_response_bytes,
        )
        self._web_auth = CameraWebAuth(config.username, password)
        intervals = {"identity": config.checks.identity_s, "streams": config.checks.streams_s}
        if config.storage_api != "none":
            intervals["storage"] = config.checks.storage_s
        if config.retention_check:
            intervals["retention"] = config.checks.retention_s
        self.schedule = CheckSchedule(intervals, retry_s=config.poll_interval_s)
        self.identity = IdentityStore(context.data_dir / "onvif_camera" / f"{config.device_id}.json")
        self._http: aiohttp.ClientSession | None = None
        self._slots: PollSlots | None = None
        self._drift_s: float | None = None
        # Refused credentials, by the step that saw it (probe, login, a check): each is cleared
        # only when that same step passes again, so a check that runs every 15 minutes does not
        # make the fault flip on and off between its runs.
        self._auth_errors: dict[str, str] = {}
        self._events: list[DeviceEvent] = []
        # Faults the poll cannot see, pinned by a failed firmware upgrade (edge_agent/firmware/).
        self._pinned: dict[str, Fault] = {}

    # --- what a firmware upgrade asks of the camera (edge_agent/firmware/upgrade.py) ---------------

    def pin_fault(self, fault: Fault) -> None:
        """Report `fault` with every poll until cleared: the poll itself cannot see it."""
        self._pinned[fault.code] = fault

    def clear_faults(self, codes: Iterable[str]) -> None:
        for code in codes:
            self._pinned.pop(code, None)

    def recheck_identity(self) -> None:
        """Read the identity (firmware version) again at the next poll."""
        self.schedule.make_due("identity")

    async def open(self) -> None:
        # The runner calls open() again after a failure here: every step is done at most once.
        if self._slots is None:
            self._slots = await self.context.shared.acquire(_SLOTS_KEY, _new_slots)
        if self._http is None:
            # Camera certificates are self-signed (the ONVIF library does not verify them either).
            connector = aiohttp.TCPConnector(ssl=False, limit=2)
            timeout = aiohttp.ClientTimeout(total=self.config.request_timeout_s)
            self._http = aiohttp.ClientSession(connector=connector, timeout=timeout)
            await self.identity.load()
        await load_wsdls()

    async def close(self) -> None:
        await self.session.reset()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._slots is not None:
            self._slots = None
            await self.context.shared.release(_SLOTS_KEY)

    async def poll(self) -> PollResult:
        assert self._slots is not None, "open() first"
        async with self._slots.semaphore:
            values, faults = await self._probe()
            if await self._login():
                await self._run_checks()
        return self._compose(values, faults)

    def _request_timeout(self) -> float:
        """A step's limit, cut to end before the runner's poll timeout: a step that is too slow
        fails as itself (a probe timeout, a failed check) instead of failing the whole poll."""
        return request_timeout(self.config.request_timeout_s, self.config.timeout_s * _DEADLINE_MARGIN)

    # --- probe: reachability and clock ----------------------------------------------------------

    async def _probe(self) -> tuple[dict[str, Value], list[Fault]]:
        started, wall = time.monotonic(), utc_now()
        try:
            async with asyncio.timeout(self._request_timeout()):
                answer = await self.session.system_date_and_time()
            camera_now = codec.camera_utc(answer)
        except Exception as exc:
            await self.session.reset()
            code = classify(exc)
            if code == "auth_failed":  # refused even signed in its clock: reachable, wrong password
                self._auth_errors["probe"] = describe(code, exc)
                return self._refusal_clock()
            raise device_error(code, exc) from exc
        self._auth_errors.pop("probe", None)
        rtt = time.monotonic() - started
        # The camera truncates to whole seconds: +0.5 s centres the estimate.
        drift = (camera_now + timedelta(seconds=0.5) - (wall + timedelta(seconds=rtt / 2))).total_seconds()
        self._drift_s = round(drift, 1)
        await self._follow_clock_jump(drift)
        values: dict[str, Value] = {"onvif_rtt_ms": round(rtt * 1000, 1), "clock_drift_s": self._drift_s}
        return values, rules.clock(self._drift_s, self.config)

    def _refusal_clock(self) -> tuple[dict[str, Value], list[Fault]]:
        """The clock drift as the refusal's HTTP `Date` shows it: a wrong password does not hide
        a clock that is off too (both need the technician)."""
        seen = self.session.seen_offset
        if seen is None:
            return {}, []
        self._drift_s = round(seen.total_seconds(), 1)
        return {"clock_drift_s": self._drift_s}, rules.clock(self._drift_s, self.config)

    async def _follow_clock_jump(self, drift_s: float) -> None:
        offset = self.session.clock_offset
        if offset is not None and abs(offset.total_seconds() - drift_s) > _CLOCK_JUMP_S:
            log.info("camera %s: clock moved; re-measuring the signing offset", self.config.device_id)
            await self.session.reset()

    async def _login(self) -> bool:
        """Discover the services (GetServices, signed). False when the credentials are refused."""
        try:
            async with asyncio.timeout(self._request_timeout()):
                await self.session.camera()
        except Exception as exc:
            code = classify(exc)
            if code != "auth_failed":
                raise device_error(code, exc) from exc
            self._auth_errors["login"] = describe(code, exc)
            return False
        self._auth_errors.pop("login", None)
        return True

    def _auth_fault(self, message: str) -> Fault:
        return Fault("auth_failed", "critical", f"camera refused the configured credentials ({message[:80]})")

    # --- checks ---------------------------------------------------------------------------------

    async def _run_checks(self) -> None:
        now = time.monotonic()
        due = self.schedule.due(now)
        if "identity" in due:  # storage picks its API by the manufacturer: identity first
            await self._run("identity", self._check_identity, now)
        others = [name for name in due if name != "identity"]
        runs = {
            "streams": self._check_streams,
            "storage": self._check_storage,
            "retention": self._check_retention,
        }
        await asyncio.gather(*(self._run(name, runs[name], now) for name in others))

    async def _run(self, name: str, check: Callable[[], Awaitable[Evidence | None]], now: float) -> None:
        try:
            async with asyncio.timeout(self._request_timeout()):
                evidence = await check()
        except Exception as exc:
            code = classify(exc)
            if code == "auth_failed":
                self._auth_errors[name] = describe(code, exc)
            self.schedule.failed(name, now, describe(code, exc))
            log.debug("camera %s: %s check failed: %s", self.config.device_id, name, describe(code, exc))
            return
        self._auth_errors.pop(name, None)
        if evidence is not None:
            self.schedule.record(name, now, evidence)

    async def _check_identity(self) -> Evidence:
        info = await self.session.call("devicemgmt", "GetDeviceInformation")
        identity = {
            key: str(getattr(info, field, None) or "")[:128]
            for key, field in (
                ("manufacturer", "Manufacturer"),
                ("model", "Model"),
                ("firmware", "FirmwareVersion"),
                ("serial", "SerialNumber"),
            )
        }
        event = await self.identity.update(identity)
        if event is not None:
            self._events.append(event)
        return Evidence(dict(identity))

    async def _check_streams(self) -> Evidence:
        profiles = await self.session.call("media", "GetProfiles") or []
        if not profiles:
            return Evidence(
                {"profiles_count": 0}, [Fault("no_media_profile", "critical", "camera has no media profile")]
            )
        setup = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}
        answer = await self.session.call(
            "media", "GetStreamUri", {"StreamSetup": setup, "ProfileToken": profiles[0].token}
        )
        uri = str(answer.Uri)
        values: dict[str, Value] = {
            "profiles_count": len(profiles),
            "main_stream_uri": codec.strip_userinfo(uri)[:256],
        }
        if not self.config.rtsp_probe:
            return Evidence(values)
        return await self._probe_rtsp(uri, values)

    async def _probe_rtsp(self, uri: str, values: dict[str, Value]) -> Evidence:
        started = time.monotonic()
        password = self.config.password.get_secret_value()
        try:
            media = await rtsp_probe.describe(
                uri, self.config.username, password, timeout_s=self.config.request_timeout_s / 2
            )
        except (RtspError, TimeoutError, OSError) as exc:
            values["rtsp_ok"] = False
            reason = describe(classify(exc), exc) if not isinstance(exc, RtspError) else str(exc)
            return Evidence(
                values, [Fault("stream_unavailable", "critical", f"main stream not served: {reason[:120]}")]
            )
        values.update(
            {
                "rtsp_ok": True,
                "rtsp_media_count": media,
                "rtsp_rtt_ms": round((time.monotonic() - started) * 1000, 1),
            }
        )
        return Evidence(values)

    async def _check_storage(self) -> Evidence | None:
        backend = storage.backend_for(self.config.storage_api, self.identity.current.get("manufacturer"))
        if backend is None:
            manufacturer = self.identity.current.get("manufacturer") or "unknown"
            self.schedule.failed(
                "storage",
                time.monotonic(),
                f"no SD-card API known for manufacturer {manufacturer!r}; set storage_api",
                retry_s=self.config.checks.storage_s,
            )
            return None
        assert self._http is not None
        status = await storage.read_storage(
            self._http,
            self.config.web_base_url,
            backend,
            self._web_auth,
            max_bytes=self.config.max_response_bytes,
        )
        return rules.storage(status, self.config)

    async def _check_retention(self) -> Evidence | None:
        if not self.session.supports("search"):
            self.schedule.failed(
                "retention",
                time.monotonic(),
                "camera offers no Profile G search service",
                retry_s=self.config.checks.retention_s,
            )
            return None
        summary = await self.session.call("search", "GetRecordingSummary")
        data_from = codec.as_utc(summary.DataFrom, "DataFrom") if summary.DataFrom else None
        data_until = codec.as_utc(summary.DataUntil, "DataUntil") if summary.DataUntil else None
        job_states = await self._job_states() if self.session.supports("recording") else []
        camera_now = datetime.now(UTC) + timedelta(seconds=self._drift_s or 0.0)
        return rules.retention(data_from, data_until, camera_now, job_states, self.config)

    async def _job_states(self) -> list[str]:
        jobs = await self.session.call("recording", "GetRecordingJobs") or []
        states = []
        for job in jobs[:16]:  # bounded: a camera has one or two jobs
            state = await self.session.call("recording", "GetRecordingJobState", {"JobToken": job.JobToken})
            states.append(str(state.State)[:32])
        return states

    # --- result ---------------------------------------------------------------------------------

    def _compose(self, values: dict[str, Value], faults: list[Fault]) -> PollResult:
        missing = []
        for name, evidence in self.schedule.current(time.monotonic()).items():
            if evidence is None:
                missing.append(name)
                continue
            values.update(evidence.values)
            faults.extend(evidence.faults)
        if self._auth_errors and not any(f.code == "auth_failed" for f in faults):
            faults.append(self._auth_fault(next(iter(self._auth_errors.values()))))
        faults.extend(fault for code, fault in self._pinned.items() if all(f.code != code for f in faults))
        events, self._events = self._events, []
        diagnostics: dict[str, Any] = {"check_errors": self.schedule.errors(), "missing_evidence": missing}
        return PollResult(
            values=values,
            units=rules.UNITS,
            faults=faults,
            events=events,
            diagnostics=diagnostics,
            missing_evidence=tuple(missing),
        )

    # --- actions --------------------------------------------------------------------------------

    async def run_action(self, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        result = await actions.run(self, action, args)
        self.schedule.make_due("identity")
        return result


async def _new_slots() -> PollSlots:
    return PollSlots(MAX_CONCURRENT_POLLS)
