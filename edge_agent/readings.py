"""The shared vocabulary: device states, outage causes, faults, poll results and events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

DeviceStateName = Literal["unknown", "ok", "degraded", "fault", "offline"]

# Why a device (or the cabinet) is out. Contracts exclude power_supply and network_carrier from the
# maintainer's online-rate penalty, so every offline interval carries one of these.
Cause = Literal["power_supply", "network_carrier", "cabinet", "device", "maintenance", "unknown"]
CAUSES: tuple[Cause, ...] = ("power_supply", "network_carrier", "cabinet", "device", "maintenance", "unknown")

# warning -> the device is degraded; critical -> the device is in fault.
Severity = Literal["info", "warning", "critical"]

# A telemetry value as published: numbers, flags and short strings only.
Value = float | int | bool | str | None


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_ts(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds, the one timestamp format of the MQTT contract."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Fault:
    """A condition found by one poll. ``code`` is stable (machine-readable); ``message`` is for people."""

    code: str
    severity: Severity
    message: str
    # Whose failure this is: `device` (the default) counts towards the repeat-fault rule; a UPS's
    # `mains_lost` is the power supplier's (`power_supply`) and is published with that cause.
    cause: Cause = "device"


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something a device reported that is not a state: a radar restart, a firmware change."""

    type: str
    severity: Severity
    detail: dict[str, Any] = field(default_factory=dict)
    cause: Cause | None = None


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one successful poll of a device found.

    ``values`` are telemetry (name -> value), ``units`` their units where they have one,
    ``faults`` the conditions active right now (an empty list clears all earlier faults),
    ``events`` one-off happenings, ``diagnostics`` raw detail for the expert (hex frames, last
    exception), never published as telemetry. ``missing_evidence`` names the checks that have
    no evidence yet (or only stale evidence): without faults, the device is then ``unknown``,
    never ``ok``.
    """

    values: dict[str, Value] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    events: list[DeviceEvent] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    missing_evidence: tuple[str, ...] = ()
