"""The device state machine.

    unknown ──success──► ok | degraded | fault      (by the worst active fault)
    any     ──success, no fault, evidence missing──► unknown   (no evidence is never "ok")
    any     ──N consecutive failures──► offline     (N = offline_after_failures: debounce)
    offline ──success──► ok | degraded | fault

One lost packet is a failed poll, not an outage. Only changes are returned, so callers log and
publish state changes, never repeats. Callers pass the time each poll *started*: an outage,
once confirmed, is back-dated to the start of its first failed poll (`StateChanged.at`), and it
ends at the start of the first good one, so the debounce never shortens what is booked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from edge_agent.errors import DeviceError
from edge_agent.readings import Cause, DeviceStateName, Fault, PollResult


@dataclass(frozen=True, slots=True)
class ActiveFault:
    fault: Fault
    since: datetime


@dataclass(frozen=True, slots=True)
class StateChanged:
    previous: DeviceStateName
    current: DeviceStateName
    cause: Cause | None
    reason: str
    at: datetime | None = None  # when it took effect: the first failed poll for `offline`


@dataclass(frozen=True, slots=True)
class FaultRaised:
    fault: Fault


@dataclass(frozen=True, slots=True)
class FaultCleared:
    fault: Fault
    active_s: float


HealthChange = StateChanged | FaultRaised | FaultCleared


@dataclass
class DeviceHealth:
    """The current health of one device, as the state machine sees it."""

    state: DeviceStateName
    since: datetime
    cause: Cause | None = None
    reason: str = ""
    faults: dict[str, ActiveFault] = field(default_factory=dict)
    consecutive_failures: int = 0
    first_failure_at: datetime | None = None  # start of the first poll of the current failure run
    last_error: str | None = None
    error_code: str | None = None  # the failure's catalogue code (DeviceError.code) while polls fail


class HealthTracker:
    def __init__(self, *, offline_after_failures: int, now: datetime) -> None:
        self.offline_after_failures = offline_after_failures
        self.health = DeviceHealth(state="unknown", since=now)

    def on_success(self, result: PollResult, now: datetime) -> list[HealthChange]:
        health = self.health
        health.consecutive_failures = 0
        health.first_failure_at = None
        health.last_error = health.error_code = None
        changes: list[HealthChange] = self._reconcile_faults(result.faults, now)
        worst = _worst(result.faults)
        state: DeviceStateName = "ok"
        if worst is not None:
            state = (
                "fault"
                if worst.severity == "critical"
                else "degraded"
                if worst.severity == "warning"
                else "ok"
            )
        reason = worst.message if worst is not None and state != "ok" else ""
        if state == "ok" and result.missing_evidence:
            state, reason = "unknown", "no evidence yet: " + ", ".join(result.missing_evidence)
        cause: Cause | None = "device" if state == "fault" else None
        changes.extend(self._move(state, cause, reason, now))
        return changes

    def on_failure(self, error: DeviceError, now: datetime) -> list[HealthChange]:
        health = self.health
        health.consecutive_failures += 1
        health.last_error, health.error_code = str(error), error.code
        if health.consecutive_failures == 1 or health.first_failure_at is None:
            health.first_failure_at = now
        if health.consecutive_failures < self.offline_after_failures:
            return []
        return self._move("offline", error.cause, str(error), health.first_failure_at)

    def raise_fault(self, fault: Fault, now: datetime) -> list[HealthChange]:
        """A fault found outside a poll (a failed firmware upgrade), raised now whatever the state.
        The poller must report it too from then on, or the next successful poll clears it."""
        if fault.code in self.health.faults:
            return []
        self.health.faults[fault.code] = ActiveFault(fault, now)
        return [FaultRaised(fault)]

    def _move(
        self, state: DeviceStateName, cause: Cause | None, reason: str, now: datetime
    ) -> list[HealthChange]:
        health = self.health
        if state == health.state:
            health.reason = reason  # same state, fresher explanation: not a change worth an event
            return []
        change = StateChanged(previous=health.state, current=state, cause=cause, reason=reason, at=now)
        # `health.cause` is not written here: the runner writes it, once the cause is attributed.
        health.state, health.since, health.reason = state, now, reason
        return [change]

    def _reconcile_faults(self, found: list[Fault], now: datetime) -> list[HealthChange]:
        active = self.health.faults
        current = {fault.code: fault for fault in found}
        changes: list[HealthChange] = []
        for code in [code for code in active if code not in current]:
            gone = active.pop(code)
            changes.append(FaultCleared(gone.fault, (now - gone.since).total_seconds()))
        for code, fault in current.items():
            if code not in active:
                changes.append(FaultRaised(fault))
                active[code] = ActiveFault(fault, now)
            elif active[code].fault != fault:
                active[code] = ActiveFault(fault, active[code].since)  # same fault, new reading in its text
        return changes


_RANK = {"info": 0, "warning": 1, "critical": 2}


def _worst(faults: list[Fault]) -> Fault | None:
    return max(faults, key=lambda fault: _RANK[fault.severity], default=None)
