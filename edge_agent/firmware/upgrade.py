"""Camera firmware upgrades inside the agent: one camera's sequence, and batches of cameras.

Sequence: pre -> apply -> post, and rollback when post fails after the camera was changed.
Progress goes out as events (`firmware_upgrade_started|progress|succeeded|failed`), each camera's
result as one audit record (module `firmware/camera_upgrade`). A failure after the image was sent
raises a fault on the device that stays until a later upgrade of it succeeds:
`manual_recovery_needed` (critical) when it cannot be rolled back, else `firmware_upgrade_failed`.
The agent does not poll a camera during its upgrade (`firmware/polled.py`): while it reboots, only
the upgrade's own checks reach it.

Batches run one after another, the cameras of a batch at once; the first batch with a failure
stops the run and leaves the later batches untouched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from edge_agent.audit import AuditLog
from edge_agent.firmware.camera import CameraFirmware, Observed, Request
from edge_agent.firmware.polled import Camera
from edge_agent.firmware.result import PhaseResult
from edge_agent.readings import Fault
from edge_agent.runtime.emitter import Emitter
from edge_agent.runtime.live_state import LiveState

log = logging.getLogger(__name__)

Status = Literal["succeeded", "already_current", "refused", "failed", "manual_recovery_needed"]
FIRMWARE_FAULTS = ("firmware_upgrade_failed", "manual_recovery_needed")


@dataclass
class Outcome:
    """One camera's upgrade, as the command reply and the audit record give it."""

    device_id: str
    status: Status = "refused"
    reason: str = ""
    phases: list[dict[str, Any]] = field(default_factory=list)
    from_version: str | None = None
    to_version: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "already_current")

    def brief(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "from_version": self.from_version,
            "to_version": self.to_version,
        }


@dataclass(frozen=True)
class Services:
    """What the upgrade needs from the agent."""

    emitter: Emitter
    live: LiveState
    cameras: Mapping[str, Camera]  # the cameras of this command, each polled by the agent
    audit: AuditLog | None
    operator: str | None
    upgrading: set[str]  # cameras being upgraded now, shared by all commands: one upgrade at a time
    busy: Callable[[], str | None] = lambda: None  # the declared busy period in force, if any


class Upgrader:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def upgrade(self, device_id: str, request: Request) -> Outcome:
        """Upgrade one camera; never raises for a camera's failure (the outcome tells)."""
        outcome = Outcome(device_id)
        upgrading = self.services.upgrading
        if device_id in upgrading:
            outcome.reason = "an upgrade of this camera is already running"
            return outcome
        upgrading.add(device_id)
        camera = self.services.cameras[device_id]
        try:
            # Not polled while it reboots: its own poll must not report it offline meanwhile.
            await camera.pause()
            try:
                await self._attempt(outcome, request)
            finally:
                camera.resume()
            await self._finish(outcome, request)
        finally:
            upgrading.discard(device_id)
        return outcome

    async def _attempt(self, outcome: Outcome, request: Request) -> None:
        device_id = outcome.device_id
        try:
            await self._event("firmware_upgrade_started", device_id, to_version=request.expected_version)
            await self._sequence(outcome, request)
        except Exception as exc:  # a bug must not leave the batch without an answer
            log.exception("camera %s: firmware upgrade failed unexpectedly", device_id)
            outcome.status, outcome.reason = "failed", f"internal error: {type(exc).__name__}"

    async def _sequence(self, outcome: Outcome, request: Request) -> None:
        device_id = outcome.device_id
        config = self.services.cameras[device_id].config

        async def progress(message: str, facts: dict[str, Any]) -> None:
            await self._event("firmware_upgrade_progress", device_id, message=message, **facts)

        camera = CameraFirmware(config, progress)
        try:
            pre = await self._phase(outcome, camera.pre(request, self._observed(device_id)))
            outcome.from_version = pre.facts.get("from_version")
            if not pre.ok or pre.facts.get("already_current"):
                outcome.status = "already_current" if pre.ok else "refused"
                outcome.to_version = outcome.from_version if pre.ok else None
                return
            apply = await self._phase(outcome, camera.apply(request))
            if not apply.ok and not apply.changed:
                outcome.status = "failed"  # the camera refused the image: nothing was changed
                return
            recording = pre.facts.get("recording")
            post = await self._phase(outcome, camera.post(request, recording))
            outcome.to_version = post.facts.get("to_version")
            if post.ok:
                outcome.status = "succeeded"
                return
            await self._phase(outcome, camera.rollback(self._manufacturer(device_id)))
        finally:
            await camera.close()

    async def _phase(self, outcome: Outcome, running: Any) -> PhaseResult:
        result: PhaseResult = await running
        outcome.phases.append(result.record())
        if not result.ok:
            outcome.reason = f"{result.hook}: {result.summary}"
            if result.fault is not None:
                outcome.status = "manual_recovery_needed"
        return result

    def _observed(self, device_id: str) -> Observed:
        live = self.services.live.devices
        snapshot = live.get(device_id)
        mains = [s.values.get("mains_present") for s in live.values() if "mains_present" in s.values]
        recording = snapshot.values.get("recording_active") if snapshot is not None else None
        return Observed(
            health_state=snapshot.health.state if snapshot is not None else None,
            recording=recording if isinstance(recording, bool) else None,
            mains_present=None if not mains else all(value is not False for value in mains),
            busy=self.services.busy(),
        )

    def _manufacturer(self, device_id: str) -> str | None:
        snapshot = self.services.live.devices.get(device_id)
        value = snapshot.values.get("manufacturer") if snapshot is not None else None
        return value if isinstance(value, str) else None

    # --- results: events, faults, audit -----------------------------------------------------------

    async def _finish(self, outcome: Outcome, request: Request) -> None:
        device_id = outcome.device_id
        camera = self.services.cameras[device_id]
        if outcome.ok:  # a successful upgrade ends the faults of an earlier failed one
            camera.clear_faults(FIRMWARE_FAULTS)
        await camera.recheck()  # the camera as it is now (a new version, or down) before any fault
        if outcome.ok:
            await self._event("firmware_upgrade_succeeded", device_id, **outcome.brief())
        else:
            await self._event("firmware_upgrade_failed", device_id, severity="warning", **outcome.brief())
            if outcome.status == "manual_recovery_needed":
                await self._raise_fault(
                    device_id, Fault("manual_recovery_needed", "critical", outcome.reason[:200])
                )
            elif outcome.status == "failed":
                await self._raise_fault(
                    device_id, Fault("firmware_upgrade_failed", "warning", outcome.reason[:200])
                )
        await self._audit(outcome, request)

    async def _event(self, type_: str, device_id: str, *, severity: Any = "info", **detail: Any) -> None:
        await self.services.emitter.event(type_, severity=severity, device_id=device_id, detail=detail)

    async def _raise_fault(self, device_id: str, fault: Fault) -> None:
        """Pinned (every later poll reports it) and raised on the device now, even while it is
        offline, so the operator sees it without waiting for the camera."""
        await self.services.cameras[device_id].pin_fault(fault)

    async def _audit(self, outcome: Outcome, request: Request) -> None:
        if self.services.audit is None:
            return
        params = {
            "image": request.image.name,
            "sha256": request.sha256,
            "expected_version": request.expected_version,
            **outcome.brief(),
            "phases": [{"hook": p["hook"], "ok": p["ok"], "summary": p["summary"]} for p in outcome.phases],
        }
        result = "ok" if outcome.ok else f"error: {outcome.status}"
        try:
            await self.services.audit.record(
                self.services.operator, "agent", "firmware/camera_upgrade", outcome.device_id, params, result
            )
        except OSError:
            log.exception("camera %s: could not write the audit record", outcome.device_id)

    # --- batches ------------------------------------------------------------------------------------

    async def batch(self, device_ids: Sequence[str], batch_size: int, request: Request) -> dict[str, Any]:
        """Batches of `batch_size`, one after another; stops after the first batch with a failure."""
        batches = [list(device_ids[i : i + batch_size]) for i in range(0, len(device_ids), batch_size)]
        results: dict[str, dict[str, Any]] = {}
        stopped_at: int | None = None
        for number, members in enumerate(batches, 1):
            outcomes = await asyncio.gather(*(self.upgrade(device_id, request) for device_id in members))
            results.update({outcome.device_id: outcome.brief() for outcome in outcomes})
            if not all(outcome.ok for outcome in outcomes):
                stopped_at = number
                break
        untouched = [device_id for device_id in device_ids if device_id not in results]
        return {
            "batches": batches,
            "results": results,
            "stopped_at_batch": stopped_at,
            "untouched": untouched,
        }
